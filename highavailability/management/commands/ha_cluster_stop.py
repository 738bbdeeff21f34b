"""ha_cluster_stop: stop pacemaker and corosync on this node (its resources move away)."""

import socket
import time

from django.core.management.base import CommandError

from highavailability import cluster
from highavailability.choices import HAJobKind
from highavailability.services import JobReporter

from ._base import HACommand

# how long the active node waits for a standby that is about to become promotable
PROMOTABLE_WAIT_S = 30


class Command(HACommand):
    help = (
        "Stop the cluster on this node; the other node takes over the VIP and the database. "
        "On the active node it first makes sure the standby can take over (--force skips that)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="stop the active node even though the standby could not take over now",
        )

    def handle(self, *args, force=False, **options):
        self.require_ha()
        if not cluster.cluster_running():
            raise CommandError("Error: cluster is not currently running on this node")
        if not force:
            self.wait_for_a_way_out()
        with JobReporter(HAJobKind.CLUSTER_STOP, self.say) as say:
            cluster.stop_daemons(say)

    def wait_for_a_way_out(self) -> None:
        """On the active node with a standby online: wait (bounded) until the standby is
        promotable, else refuse: stopping now would leave the cluster with no active server."""
        deadline = time.monotonic() + PROMOTABLE_WAIT_S
        said = False
        while True:
            try:
                state = cluster.cluster_state()
            except cluster.ClusterError:
                return
            online = [n for n in state.standbys if n.online]
            if state.promoted != socket.gethostname() or not online or state.standby_promotable:
                return
            why = state.promotability()
            if time.monotonic() > deadline:
                raise CommandError(
                    f"Error: the standby could not take over now: Standby promotable: {why}. "
                    "Stopping this node would leave the cluster with no active server. Wait until "
                    "ha_status shows 'Standby promotable: yes', or run ha_cluster_stop --force."
                )
            if not said:
                self.say(f"Waiting until the standby can take over (Standby promotable: {why})...")
                said = True
            time.sleep(0.5)
