"""ha_cluster_start: start the cluster on this node, repairing a diverged database first."""

import socket

from django.conf import settings

from highavailability import cluster, syncguard
from highavailability.choices import HAJobKind
from highavailability.services import JobReporter

from ._base import HACommand


class Command(HACommand):
    help = (
        "Start the cluster on this node. A database that stopped uncleanly (crash, power loss) "
        "or diverged from the current primary is repaired with pg_rewind (or re-cloned) first. "
        "Returns once this node is the primary or a standby the cluster can promote at once."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--repair-only",
            action="store_true",
            help="only make the database fit to rejoin (ssm-cluster-repair.service runs this "
            "at boot, before pacemaker); a failure keeps pacemaker stopped and ha_status says why",
        )

    def handle(self, *args, repair_only=False, **options):
        self.require_ha()
        if repair_only:
            self.repair_at_boot()
            return
        if cluster.cluster_running():
            self.say("Cluster is already running on this node")
            return
        with JobReporter(HAJobKind.CLUSTER_START, self.say) as say:
            cluster.repair_database(say)
            cluster.start_daemons(say)
            say("Waiting until this node is protected (active, or a promotable standby)...")
            cluster.wait_protected(socket.gethostname(), say, settings.HA_DEPLOY_TIMEOUT)

    def repair_at_boot(self) -> None:
        cluster.BOOT_REFUSAL.unlink(missing_ok=True)
        try:
            if not cluster.db_running():
                syncguard.reset()  # a node (re)joins asynchronous (docs/ha.md)
            cluster.repair_database(self.say)
        except cluster.ClusterError as exc:
            cluster.BOOT_REFUSAL.write_text(f"{exc}\n")
            raise
        self.say("Database fit to rejoin: pacemaker may start")
