"""Status values of the cluster, its nodes and its tracked jobs (label and badge colour)."""

from django.db import models

from core.choices import badge_colours


@badge_colours({"normal": "success", "degraded": "warning"})
class ClusterHealth(models.TextChoices):
    """Normal while every node is online in its role; Degraded otherwise."""

    NORMAL = "normal", "Normal"
    DEGRADED = "degraded", "Degraded"

    @property
    def sentence(self) -> str:
        return {
            "normal": "The status of the high availability cluster is normal.",
            "degraded": "The cluster is degraded One of the cluster nodes is offline",
        }[self.value]


@badge_colours({"connected": "success", "disconnected": "danger"})
class HeartbeatState(models.TextChoices):
    """The cluster (heartbeat) network: every node is a member of the membership, or not."""

    CONNECTED = "connected", "Connected"
    DISCONNECTED = "disconnected", "Disconnected"


@badge_colours(
    {"active": "success", "standby": "primary", "degraded": "warning", "offline": "danger"}
)
class NodeRole(models.TextChoices):
    """What a node does: holds the primary database and the VIP, follows it, or neither."""

    ACTIVE = "active", "Active"
    STANDBY = "standby", "Standby"
    DEGRADED = "degraded", "Degraded"
    OFFLINE = "offline", "Offline"


@badge_colours({"sync": "success", "async": "warning", "": "secondary"})
class ReplicationMode(models.TextChoices):
    """Whether commits on the primary wait for the standby."""

    SYNC = "sync", "synchronous"
    ASYNC = "async", "asynchronous"
    UNKNOWN = "", "--"


@badge_colours({"voting": "success", "not_voting": "danger", "none": "secondary", "": "secondary"})
class QuorumDevice(models.TextChoices):
    """The quorum device (corosync-qnetd, the third vote): none, voting, or registered but not."""

    VOTING = "voting", "voting"
    NOT_VOTING = "not_voting", "not voting"
    NONE = "none", "none"
    UNKNOWN = "", "--"


class HAJobKind(models.TextChoices):
    """Long cluster operations, run from a node's console or from the widget."""

    GENERATE_KEYS = "generate_keys", "Generate Keys"
    PROVISION_STANDBY = "provision_standby", "Provision Standby"
    DEPLOY = "deploy", "Deploy"
    CLUSTER_START = "cluster_start", "Cluster Start"
    CLUSTER_STOP = "cluster_stop", "Cluster Stop"
    REPAIR = "repair", "Repair"
    PROMOTE = "promote", "Forced Promotion"
    TEARDOWN = "teardown", "Teardown"
    SWITCHOVER = "switchover", "Switchover"
    FALLBACK = "fallback", "Fallback"
    REHEARSAL = "rehearsal", "Failover Rehearsal"
    MAINTENANCE = "maintenance", "Maintenance"
    MAINTENANCE_END = "maintenance_end", "Maintenance End"


@badge_colours({"running": "info", "succeeded": "success", "failed": "danger"})
class HAJobStatus(models.TextChoices):
    """Where a tracked cluster operation stands."""

    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
