"""ha_cluster_stop: stop pacemaker and corosync on this node (its resources move away)."""

from django.core.management.base import CommandError

from highavailability import cluster
from highavailability.choices import HAJobKind
from highavailability.services import JobReporter

from ._base import HACommand


class Command(HACommand):
    help = "Stop the cluster on this node; the other node takes over the VIP and the database."

    def handle(self, *args, **options):
        self.require_ha()
        if not cluster.cluster_running():
            raise CommandError("Error: cluster is not currently running on this node")
        with JobReporter(HAJobKind.CLUSTER_STOP, self.say) as say:
            cluster.stop_daemons(say)
