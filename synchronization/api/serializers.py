"""Serializers of the synchronization API."""

from rest_framework import serializers

from ..choices import SyncScope
from ..models import Synchronization


class SynchronizationSerializer(serializers.ModelSerializer):
    """A synchronization job with its progress and log."""

    account_name = serializers.CharField(source="account.name", read_only=True)

    class Meta:
        model = Synchronization
        fields = [
            "id",
            "account",
            "account_name",
            "mode",
            "scope",
            "trigger",
            "status",
            "progress",
            "error",
            "log",
            "created",
            "started",
            "finished",
        ]
        read_only_fields = fields


class SynchronizeRequestSerializer(serializers.Serializer):
    """What to upload: the product instances changed since the last successful
    synchronization (standard) or every one of them (full)."""

    scope = serializers.ChoiceField(choices=SyncScope.choices, default=SyncScope.STANDARD)
