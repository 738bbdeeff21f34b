"""The stored snapshot of the cluster and its transitions: each change of a node, of
replication, of promotability or of the quorum device is one event-log entry, written with
the new snapshot in one transaction."""

from __future__ import annotations

import datetime as dt
import socket

from django.db import transaction
from django.utils import timezone

from core.choices import EventResult
from core.models import Event

from .. import cluster
from ..choices import (
    HeartbeatState,
    NodeRole,
    QuorumDevice,
    ReplicationMode,
)
from ..models import ClusterStatus, Node
from .common import ha_event
from .jobs import fail_stale_jobs
from .observation import Observation, local_system_info, observe


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
                    ha_event(
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
                ha_event(
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
                        ha_event(
                            "heartbeat_lost",
                            "Heartbeat lost: Connection status Disconnected",
                            EventResult.FAILURE,
                        )
                    )
                else:
                    events.append(
                        ha_event(
                            "heartbeat_restored",
                            "Heartbeat restored: Connection status Connected",
                            EventResult.SUCCESS,
                        )
                    )
            if obs.promoted and status.active_node and obs.promoted != status.active_node:
                events.append(
                    ha_event(
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
                ha_event(
                    "node_offline",
                    f"Node {node.name} is offline: the cluster is degraded",
                    EventResult.FAILURE,
                    node=node.name,
                )
            )
        elif not before.online and node.online:
            events.append(
                ha_event(
                    "node_online",
                    f"Node {node.name} is online",
                    EventResult.SUCCESS,
                    node=node.name,
                )
            )
        if node.role == NodeRole.STANDBY and before.role in (NodeRole.OFFLINE, NodeRole.DEGRADED):
            events.append(
                ha_event(
                    "rejoin",
                    f"Node {node.name} rejoined the cluster as the standby",
                    EventResult.SUCCESS,
                    node=node.name,
                )
            )
    return events


def _replication_event(mode: ReplicationMode) -> Event:
    if mode == ReplicationMode.ASYNC:
        return ha_event(
            "replication_async",
            "Replication is now asynchronous: writes continue while the standby is away, "
            "but commits no longer wait for it (a crash of the primary may lose the last "
            "acknowledged writes)",
            mode=mode.value,
        )
    return ha_event(
        "replication_sync",
        "Replication is now synchronous: every commit waits for the standby again",
        EventResult.SUCCESS,
        mode=mode.value,
    )


def _promotable_event(promotable: bool) -> Event:
    if promotable:
        return ha_event(
            "standby_promotable",
            "Standby promotable: the cluster can fail over to it at once",
            EventResult.SUCCESS,
        )
    return ha_event(
        "standby_not_promotable",
        "Standby not promotable: the cluster could not fail over now (the standby is not a "
        "confirmed synchronous standby)",
        EventResult.FAILURE,
    )


def _quorum_device_event(obs: Observation) -> Event:
    votes = f"votes {obs.total_votes} of {obs.expected_votes} expected, {obs.votes_needed} needed"
    if obs.quorum_device == QuorumDevice.NOT_VOTING:
        return ha_event(
            "quorum_device_lost",
            f"Quorum device lost its vote: {votes}",
            EventResult.FAILURE,
            total_votes=obs.total_votes,
        )
    return ha_event(
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
