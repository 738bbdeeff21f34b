"""Serializers of the accounts API."""

from rest_framework import serializers

from ..models import AccountRequest, LocalAccount


class LocalAccountSerializer(serializers.ModelSerializer):
    """A local account as the Accounts and Synchronization tables show it."""

    status_label = serializers.CharField(source="get_status_display", read_only=True)
    synchronization_due = serializers.DateTimeField(read_only=True)
    virtual_accounts = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = LocalAccount
        fields = [
            "id",
            "name",
            "cisco_smart_account",
            "cisco_virtual_account",
            "notification_email",
            "status",
            "status_label",
            "requested_by_username",
            "created",
            "satellite_name",
            "sync_mode",
            "last_synchronized",
            "synchronization_due",
            "sync_alert",
            "virtual_accounts",
        ]
        read_only_fields = fields


class AccountRequestSerializer(serializers.ModelSerializer):
    """An account request; the four New Account fields are writable."""

    status_label = serializers.CharField(source="get_status_display", read_only=True)
    account = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = AccountRequest
        fields = [
            "id",
            "name",
            "cisco_smart_account",
            "cisco_virtual_account",
            "notification_email",
            "status",
            "status_label",
            "reason",
            "requested_by_username",
            "created",
            "decided_at",
            "account",
        ]
        validators = []  # the service checks names and bindings with clear messages
        read_only_fields = [
            "id",
            "status",
            "status_label",
            "reason",
            "requested_by_username",
            "created",
            "decided_at",
            "account",
        ]


class RejectSerializer(serializers.Serializer):
    """The reason for a rejection."""

    reason = serializers.CharField(max_length=2000)
