"""The cluster state collector: observations in, snapshot and one event per transition out."""

import datetime as dt
import socket
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import psutil
from django.db import connection
from django.test import SimpleTestCase, TestCase, TransactionTestCase, override_settings
from django.utils import timezone

from core.choices import EventCategory
from core.models import Event
from highavailability import cluster, services
from highavailability.choices import (
    ClusterHealth,
    HAJobKind,
    HAJobStatus,
    HeartbeatState,
    NodeRole,
    QuorumDevice,
    ReplicationMode,
)
from highavailability.models import ClusterStatus, HAJob, Node

from .support import (
    CONFIGURED,
    NORMAL_XML,
    PRIMARY,
    SECONDARY,
    SYSTEM,
    VIP,
    crm_mon_xml,
    database,
    enable_ha,
    observation,
    quorumtool,
)

COROSYNC_CONF = """nodelist {
    node {
        ring0_addr: 169.254.101.11
        name: primary-node
        nodeid: 1
    }
}
"""


@contextmanager
def corosync_conf(text):
    """Point the node's corosync configuration at a file with this text (None: no file)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "corosync.conf"
        if text is not None:
            path.write_text(text)
            path.with_name("authkey").write_bytes(b"key")
        with override_settings(HA_COROSYNC_CONF=path):
            yield path


def ha_actions():
    return list(
        Event.objects.filter(category=EventCategory.HIGH_AVAILABILITY)
        .order_by("id")
        .values_list("action", flat=True)
    )


class ObservationTests(TestCase):
    def test_real_crm_mon_output_of_a_normal_cluster(self):
        obs = observation()
        self.assertEqual([n.name for n in obs.nodes], [PRIMARY, SECONDARY])
        self.assertEqual([n.role for n in obs.nodes], [NodeRole.ACTIVE, NodeRole.STANDBY])
        self.assertEqual(obs.nodes[0].cluster_address, "169.254.101.11")
        self.assertEqual(obs.nodes[1].public_address, "169.254.100.12")
        self.assertEqual(obs.vip_node, PRIMARY)
        self.assertTrue(obs.quorate)
        self.assertEqual(obs.heartbeat, HeartbeatState.CONNECTED)
        self.assertEqual(obs.health, ClusterHealth.NORMAL)
        self.assertEqual(obs.replication_mode, ReplicationMode.SYNC)
        self.assertAlmostEqual(obs.replication_lag, 0.016238)

    def test_standby_public_address_from_pg_stat_replication(self):
        obs = observation(public=False)
        self.assertEqual(obs.nodes[1].public_address, "169.254.100.12")
        self.assertEqual(obs.nodes[0].public_address, "")

    def test_offline_node_is_degraded_and_disconnected(self):
        obs = observation(crm_mon_xml(online=(SECONDARY,), promoted=SECONDARY, unpromoted=None))
        self.assertEqual([n.role for n in obs.nodes], [NodeRole.OFFLINE, NodeRole.ACTIVE])
        self.assertEqual(obs.heartbeat, HeartbeatState.DISCONNECTED)
        self.assertEqual(obs.health, ClusterHealth.DEGRADED)

    def test_online_node_without_database_is_degraded(self):
        obs = observation(crm_mon_xml(unpromoted=None))
        self.assertEqual(obs.nodes[1].role, NodeRole.DEGRADED)
        self.assertEqual(obs.heartbeat, HeartbeatState.CONNECTED)
        self.assertEqual(obs.health, ClusterHealth.DEGRADED)

    def test_votes_and_the_quorum_device(self):
        obs = observation()
        self.assertEqual((obs.total_votes, obs.expected_votes, obs.votes_needed), (3, 3, 2))
        self.assertEqual(obs.quorum_device, QuorumDevice.VOTING)
        obs = observation(quorum=quorumtool(qdevice_voting=False))
        self.assertEqual((obs.total_votes, obs.expected_votes, obs.votes_needed), (2, 3, 2))
        self.assertEqual(obs.quorum_device, QuorumDevice.NOT_VOTING)
        obs = observation(quorum=quorumtool(qdevice=False))
        self.assertEqual((obs.total_votes, obs.expected_votes, obs.votes_needed), (2, 2, 1))
        self.assertEqual(obs.quorum_device, QuorumDevice.NONE)

    def test_votes_unknown_when_quorumtool_did_not_answer(self):
        obs = services.build_observation(cluster.parse_crm_mon(NORMAL_XML), CONFIGURED)
        self.assertTrue(obs.quorate)
        self.assertEqual((obs.total_votes, obs.expected_votes, obs.votes_needed), (None,) * 3)
        self.assertEqual(obs.quorum_device, QuorumDevice.UNKNOWN)

    def test_interval_text(self):
        self.assertAlmostEqual(services.interval_seconds("00:00:01.5"), 1.5)
        self.assertEqual(services.interval_seconds("1 day 01:00:00"), 90000)
        self.assertIsNone(services.interval_seconds("soon"))

    def test_replica_collector_does_not_guess_the_replication_mode(self):
        replica = cluster.DatabaseState(in_recovery=True, synchronous_standby_names="")
        obs = observation(db=replica)
        self.assertEqual(obs.replication_mode, ReplicationMode.UNKNOWN)
        self.assertIsNone(obs.replication_lag)


class CollectorTests(TestCase):
    def test_first_collection_enables_ha_and_stores_the_snapshot(self):
        status = enable_ha()
        self.assertTrue(status.ha_enabled)
        self.assertEqual(status.health, ClusterHealth.NORMAL)
        self.assertEqual(status.heartbeat, HeartbeatState.CONNECTED)
        self.assertEqual(status.vip, VIP)
        self.assertEqual(status.active_node, PRIMARY)
        self.assertEqual(status.replication_mode, ReplicationMode.SYNC)
        primary, secondary = Node.objects.all()
        self.assertEqual((primary.name, primary.role), (PRIMARY, NodeRole.ACTIVE))
        self.assertEqual(primary.physical_memory, SYSTEM.physical_memory)
        self.assertEqual(primary.version, "8.1")
        self.assertIsNotNone(primary.last_seen)
        # the standby's own system information is unknown until it collects itself
        self.assertEqual((secondary.role, secondary.physical_memory), (NodeRole.STANDBY, None))
        self.assertEqual(secondary.version, "")
        self.assertEqual(ha_actions(), ["ha_enabled"])

    def test_repeated_collection_writes_no_event(self):
        enable_ha()
        for _ in range(3):
            self.assertEqual(services.apply_observation(observation()), [])
        self.assertEqual(ha_actions(), ["ha_enabled"])

    def test_failover_produces_exactly_one_failover_event(self):
        enable_ha()
        stopping = crm_mon_xml(online=(PRIMARY, SECONDARY), promoted=None, unpromoted=SECONDARY)
        failed_over = crm_mon_xml(online=(SECONDARY,), promoted=SECONDARY, unpromoted=None)
        services.apply_observation(observation(stopping, db=None, local=SECONDARY))
        for _ in range(3):
            services.apply_observation(
                observation(failed_over, db=database(sync=False, standbys=()), local=SECONDARY)
            )
        actions = ha_actions()
        self.assertEqual(actions.count("failover"), 1)
        event = Event.objects.get(action="failover")
        self.assertEqual(
            event.message, "Failover: secondary-node is now the active node (was primary-node)"
        )
        self.assertEqual(event.data, {"previous_active": PRIMARY, "active": SECONDARY})
        self.assertEqual(actions.count("node_offline"), 1)
        self.assertEqual(actions.count("heartbeat_lost"), 1)
        self.assertEqual(actions.count("replication_async"), 1)
        status = ClusterStatus.objects.get()
        self.assertEqual(status.active_node, SECONDARY)
        self.assertEqual(status.health, ClusterHealth.DEGRADED)
        self.assertEqual(status.heartbeat, HeartbeatState.DISCONNECTED)
        self.assertEqual(status.replication_mode, ReplicationMode.ASYNC)
        self.assertEqual(Node.objects.get(name=PRIMARY).role, NodeRole.OFFLINE)
        self.assertEqual(Node.objects.get(name=SECONDARY).role, NodeRole.ACTIVE)
        # the secondary now reports its own system information
        self.assertEqual(Node.objects.get(name=SECONDARY).physical_memory, SYSTEM.physical_memory)

    def test_rejoin_restores_heartbeat_and_synchronous_replication(self):
        enable_ha()
        services.apply_observation(
            observation(
                crm_mon_xml(online=(SECONDARY,), promoted=SECONDARY, unpromoted=None),
                db=database(sync=False, standbys=()),
                local=SECONDARY,
            )
        )
        first = len(ha_actions())
        rejoined = crm_mon_xml(promoted=SECONDARY, unpromoted=PRIMARY)
        db = database(standbys=((PRIMARY, "169.254.100.11"),))
        services.apply_observation(observation(rejoined, db=db, local=SECONDARY))
        services.apply_observation(observation(rejoined, db=db, local=SECONDARY))
        self.assertEqual(
            ha_actions()[first:],
            [
                "node_online",
                "rejoin",
                "heartbeat_restored",
                "replication_sync",
                "standby_promotable",
            ],
        )
        status = ClusterStatus.objects.get()
        self.assertEqual(status.health, ClusterHealth.NORMAL)
        self.assertEqual(status.active_node, SECONDARY)
        self.assertEqual(Node.objects.get(name=PRIMARY).role, NodeRole.STANDBY)

    def test_quorum_device_losing_and_regaining_its_vote_writes_one_event_each(self):
        status = enable_ha()
        self.assertEqual(
            (status.total_votes, status.expected_votes, status.votes_needed), (3, 3, 2)
        )
        self.assertEqual(status.quorum_device, QuorumDevice.VOTING)
        lost = observation(quorum=quorumtool(qdevice_voting=False))
        for _ in range(2):
            services.apply_observation(lost)
        status.refresh_from_db()
        self.assertEqual((status.total_votes, status.quorum_device), (2, QuorumDevice.NOT_VOTING))
        self.assertTrue(status.quorate)
        self.assertEqual(status.health, ClusterHealth.NORMAL)
        event = Event.objects.get(action="quorum_device_lost")
        self.assertEqual(
            event.message, "Quorum device lost its vote: votes 2 of 3 expected, 2 needed"
        )
        self.assertEqual(event.result, "failure")
        services.apply_observation(observation())
        self.assertEqual(
            ha_actions(), ["ha_enabled", "quorum_device_lost", "quorum_device_restored"]
        )
        self.assertEqual(
            Event.objects.get(action="quorum_device_restored").message,
            "Quorum device is voting again: votes 3 of 3 expected, 2 needed",
        )

    def test_votes_not_read_show_unknown_and_write_no_event(self):
        enable_ha()
        unknown = services.build_observation(
            cluster.parse_crm_mon(NORMAL_XML), CONFIGURED, database(), vip=VIP
        )
        services.apply_observation(unknown)
        status = ClusterStatus.objects.get()
        self.assertIsNone(status.total_votes)
        self.assertEqual(status.quorum_device, QuorumDevice.UNKNOWN)
        # unknown -> not voting, and a cluster without a quorum device: no quorum device event
        services.apply_observation(observation(quorum=quorumtool(qdevice_voting=False)))
        services.apply_observation(observation(quorum=quorumtool(qdevice=False)))
        self.assertEqual(ClusterStatus.objects.get().quorum_device, QuorumDevice.NONE)
        self.assertEqual(ha_actions(), ["ha_enabled"])

    def test_teardown_disables_ha_once(self):
        enable_ha()
        services.apply_observation(services.Observation(ha_enabled=False))
        services.apply_observation(services.Observation(ha_enabled=False))
        self.assertEqual(ha_actions(), ["ha_enabled", "teardown"])
        self.assertFalse(services.ha_enabled())

    def test_standalone_server_never_had_ha(self):
        services.apply_observation(services.Observation(ha_enabled=False))
        self.assertEqual(ha_actions(), [])
        self.assertFalse(services.ha_enabled())

    def test_unreadable_cluster_writes_nothing(self):
        # corosync is configured here but its cluster does not run: nothing can be seen
        if cluster.cluster_running():
            self.skipTest("a cluster runs on this machine")
        with corosync_conf(COROSYNC_CONF):
            self.assertEqual(services.collect_cluster_state(), [])
        self.assertFalse(ClusterStatus.objects.exists())

    def test_collector_on_a_torn_down_node(self):
        enable_ha()
        with corosync_conf(None):
            events = services.collect_cluster_state()
        self.assertEqual([e.action for e in events], ["teardown"])
        self.assertFalse(services.ha_enabled())

    def test_a_node_records_its_own_system_information(self):
        enable_ha()
        here = socket.gethostname()
        with corosync_conf(COROSYNC_CONF.replace("primary-node", here)):
            node = services.record_local_system_info()
        self.assertEqual(node.name, here)
        self.assertEqual(node.physical_memory, psutil.virtual_memory().total)
        self.assertEqual(node.disk_space, psutil.disk_usage("/").total)
        self.assertTrue(node.version)
        # a host that is not a configured node records nothing
        with corosync_conf(COROSYNC_CONF):
            self.assertIsNone(services.record_local_system_info())
        with corosync_conf(None):
            self.assertIsNone(services.record_local_system_info())

    def test_server_cards(self):
        status = enable_ha()
        active, standby = services.server_cards(status)
        self.assertEqual((active.name, standby.name), (PRIMARY, SECONDARY))


class HAJobTests(TestCase):
    def test_job_lifecycle_with_events(self):
        job = services.start_job(HAJobKind.TEARDOWN, node=PRIMARY)
        self.assertEqual((job.status, job.progress), (HAJobStatus.RUNNING, 0))
        job = services.finish_job(job)
        self.assertEqual((job.status, job.progress), (HAJobStatus.SUCCEEDED, 100))
        self.assertEqual(ha_actions(), ["job_teardown", "job_teardown"])
        self.assertEqual(
            Event.objects.filter(action="job_teardown").first().message,
            "Teardown on primary-node succeeded",
        )
        # finishing twice writes nothing more
        services.finish_job(job, succeeded=False, error="late")
        self.assertEqual(HAJob.objects.get().status, HAJobStatus.SUCCEEDED)

    def test_reporter_prints_and_records_a_failure(self):
        printed = []
        with (
            self.assertRaises(cluster.ClusterError),
            services.JobReporter(HAJobKind.CLUSTER_START, printed.append, node=PRIMARY) as say,
        ):
            say("Starting Cluster (corosync)...", 20)
            raise cluster.ClusterError("corosync did not start")
        self.assertEqual(printed, ["Starting Cluster (corosync)..."])
        job = HAJob.objects.get()
        self.assertEqual(job.status, HAJobStatus.FAILED)
        self.assertEqual(job.error, "corosync did not start")
        self.assertEqual(job.progress, 20)

    def test_silent_running_job_is_shown_failed(self):
        job = services.start_job(HAJobKind.DEPLOY, node=PRIMARY)
        fresh = services.start_job(HAJobKind.REPAIR, node=SECONDARY)
        HAJob.objects.filter(pk=job.pk).update(updated=timezone.now() - dt.timedelta(minutes=11))
        events = services.fail_stale_jobs()
        self.assertEqual(len(events), 1)
        job.refresh_from_db()
        fresh.refresh_from_db()
        self.assertEqual(job.status, HAJobStatus.FAILED)
        self.assertIn("safe to run it again", job.error)
        self.assertEqual(fresh.status, HAJobStatus.RUNNING)
        self.assertEqual(services.fail_stale_jobs(), [])


class ConcurrentCollectorTests(TransactionTestCase):
    """Two collectors at once (beat moving between nodes): one failover event, not two."""

    def test_concurrent_collections_of_a_failover(self):
        enable_ha()
        failed_over = observation(
            crm_mon_xml(online=(SECONDARY,), promoted=SECONDARY, unpromoted=None),
            local=SECONDARY,
        )
        barrier = threading.Barrier(4)
        errors = []

        def collect():
            try:
                barrier.wait(timeout=10)
                services.apply_observation(failed_over)
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=collect) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        self.assertEqual(errors, [])
        self.assertEqual(Event.objects.filter(action="failover").count(), 1)
        self.assertEqual(Event.objects.filter(action="node_offline").count(), 1)
        self.assertEqual(ClusterStatus.objects.get().active_node, SECONDARY)


class HaEnabledTests(SimpleTestCase):
    """A cluster is formed only where corosync has its configuration and its key."""

    def test_example_configuration_without_a_key_is_not_a_cluster(self):
        with corosync_conf(COROSYNC_CONF) as path:
            self.assertTrue(cluster.ha_enabled())
            path.with_name("authkey").unlink()
            self.assertFalse(cluster.ha_enabled())
