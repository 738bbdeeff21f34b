"""Serializers of the HA API: the stored cluster status, its nodes and tracked jobs."""

from rest_framework import serializers

from ..models import ClusterStatus, HAJob, Node
from ..services import OPERATIONS


class NodeSerializer(serializers.ModelSerializer):
    """One node as last observed; system information is null when unknown."""

    class Meta:
        model = Node
        fields = [
            "name",
            "public_address",
            "cluster_address",
            "role",
            "online",
            "physical_memory",
            "disk_space",
            "version",
            "last_seen",
        ]


class ClusterStatusSerializer(serializers.ModelSerializer):
    """The cluster as last collected, with its nodes."""

    nodes = serializers.SerializerMethodField()

    class Meta:
        model = ClusterStatus
        fields = [
            "ha_enabled",
            "health",
            "heartbeat",
            "vip",
            "vip_node",
            "active_node",
            "replication_mode",
            "replication_lag",
            "standby_promotable",
            "quorate",
            "total_votes",
            "expected_votes",
            "votes_needed",
            "quorum_device",
            "collected",
            "changed",
            "nodes",
        ]

    def get_nodes(self, obj) -> list[dict]:
        return NodeSerializer(Node.objects.all(), many=True).data


class HAJobSerializer(serializers.ModelSerializer):
    """A long cluster operation with its progress and log lines."""

    class Meta:
        model = HAJob
        fields = [
            "id",
            "kind",
            "node",
            "status",
            "progress",
            "log",
            "error",
            "report",
            "started",
            "finished",
        ]


class OperationRequestSerializer(serializers.Serializer):
    """A cluster operation to start; `node` only for maintenance_end (the node to bring back)
    or maintenance (default: the standby)."""

    operation = serializers.ChoiceField(choices=sorted(OPERATIONS))
    node = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
