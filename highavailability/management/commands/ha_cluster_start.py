"""ha_cluster_start: start the cluster on this node, repairing a diverged database first."""

import socket

from django.conf import settings

from highavailability import cluster
from highavailability.choices import HAJobKind
from highavailability.services import JobReporter

from ._base import HACommand


class Command(HACommand):
    help = (
        "Start the cluster on this node. A database that stopped uncleanly (crash, power loss) "
        "or diverged from the current primary is repaired with pg_rewind (or re-cloned) first. "
        "Returns once this node is the primary or a standby the cluster can promote at once."
    )

    def handle(self, *args, **options):
        self.require_ha()
        if cluster.cluster_running():
            self.say("Cluster is already running on this node")
            return
        with JobReporter(HAJobKind.CLUSTER_START, self.say) as say:
            cluster.repair_database(say)
            cluster.start_daemons(say)
            say("Waiting until this node is protected (active, or a promotable standby)...")
            cluster.wait_protected(socket.gethostname(), say, settings.HA_DEPLOY_TIMEOUT)
