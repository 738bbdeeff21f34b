"""Serializers of the security API (never a private key)."""

from rest_framework import serializers

from ..models import CACertificate


class HostCommonNameSerializer(serializers.Serializer):
    """The Host Common Name and the product URLs built from it."""

    name = serializers.CharField(max_length=253)


class CACertificateSerializer(serializers.ModelSerializer):
    """A trusted CA certificate."""

    class Meta:
        model = CACertificate
        fields = [
            "id",
            "subject",
            "issuer",
            "not_before",
            "not_after",
            "fingerprint_sha256",
            "pem",
            "added",
        ]
        read_only_fields = fields
