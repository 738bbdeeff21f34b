"""Serializers of the synchronization API."""

from rest_framework import serializers

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
