"""What the widget shows: the stored snapshot, read from either node."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from core.models import Event

from ..choices import (
    NodeRole,
)
from ..models import ClusterStatus, Node
from .common import HA


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
