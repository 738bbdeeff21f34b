"""ha_switchover: move the active role to the standby (or back to the primary node)."""

from highavailability.choices import HAJobKind

from ._base import HACommand


class Command(HACommand):
    help = (
        "Move the active role gracefully to the standby (pacemaker demotes the primary and "
        "promotes the standby once it has the last write; the VIP follows). --fallback moves it "
        "back to the primary node. Refused unless the cluster is Normal with a promotable "
        "standby. Returns once the old active node is a promotable standby."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--fallback", action="store_true", help="move the active role to the primary node"
        )

    def handle(self, *args, fallback=False, **options):
        self.require_ha()
        kind = HAJobKind.FALLBACK if fallback else HAJobKind.SWITCHOVER
        self.run_operation(kind)
