"""ha_promote: give a cluster without an active server its standby back as the primary."""

import socket
import time

from django.core.management.base import CommandError

from core.choices import EventCategory, EventResult
from core.services import record_event
from highavailability import cluster, services, syncguard
from highavailability.choices import HAJobKind
from highavailability.services import JobReporter

from ._base import HACommand

PROMOTE_TIMEOUT_S = 90


class Command(HACommand):
    help = (
        "Promote this standby when the cluster has no active server and did not promote it "
        "by itself because it may lack the last acknowledged writes (it was not the "
        "synchronous standby when the primary was lost). --force accepts that loss."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="promote although writes acknowledged by the lost primary may be lost",
        )

    def handle(self, *args, force=False, **options):
        self.require_ha()
        if not cluster.cluster_running():
            raise CommandError(
                "Error: cluster is not currently running on this node: run ha_cluster_start"
            )
        me = socket.gethostname()
        state = cluster.cluster_state()
        if state.promoted:
            raise CommandError(f"Error: {state.promoted} is the active server: nothing to do.")
        if not state.quorate:
            raise CommandError(
                "Error: this node has no quorum (it sees neither the other node nor the quorum "
                "device): promoting it could leave two primaries. Restore the network first."
            )
        node = state.node(me)
        if node is None or node.role not in cluster.UNPROMOTED:
            raise CommandError(
                f"Error: the database on {me} is not running as a standby: promote a node "
                "whose standby runs (ha_status shows it), or repair this one first."
            )
        self.say(f"No active server: {state.no_active_server()}")
        wal = cluster.received_wal()
        self.say(f"{me} has the WAL up to {wal}.")
        risk = "nothing acknowledged is lost (it was the synchronous standby)"
        if not node.complete:
            since = node.attributes.get(syncguard.ASYNC_SINCE_ATTR, "").split()
            risk = (
                f"writes the lost primary acknowledged after it stopped waiting for {me} at "
                f"{since[0]} (its WAL was at {since[-1]} then; {me} has it up to {wal}) exist "
                "only on its disk and are lost"
                if since
                else "writes the lost primary acknowledged without waiting for this node are lost"
            )
            if not force:
                raise CommandError(
                    f"Error: {me} may lack acknowledged writes: {risk}. Prefer starting the "
                    "cluster on the lost primary (ha_cluster_start there) if its disk is "
                    "intact; otherwise run ha_promote --force to accept the loss."
                )
        self.say(f"If {me} is promoted now, {risk}.")
        answer = input("Enter 'yes' to continue: ")
        if answer.strip() != "yes":
            raise CommandError("Promotion cancelled: nothing changed.")
        with JobReporter(HAJobKind.PROMOTE, self.say, node=me) as say:
            say(f"Promoting {me} (promotion score set, marked complete by the operator)...")
            cluster.promote_by_force(me)
            deadline = time.monotonic() + PROMOTE_TIMEOUT_S
            while cluster.cluster_state().promoted != me:
                if time.monotonic() > deadline:
                    raise cluster.ClusterError(
                        f"Error: {me} was not promoted within {PROMOTE_TIMEOUT_S} s: see "
                        "ha_status and /var/log/pacemaker/pacemaker.log"
                    )
                time.sleep(0.5)
            say(f"Database promoted on {me}: this node is the active server", progress=100)
        self.record(me, wal, risk, lossless=node.complete)

    def record(self, me: str, wal: str, risk: str, *, lossless: bool) -> None:
        """The HA event, as soon as the new primary answers (bounded)."""
        recorded = services.record_when_the_database_answers(
            lambda: record_event(
                EventCategory.HIGH_AVAILABILITY,
                "forced_promotion",
                f"{me} promoted by the operator (ha_promote --force) with WAL up to {wal}: {risk}.",
                result=EventResult.INFO if lossless else EventResult.FAILURE,
                node=me,
                wal=wal,
            ),
            60,
        )
        if recorded:
            self.say("Recorded in the HA event log.")
        else:
            self.stderr.write("The HA event could not be recorded: the database did not answer.")
