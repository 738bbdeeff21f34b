"""Serializers of the licensing API (the Smart Licensing API's JSON shapes)."""

from rest_framework import serializers

from ..services import MAX_TOKEN_USES, TOKEN_MAX_DAYS, TOKEN_MIN_DAYS


class ExportControlledField(serializers.BooleanField):
    """Cisco's Smart Licensing API sends "Allowed" / "Not Allowed"; booleans work too."""

    WORDS = {"allowed": True, "not allowed": False}

    def to_internal_value(self, data):
        if isinstance(data, str) and data.strip().lower() in self.WORDS:
            return self.WORDS[data.strip().lower()]
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError:
            raise serializers.ValidationError(
                'Must be "Allowed" or "Not Allowed" (or true / false).'
            ) from None


class TokenCreateSerializer(serializers.Serializer):
    """POST body of the tokens endpoint (the Smart Licensing API's shape)."""

    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    expiresAfterDays = serializers.IntegerField(  # noqa: N815 - the API's field name
        min_value=TOKEN_MIN_DAYS, max_value=TOKEN_MAX_DAYS, required=False, default=30
    )
    exportControlled = ExportControlledField(required=False, default=False)  # noqa: N815
    maxUses = serializers.IntegerField(  # noqa: N815
        min_value=1, max_value=MAX_TOKEN_USES, required=False, allow_null=True
    )


class TokenInfoSerializer(serializers.Serializer):
    """One registration token."""

    token = serializers.CharField()
    description = serializers.CharField()
    virtualAccountName = serializers.CharField(source="virtual_account.name")  # noqa: N815
    createdBy = serializers.CharField(source="created_by_name")  # noqa: N815
    creationDate = serializers.DateTimeField(source="created")  # noqa: N815
    expirationDate = serializers.DateTimeField(source="expires")  # noqa: N815
    exportControlled = serializers.BooleanField(source="export_controlled")  # noqa: N815
    uses = serializers.IntegerField()
    maxUses = serializers.IntegerField(source="max_uses", allow_null=True)  # noqa: N815
    status = serializers.SerializerMethodField()

    def get_status(self, obj) -> str:
        return obj.status.label.upper()


class StatusSerializer(serializers.Serializer):
    """The Smart Licensing API's envelope alone."""

    status = serializers.CharField()
    statusMessage = serializers.CharField()  # noqa: N815


class TransferSerializer(serializers.Serializer):
    """POST body of a product instance's transfer."""

    virtualAccount = serializers.CharField(max_length=100)  # noqa: N815


class TokenInfoResponseSerializer(serializers.Serializer):
    """Answer of POST tokens, in the Smart Licensing API's envelope."""

    status = serializers.CharField()
    statusMessage = serializers.CharField()  # noqa: N815
    tokenInfo = TokenInfoSerializer()  # noqa: N815


class TokenListSerializer(serializers.Serializer):
    """Answer of GET tokens, in the Smart Licensing API's envelope."""

    status = serializers.CharField()
    statusMessage = serializers.CharField()  # noqa: N815
    tokens = TokenInfoSerializer(many=True)


class ProductInstanceSerializer(serializers.Serializer):
    """One product instance."""

    instanceId = serializers.UUIDField(source="uuid")  # noqa: N815
    name = serializers.CharField()
    udiPid = serializers.CharField(source="udi_pid")  # noqa: N815
    udiSerialNumber = serializers.CharField(source="udi_sn")  # noqa: N815
    hostname = serializers.CharField()
    productType = serializers.CharField(source="product_type")  # noqa: N815
    softwareVersion = serializers.CharField(source="software_version")  # noqa: N815
    lastContactDate = serializers.DateTimeField(source="last_contact")  # noqa: N815
    outOfCompliance = serializers.BooleanField(source="out_of_compliance")  # noqa: N815


class ProductInstanceListSerializer(serializers.Serializer):
    """Answer of GET product-instances."""

    totalRecords = serializers.IntegerField()  # noqa: N815
    productInstances = ProductInstanceSerializer(many=True)  # noqa: N815


class LicenseSerializer(serializers.Serializer):
    """One row of the Licenses tab."""

    license = serializers.CharField(source="name")
    tag = serializers.CharField()
    billing = serializers.CharField()
    purchased = serializers.IntegerField()
    inUse = serializers.IntegerField(source="in_use")  # noqa: N815
    substitution = serializers.IntegerField()
    balance = serializers.IntegerField()
    alert = serializers.CharField()


class LicenseListSerializer(serializers.Serializer):
    """Answer of GET licenses."""

    licenses = LicenseSerializer(many=True)
