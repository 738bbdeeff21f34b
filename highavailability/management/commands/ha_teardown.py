"""ha_teardown: destroy the cluster configuration on this node, leave a stand-alone server."""

from django.core.management.base import CommandError

from highavailability import cluster, formation
from highavailability.choices import HAJobKind
from highavailability.services import JobReporter

from ._base import HACommand

WARNING = (
    "This will destroy the cluster configuration on this node and leave it a stand-alone "
    "server. The secondary node must not be reused afterwards."
)


class Command(HACommand):
    help = "Remove this node from the cluster and run it as a stand-alone server."

    def add_arguments(self, parser):
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, yes=False, **options):
        self.require_ha()
        self.say(WARNING)
        if not yes:
            answer = input("Enter 'yes' to continue: ")
            if answer.strip() != "yes":
                raise CommandError("Teardown cancelled.")
        with JobReporter(HAJobKind.TEARDOWN, self.say) as say:
            if cluster.cluster_running():
                cluster.stop_daemons(say)
            cluster.disable_at_boot(say)
            cluster.remove_configuration(say)
            cluster.start_database_standalone(say)
            formation.point_database_at("127.0.0.1")
            formation.application("start", say)
            formation.enable_standalone(say)
        self.say("HA teardown complete: this node is now a stand-alone server.")
        self.say(
            "Next: set the Host Common Name to this server's own address, synchronize the "
            "local accounts, and re-register the products with the new URL."
        )
