"""What the collector observes on this node: crm_mon's XML, replication and the system, as
one Observation."""

from __future__ import annotations

import re
import socket
import subprocess
from dataclasses import dataclass, field

import psutil
from django.conf import settings

from core.context_processors import product_version

from .. import cluster
from ..choices import (
    ClusterHealth,
    HeartbeatState,
    NodeRole,
    QuorumDevice,
    ReplicationMode,
)
from .common import PROMOTED_ROLES, UNPROMOTED_ROLES, logger


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
        vip=settings.HA_VIP,
        local_node=hostname if hostname in names else "",
        local_system=local_system_info(),
        public_addresses={name: _resolve(name) for name in names},
    )
