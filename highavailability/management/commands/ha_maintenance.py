"""ha_maintenance: take the standby out of the cluster for patching, then back."""

from highavailability.choices import HAJobKind

from ._base import HACommand


class Command(HACommand):
    help = (
        "Put the standby NODE in maintenance (pacemaker stops its database and application; "
        "the active node serves alone, Degraded), or with --end bring it back as a "
        "promotable standby."
    )

    def add_arguments(self, parser):
        parser.add_argument("node", help="the standby node's name (as ha_status shows it)")
        parser.add_argument("--end", action="store_true", help="end the node's maintenance")

    def handle(self, *args, node="", end=False, **options):
        self.require_ha()
        self.run_operation(HAJobKind.MAINTENANCE_END if end else HAJobKind.MAINTENANCE, node=node)
