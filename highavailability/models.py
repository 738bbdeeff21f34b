"""Models of the highavailability app: the last observed cluster state and tracked jobs.

The state lives in PostgreSQL (replicated to the standby like everything else), so the
widget shows the same picture from either node, and it survives a failover.
"""

from django.conf import settings
from django.db import models

from .choices import (
    ClusterHealth,
    HAJobKind,
    HAJobStatus,
    HeartbeatState,
    NodeRole,
    QuorumDevice,
    ReplicationMode,
)

UNKNOWN = "--"


class ClusterStatus(models.Model):
    """The cluster as last observed (one row, pk=1); written only by the state collector."""

    ha_enabled = models.BooleanField(default=False)
    health = models.CharField(
        max_length=16, choices=ClusterHealth.choices, default=ClusterHealth.DEGRADED
    )
    heartbeat = models.CharField(
        max_length=16, choices=HeartbeatState.choices, default=HeartbeatState.DISCONNECTED
    )
    vip = models.CharField("VIP", max_length=64, blank=True)
    vip_node = models.CharField(max_length=100, blank=True, help_text="Node holding the VIP.")
    active_node = models.CharField(
        max_length=100, blank=True, help_text="Last node seen holding the primary database."
    )
    replication_mode = models.CharField(
        max_length=8, choices=ReplicationMode.choices, blank=True, default=ReplicationMode.UNKNOWN
    )
    replication_lag = models.FloatField(
        null=True, blank=True, help_text="Replay lag of the standby in seconds."
    )
    quorate = models.BooleanField(null=True, blank=True)
    total_votes = models.PositiveSmallIntegerField(null=True, blank=True)
    expected_votes = models.PositiveSmallIntegerField(null=True, blank=True)
    votes_needed = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Votes needed for quorum."
    )
    quorum_device = models.CharField(
        max_length=16, choices=QuorumDevice.choices, blank=True, default=QuorumDevice.UNKNOWN
    )
    standby_promotable = models.BooleanField(
        null=True,
        blank=True,
        help_text="The standby is synchronous with a positive promotion score: the cluster "
        "would promote it at once if the active node were lost.",
    )
    collected = models.DateTimeField(null=True, blank=True)
    changed = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "cluster status"

    def __str__(self) -> str:
        return f"HA {'enabled' if self.ha_enabled else 'not enabled'} ({self.health})"

    @property
    def health_enum(self) -> ClusterHealth:
        return ClusterHealth(self.health)

    @property
    def heartbeat_enum(self) -> HeartbeatState:
        return HeartbeatState(self.heartbeat)

    @property
    def replication_mode_enum(self) -> ReplicationMode:
        return ReplicationMode(self.replication_mode)

    @property
    def quorum_device_enum(self) -> QuorumDevice:
        return QuorumDevice(self.quorum_device)


class Node(models.Model):
    """One cluster node as last observed, with its system information where known."""

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in the cluster.")
    public_address = models.CharField(max_length=64, blank=True)
    cluster_address = models.CharField(max_length=64, blank=True)
    role = models.CharField(max_length=16, choices=NodeRole.choices, default=NodeRole.OFFLINE)
    online = models.BooleanField(default=False)
    physical_memory = models.BigIntegerField(null=True, blank=True, help_text="Bytes.")
    disk_space = models.BigIntegerField(null=True, blank=True, help_text="Bytes.")
    version = models.CharField("Current Version", max_length=64, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def role_enum(self) -> NodeRole:
        return NodeRole(self.role)

    @property
    def card_role(self) -> NodeRole:
        """The role a server card shows: Active, Standby, or Degraded (offline included)."""
        return NodeRole.DEGRADED if self.role == NodeRole.OFFLINE else self.role_enum


class HAJob(models.Model):
    """A long cluster operation (deploy, repair, teardown...) with progress and log lines."""

    kind = models.CharField(max_length=32, choices=HAJobKind.choices)
    node = models.CharField(max_length=100, blank=True, help_text="Node it runs on.")
    status = models.CharField(
        max_length=16, choices=HAJobStatus.choices, default=HAJobStatus.RUNNING
    )
    progress = models.PositiveSmallIntegerField(default=0)
    log = models.JSONField(default=list, blank=True)
    error = models.CharField(max_length=300, blank=True)
    report = models.JSONField(
        default=dict, blank=True, help_text="A rehearsal's figures per transition."
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started = models.DateTimeField(auto_now_add=True, db_index=True)
    updated = models.DateTimeField(auto_now=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.node or 'this node'} ({self.status})"

    @property
    def status_enum(self) -> HAJobStatus:
        return HAJobStatus(self.status)


class SharedState(models.Model):
    """What both nodes share (secrets, Browser Certificate) as last published on a running
    cluster, sealed with the cluster's key; one row. Each node adopts a newer generation when
    its application starts (highavailability.sharedstate)."""

    generation = models.CharField(max_length=32)
    sealed = models.TextField()
    published = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"shared state {self.generation} ({self.published:%Y-%m-%d %H:%M})"
