"""HA services: the cluster state collector, the widget's picture, and tracked HA jobs.

The collector runs on the active node (Celery beat lives there). It reads the node's own
truth (crm_mon XML, pg_stat_replication), compares it with the stored snapshot and writes
the new snapshot and one event-log entry per transition in one transaction. The stored
state is what the widget shows, from either node.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import socket
import subprocess
import time
from dataclasses import dataclass, field

import psutil
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.choices import SystemRole
from core.choices import EventCategory, EventResult
from core.context_processors import product_version
from core.models import Event
from core.services import record_event

from . import cluster
from .choices import (
    ClusterHealth,
    HAJobKind,
    HAJobStatus,
    HeartbeatState,
    NodeRole,
    QuorumDevice,
    ReplicationMode,
)
from .models import ClusterStatus, HAJob, Node

logger = logging.getLogger(__name__)

HA = EventCategory.HIGH_AVAILABILITY
PROMOTED_ROLES = {"Promoted", "Master"}
UNPROMOTED_ROLES = {"Unpromoted", "Slave"}
# A running job that logged nothing for this long was interrupted (its node went away).
JOB_STALE_AFTER = dt.timedelta(minutes=10)


# --- observation -------------------------------------------------------------------------


@dataclass
class SystemInfo:
    """Physical memory and disk space (bytes) and the server version of one node."""

    physical_memory: int | None
    disk_space: int | None
    version: str


@dataclass
class NodeObservation:
    """One node as the cluster sees it now."""

    name: str
    cluster_address: str = ""
    public_address: str = ""
    online: bool = False
    role: NodeRole = NodeRole.OFFLINE


@dataclass
class Observation:
    """The cluster as seen now from the node that collects; ha_enabled False after teardown."""

    ha_enabled: bool
    nodes: list[NodeObservation] = field(default_factory=list)
    vip: str = ""
    vip_node: str = ""
    promoted: str = ""
    quorate: bool | None = None
    total_votes: int | None = None
    expected_votes: int | None = None
    votes_needed: int | None = None
    quorum_device: QuorumDevice = QuorumDevice.UNKNOWN
    replication_mode: ReplicationMode = ReplicationMode.UNKNOWN
    replication_lag: float | None = None
    local_node: str = ""
    local_system: SystemInfo | None = None
    # the cluster could fail over now: a synchronous standby with a positive promotion score
    standby_promotable: bool | None = None

    @property
    def heartbeat(self) -> HeartbeatState:
        """Connected while every node is a member of the cluster membership."""
        if self.nodes and all(n.online for n in self.nodes):
            return HeartbeatState.CONNECTED
        return HeartbeatState.DISCONNECTED

    @property
    def health(self) -> ClusterHealth:
        """Normal: every node online, one Active and the others Standby, and the standby
        promotable (a cluster that could not fail over now is Degraded)."""
        roles = sorted(n.role for n in self.nodes)
        expected = sorted([NodeRole.ACTIVE] + [NodeRole.STANDBY] * (len(self.nodes) - 1))
        if (
            self.heartbeat == HeartbeatState.CONNECTED
            and roles == expected
            and self.standby_promotable is not False
        ):
            return ClusterHealth.NORMAL
        return ClusterHealth.DEGRADED


def interval_seconds(text: str) -> float | None:
    """PostgreSQL interval text ('00:00:00.016238', '1 day 02:00:00') in seconds."""
    match = re.fullmatch(r"\s*(?:(\d+) days?\s*)?(-?)(\d+):(\d+):(\d+(?:\.\d+)?)\s*", text or "")
    if not match:
        return None
    days, sign, hours, minutes, seconds = match.groups()
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return -total if sign else total


def node_role(online: bool, database_role: str) -> NodeRole:
    """Active with the primary database, Standby with a replica, Degraded with neither."""
    if not online:
        return NodeRole.OFFLINE
    if database_role in PROMOTED_ROLES:
        return NodeRole.ACTIVE
    if database_role in UNPROMOTED_ROLES:
        return NodeRole.STANDBY
    return NodeRole.DEGRADED


def build_observation(
    state: cluster.ClusterState,
    configured: list[cluster.ClusterNode],
    database: cluster.DatabaseState | None = None,
    quorum: cluster.QuorumState | None = None,
    *,
    vip: str = "",
    local_node: str = "",
    local_system: SystemInfo | None = None,
    public_addresses: dict[str, str] | None = None,
) -> Observation:
    """Combine crm_mon's view, corosync's node list and votes, and the local replication."""
    public = dict(public_addresses or {})
    names = [n.name for n in configured] + [
        n.name for n in state.nodes if n.name not in {c.name for c in configured}
    ]
    cluster_addr = {n.name: n.cluster_addr for n in configured}
    nodes = []
    for name in names:
        seen = state.node(name)
        online = bool(seen and seen.online)
        nodes.append(
            NodeObservation(
                name=name,
                cluster_address=cluster_addr.get(name, ""),
                public_address=public.get(name, ""),
                online=online,
                role=node_role(online, seen.role if seen else ""),
            )
        )
    promoted = next((n.name for n in nodes if n.role == NodeRole.ACTIVE), "")
    obs = Observation(
        ha_enabled=True,
        nodes=nodes,
        vip=vip,
        vip_node=state.vip_node or "",
        promoted=promoted,
        quorate=state.quorate if state.dc else None,
        local_node=local_node,
        local_system=local_system,
        standby_promotable=state.standby_promotable,
    )
    if quorum is not None:
        obs.total_votes = quorum.total_votes
        obs.expected_votes = quorum.expected_votes
        obs.votes_needed = quorum.quorum
        if not quorum.qdevice:
            obs.quorum_device = QuorumDevice.NONE
        elif quorum.qdevice_votes:
            obs.quorum_device = QuorumDevice.VOTING
        else:
            obs.quorum_device = QuorumDevice.NOT_VOTING
    if database is not None and not database.in_recovery:
        sync = bool(database.synchronous_standby_names.strip())
        obs.replication_mode = ReplicationMode.SYNC if sync else ReplicationMode.ASYNC
        lags = [interval_seconds(s.replay_lag) for s in database.standbys]
        lags = [lag for lag in lags if lag is not None]
        obs.replication_lag = max(lags) if lags else None
        for peer in database.standbys:
            if peer.application_name in cluster_addr and peer.client_addr:
                public.setdefault(peer.application_name, peer.client_addr)
        for node in nodes:
            node.public_address = node.public_address or public.get(node.name, "")
    return obs


def local_system_info() -> SystemInfo:
    """This node's physical memory, root disk size and server version."""
    return SystemInfo(
        physical_memory=psutil.virtual_memory().total,
        disk_space=psutil.disk_usage("/").total,
        version=product_version(),
    )


def _resolve(name: str) -> str:
    try:
        return socket.gethostbyname(name)
    except OSError:
        return ""


_last_warning = ""


def _warn_once(message: str) -> None:
    """Log why the cluster cannot be seen when the reason changes, not every 2 seconds."""
    global _last_warning
    if message and message != _last_warning:
        logger.warning("%s", message)
    _last_warning = message


def observe() -> Observation | None:
    """What this node sees now; None when it cannot see the cluster (nothing is written)."""
    if not cluster.ha_enabled():
        return Observation(ha_enabled=False)
    try:
        configured = cluster.configured_nodes()
        state = cluster.cluster_state()
    except (cluster.ClusterError, OSError, subprocess.SubprocessError, ValueError) as exc:
        _warn_once(f"cluster state not collected: {exc}")
        return None
    try:
        database = cluster.database_state()
    except (cluster.ClusterError, OSError, subprocess.SubprocessError, ValueError) as exc:
        logger.info("replication state not read: %s", exc)
        database = None
    try:
        quorum = cluster.quorum_state()
    except (cluster.ClusterError, OSError, subprocess.SubprocessError, ValueError) as exc:
        logger.info("quorum votes not read: %s", exc)
        quorum = None
    _warn_once("")
    names = {n.name for n in configured}
    hostname = socket.gethostname()
    return build_observation(
        state,
        configured,
        database,
        quorum,
        vip=cluster.conf.VIP,
        local_node=hostname if hostname in names else "",
        local_system=local_system_info(),
        public_addresses={name: _resolve(name) for name in names},
    )


# --- no active server ------------------------------------------------------------------------


def system_administrator_emails() -> list[str]:
    """Where cluster alerts go: every active system administrator with an e-mail address."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    admins = users.filter(
        Q(is_superuser=True) | Q(ssm_profile__system_role=SystemRole.SYSTEM_ADMIN)
    )
    return sorted(set(admins.values_list("email", flat=True)))


def alert_no_active_server(node: str, reason: str) -> list[str]:
    """E-mail the system administrators that the cluster has no active server (read-only:
    it runs on a standby while no database accepts writes). Returns the recipients."""
    recipients = system_administrator_emails()
    send_mail(
        "[SSM On-Prem] High availability: no active server",
        f"The cluster has no active server (seen from {node} at "
        f"{timezone.now():%Y-%m-%d %H:%M:%S} UTC).\n\n{reason}.\n\n"
        "ha_status on either node shows the current state.",
        settings.DEFAULT_FROM_EMAIL,
        recipients or [settings.DEFAULT_FROM_EMAIL],
    )
    return recipients


def record_when_the_database_answers(write, seconds: float) -> bool:
    """Run `write()` in a transaction as soon as a database accepts writes (after a
    promotion the new primary takes a few seconds); False when none did within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with transaction.atomic():
                write()
            return True
        except DatabaseError:
            connection.close()
            if time.monotonic() > deadline:
                return False
            time.sleep(1)


def record_no_active_server(node: str, reason: str, since: str) -> Event:
    """The HA event of a period without an active server, once a database accepts writes."""
    return _event(
        "no_active_server",
        f"No active server from {since} (seen from {node}): {reason}",
        EventResult.FAILURE,
        node=node,
        since=since,
    )


# --- the snapshot and its transitions ------------------------------------------------------


def _event(action: str, message: str, result=EventResult.INFO, **data) -> Event:
    return record_event(HA, action, message, result=result, **data)


def apply_observation(obs: Observation, now: dt.datetime | None = None) -> list[Event]:
    """Store the observation; one HA event per transition since the stored snapshot.

    Idempotent: the same observation applied twice writes no second event. Concurrent
    collectors are serialized on the status row.
    """
    now = now or timezone.now()
    ClusterStatus.objects.get_or_create(pk=1)
    events: list[Event] = []
    with transaction.atomic():
        status = ClusterStatus.objects.select_for_update().get(pk=1)
        status.collected = now
        if not obs.ha_enabled:
            if status.ha_enabled:
                status.ha_enabled = False
                status.changed = now
                events.append(
                    _event(
                        "teardown",
                        "High availability is not enabled: the cluster configuration was "
                        "removed (teardown); this server runs stand-alone.",
                    )
                )
            status.save()
            return events

        was_enabled = status.ha_enabled
        previous = {n.name: n for n in Node.objects.select_for_update()}
        if not was_enabled:
            events.append(
                _event(
                    "ha_enabled",
                    "High availability enabled: cluster of " + ", ".join(n.name for n in obs.nodes),
                    EventResult.SUCCESS,
                )
            )
        else:
            events += _node_events(obs, previous)
            if obs.heartbeat != status.heartbeat:
                if obs.heartbeat == HeartbeatState.DISCONNECTED:
                    events.append(
                        _event(
                            "heartbeat_lost",
                            "Heartbeat lost: Connection status Disconnected",
                            EventResult.FAILURE,
                        )
                    )
                else:
                    events.append(
                        _event(
                            "heartbeat_restored",
                            "Heartbeat restored: Connection status Connected",
                            EventResult.SUCCESS,
                        )
                    )
            if obs.promoted and status.active_node and obs.promoted != status.active_node:
                events.append(
                    _event(
                        "failover",
                        f"Failover: {obs.promoted} is now the active node "
                        f"(was {status.active_node})",
                        previous_active=status.active_node,
                        active=obs.promoted,
                    )
                )
            old_mode = status.replication_mode
            if obs.replication_mode and old_mode and obs.replication_mode != old_mode:
                events.append(_replication_event(obs.replication_mode))
            flags = (status.standby_promotable, obs.standby_promotable)
            if None not in flags and flags[0] != flags[1]:
                events.append(_promotable_event(obs.standby_promotable))
            devices = {status.quorum_device, obs.quorum_device}
            if devices == {QuorumDevice.VOTING, QuorumDevice.NOT_VOTING}:
                events.append(_quorum_device_event(obs))

        status.ha_enabled = True
        status.heartbeat = obs.heartbeat
        status.health = obs.health
        status.vip = obs.vip or status.vip
        status.vip_node = obs.vip_node
        status.active_node = obs.promoted or status.active_node
        if obs.replication_mode:
            status.replication_mode = obs.replication_mode
        status.replication_lag = obs.replication_lag
        status.quorate = obs.quorate
        status.total_votes = obs.total_votes
        status.expected_votes = obs.expected_votes
        status.votes_needed = obs.votes_needed
        status.quorum_device = obs.quorum_device
        status.standby_promotable = obs.standby_promotable
        if events:
            status.changed = now
        status.save()
        _store_nodes(obs, previous, now)
        events += fail_stale_jobs(now)
    return events


def _node_events(obs: Observation, previous: dict[str, Node]) -> list[Event]:
    events = []
    for node in obs.nodes:
        before = previous.get(node.name)
        if before is None:
            continue
        if before.online and not node.online:
            events.append(
                _event(
                    "node_offline",
                    f"Node {node.name} is offline: the cluster is degraded",
                    EventResult.FAILURE,
                    node=node.name,
                )
            )
        elif not before.online and node.online:
            events.append(
                _event(
                    "node_online",
                    f"Node {node.name} is online",
                    EventResult.SUCCESS,
                    node=node.name,
                )
            )
        if node.role == NodeRole.STANDBY and before.role in (NodeRole.OFFLINE, NodeRole.DEGRADED):
            events.append(
                _event(
                    "rejoin",
                    f"Node {node.name} rejoined the cluster as the standby",
                    EventResult.SUCCESS,
                    node=node.name,
                )
            )
    return events


def _replication_event(mode: ReplicationMode) -> Event:
    if mode == ReplicationMode.ASYNC:
        return _event(
            "replication_async",
            "Replication is now asynchronous: writes continue while the standby is away, "
            "but commits no longer wait for it (a crash of the primary may lose the last "
            "acknowledged writes)",
            mode=mode.value,
        )
    return _event(
        "replication_sync",
        "Replication is now synchronous: every commit waits for the standby again",
        EventResult.SUCCESS,
        mode=mode.value,
    )


def _promotable_event(promotable: bool) -> Event:
    if promotable:
        return _event(
            "standby_promotable",
            "Standby promotable: the cluster can fail over to it at once",
            EventResult.SUCCESS,
        )
    return _event(
        "standby_not_promotable",
        "Standby not promotable: the cluster could not fail over now (the standby is not a "
        "confirmed synchronous standby)",
        EventResult.FAILURE,
    )


def _quorum_device_event(obs: Observation) -> Event:
    votes = f"votes {obs.total_votes} of {obs.expected_votes} expected, {obs.votes_needed} needed"
    if obs.quorum_device == QuorumDevice.NOT_VOTING:
        return _event(
            "quorum_device_lost",
            f"Quorum device lost its vote: {votes}",
            EventResult.FAILURE,
            total_votes=obs.total_votes,
        )
    return _event(
        "quorum_device_restored",
        f"Quorum device is voting again: {votes}",
        EventResult.SUCCESS,
        total_votes=obs.total_votes,
    )


def _store_nodes(obs: Observation, previous: dict[str, Node], now: dt.datetime) -> None:
    for position, seen in enumerate(obs.nodes):
        node = previous.get(seen.name) or Node(name=seen.name)
        node.position = position
        node.online = seen.online
        node.role = seen.role
        node.cluster_address = seen.cluster_address or node.cluster_address
        node.public_address = seen.public_address or node.public_address
        if seen.online:
            node.last_seen = now
        if seen.name == obs.local_node and obs.local_system is not None:
            node.physical_memory = obs.local_system.physical_memory
            node.disk_space = obs.local_system.disk_space
            node.version = obs.local_system.version
        node.save()
    gone = set(previous) - {n.name for n in obs.nodes}
    if gone:
        Node.objects.filter(name__in=gone).delete()


def record_local_system_info() -> Node | None:
    """This node's memory, disk and version on its Node row (a worker starting on any node).

    The collector runs on the active node only; this is how the standby's System
    Information becomes known: its worker starts when it joins the cluster.
    """
    if not cluster.ha_enabled():
        return None
    hostname = socket.gethostname()
    try:
        names = [n.name for n in cluster.configured_nodes()]
    except (OSError, ValueError):
        return None
    if hostname not in names:
        return None
    info = local_system_info()
    node, _ = Node.objects.update_or_create(
        name=hostname,
        defaults={
            "physical_memory": info.physical_memory,
            "disk_space": info.disk_space,
            "version": info.version,
        },
        create_defaults={
            "physical_memory": info.physical_memory,
            "disk_space": info.disk_space,
            "version": info.version,
            "position": names.index(hostname),
        },
    )
    return node


def collect_cluster_state() -> list[Event]:
    """Observe the cluster from this node and store it (run every few seconds by beat)."""
    obs = observe()
    if obs is None:
        return []
    return apply_observation(obs)


# --- what the widget shows -----------------------------------------------------------------


def cluster_status() -> ClusterStatus | None:
    """The stored cluster status, or None before the first collection."""
    return ClusterStatus.objects.filter(pk=1).first()


def ha_enabled() -> bool:
    """HA as last collected: the widget exists only while this is True."""
    return ClusterStatus.objects.filter(pk=1, ha_enabled=True).exists()


def is_stale(status: ClusterStatus, now: dt.datetime | None = None) -> bool:
    """The snapshot is older than five collection intervals (the collector is not running)."""
    if status.collected is None:
        return True
    interval = getattr(settings, "HA_COLLECT_INTERVAL", 2.0)
    return (now or timezone.now()) - status.collected > dt.timedelta(seconds=max(10, 5 * interval))


def server_cards(status: ClusterStatus) -> tuple[Node | None, Node | None]:
    """(Active Server, Standby Server): the node with the primary, and the other one."""
    nodes = list(Node.objects.all())
    active = next((n for n in nodes if n.role == NodeRole.ACTIVE), None)
    if active is None:
        active = next((n for n in nodes if n.name == status.active_node), None)
    others = [n for n in nodes if n is not active]
    if active is None and others:
        active = others.pop(0)
    return active, (others[0] if others else None)


def ha_events():
    """The HA event log, newest first."""
    return Event.objects.filter(category=HA)


# --- tracked jobs --------------------------------------------------------------------------


def start_job(kind, *, node: str = "", user=None) -> HAJob:
    """Start tracking a long HA operation on a node; returns the running job."""
    kind = HAJobKind(kind)
    node = node or socket.gethostname()
    with transaction.atomic():
        job = HAJob.objects.create(kind=kind, node=node[:100], started_by=user)
        record_event(
            HA,
            f"job_{kind.value}",
            f"{kind.label} started on {job.node}",
            user=user,
            result=EventResult.INFO,
            job=job.pk,
        )
    return job


def finish_job(job: HAJob, *, succeeded: bool = True, error: str = "", user=None) -> HAJob:
    """Mark a running job succeeded or failed (with the reason); a finished job is left alone."""
    status = HAJobStatus.SUCCEEDED if succeeded else HAJobStatus.FAILED
    with transaction.atomic():
        now = timezone.now()
        updates = {"status": status, "finished": now, "updated": now, "error": error[:300]}
        if succeeded:
            updates["progress"] = 100
        claimed = HAJob.objects.filter(pk=job.pk, status=HAJobStatus.RUNNING).update(**updates)
        locked = HAJob.objects.get(pk=job.pk)
        if claimed:
            label = HAJobKind(locked.kind).label
            record_event(
                HA,
                f"job_{locked.kind}",
                f"{label} on {locked.node} "
                + ("succeeded" if succeeded else f"failed: {error or 'see its log'}"),
                user=user,
                result=EventResult.SUCCESS if succeeded else EventResult.FAILURE,
                job=locked.pk,
            )
    return locked


def fail_stale_jobs(now: dt.datetime | None = None) -> list[Event]:
    """Running jobs silent for JOB_STALE_AFTER were interrupted: shown failed, safe to rerun."""
    now = now or timezone.now()
    events = []
    stale = HAJob.objects.filter(status=HAJobStatus.RUNNING, updated__lt=now - JOB_STALE_AFTER)
    for job in stale:
        reason = "interrupted (no progress for 10 minutes); it is safe to run it again"
        claimed = HAJob.objects.filter(pk=job.pk, status=HAJobStatus.RUNNING).update(
            status=HAJobStatus.FAILED, finished=now, updated=now, error=reason
        )
        if claimed:
            events.append(
                _event(
                    f"job_{job.kind}",
                    f"{job.get_kind_display()} on {job.node} failed: {reason}",
                    EventResult.FAILURE,
                    job=job.pk,
                )
            )
    return events


class JobReporter:
    """For console commands: print each step and record it on a tracked job.

    with JobReporter(HAJobKind.CLUSTER_START, self.say) as say:
        say("Starting Cluster (corosync)...", progress=20)

    The database may be out of reach while the command runs (it restarts during ha_deploy,
    it moves with the VIP during a failover): the steps are always printed, kept, and
    recorded as soon as a database answers again (the job is created late if need be).
    """

    def __init__(self, kind, say, *, node: str = "", user=None):
        self.kind, self.say, self.node, self.user = kind, say, node, user
        self.job: HAJob | None = None
        self.lines: list[str] = []
        self.progress = 0
        self.failures = 0

    def _record(self, *, last: bool = False) -> None:
        # a database that stays out of reach is not waited for at every line (connect timeout)
        if self.failures >= 3 and not last:
            return
        try:
            if self.job is None:
                self.job = start_job(self.kind, node=self.node, user=self.user)
            if self.lines or self.progress:
                HAJob.objects.filter(pk=self.job.pk, status=HAJobStatus.RUNNING).update(
                    log=self.lines, progress=self.progress, updated=timezone.now()
                )
            self.failures = 0
        except DatabaseError as exc:
            logger.debug("HA job not recorded yet: %s", exc)
            self.failures += 1
            connection.close()

    def __enter__(self):
        self._record()
        return self

    def __call__(self, line: str, progress: int | None = None) -> None:
        self.say(line)
        self.lines.append(f"{timezone.now().strftime('%Y-%b-%d %H:%M:%S')} {line}")
        if progress is not None:
            self.progress = progress
        self._record()

    def __exit__(self, exc_type, exc, tb):
        self._record(last=True)
        if self.job is not None:
            try:
                finish_job(
                    self.job, succeeded=exc is None, error=str(exc or "")[:300], user=self.user
                )
            except DatabaseError as error:
                logger.debug("HA job end not recorded: %s", error)
        return False
