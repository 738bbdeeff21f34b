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


class CertificateDescriptionSerializer(serializers.Serializer):
    """A certificate as the pages describe it."""

    common_name = serializers.CharField()
    subject = serializers.CharField()
    issuer = serializers.CharField()
    issuer_common_name = serializers.CharField()
    subject_alternative_names = serializers.ListField(child=serializers.CharField())
    not_before = serializers.DateTimeField()
    not_after = serializers.DateTimeField()
    serial = serializers.CharField()
    fingerprint_sha256 = serializers.CharField()
    self_signed = serializers.BooleanField()
    expired = serializers.BooleanField()


class BrowserCertificateSerializer(CertificateDescriptionSerializer):
    """The Browser Certificate the HTTPS server presents, with the rest of its chain."""

    chain = CertificateDescriptionSerializer(many=True)
