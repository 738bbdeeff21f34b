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


class TokenInfoResponseSerializer(StatusSerializer):
    """Answer of POST tokens, in the Smart Licensing API's envelope."""

    tokenInfo = TokenInfoSerializer()  # noqa: N815


class TokenListSerializer(StatusSerializer):
    """Answer of GET tokens, in the Smart Licensing API's envelope."""

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


class VirtualAccountLicenseSerializer(serializers.Serializer):
    """One license's figures in one local virtual account."""

    virtualAccount = serializers.CharField(source="virtual_account")  # noqa: N815
    purchased = serializers.IntegerField()
    inUse = serializers.IntegerField(source="in_use")  # noqa: N815
    balance = serializers.IntegerField()


class AccountLicenseSerializer(serializers.Serializer):
    """One license over the whole local account, and per virtual account."""

    license = serializers.CharField(source="name")
    tag = serializers.CharField()
    billing = serializers.CharField()
    purchased = serializers.IntegerField()
    inUse = serializers.IntegerField(source="in_use")  # noqa: N815
    balance = serializers.IntegerField()
    virtualAccounts = VirtualAccountLicenseSerializer(many=True, source="virtual_accounts")  # noqa: N815


class AccountLicenseListSerializer(StatusSerializer):
    """Answer of GET accounts/{account}/licenses."""

    licenses = AccountLicenseSerializer(many=True)


class LicenseTransferItemSerializer(serializers.Serializer):
    """One license to move (the Smart Licensing API's shape; licenseType and precedence are
    accepted and have no effect: licenses here have no term)."""

    license = serializers.CharField(max_length=200, help_text="License name or entitlement tag")
    quantity = serializers.IntegerField(min_value=1, max_value=10**9)
    targetVirtualAccount = serializers.CharField(max_length=100)  # noqa: N815
    licenseType = serializers.CharField(max_length=32, required=False)  # noqa: N815
    precedence = serializers.CharField(max_length=32, required=False)


class LicenseTransferSerializer(serializers.Serializer):
    """POST body of licenses/transfer: every item moves, or none."""

    licenses = LicenseTransferItemSerializer(many=True, min_length=1, max_length=100)


class LicenseTransactionSerializer(serializers.Serializer):
    """One License Transaction (Activity)."""

    time = serializers.DateTimeField(source="created")
    type = serializers.CharField(source="get_kind_display")
    license = serializers.CharField(source="license_name")
    tag = serializers.CharField()
    quantity = serializers.IntegerField()
    fromVirtualAccount = serializers.CharField(source="source")  # noqa: N815
    toVirtualAccount = serializers.CharField(source="target")  # noqa: N815
    productInstance = serializers.CharField(source="instance_name")  # noqa: N815
    user = serializers.CharField(source="username")


class LicenseTransferResponseSerializer(StatusSerializer):
    """Answer of licenses/transfer: the License Transactions made."""

    transactions = LicenseTransactionSerializer(many=True)


class LicenseTransactionListSerializer(serializers.Serializer):
    """Answer of GET license-transactions."""

    totalRecords = serializers.IntegerField()  # noqa: N815
    transactions = LicenseTransactionSerializer(many=True)


class VirtualAccountSerializer(serializers.Serializer):
    """One local virtual account."""

    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    isDefault = serializers.BooleanField(source="is_default", read_only=True)  # noqa: N815
    created = serializers.DateTimeField(read_only=True)


class VirtualAccountListSerializer(StatusSerializer):
    """Answer of GET virtual-accounts."""

    virtualAccounts = VirtualAccountSerializer(many=True)  # noqa: N815


class VirtualAccountResponseSerializer(StatusSerializer):
    """Answer of POST virtual-accounts."""

    virtualAccount = VirtualAccountSerializer()  # noqa: N815


class UsageSerializer(serializers.Serializer):
    """One license one product instance uses."""

    virtualAccount = serializers.CharField()  # noqa: N815
    productInstance = serializers.CharField()  # noqa: N815
    instanceId = serializers.UUIDField()  # noqa: N815
    license = serializers.CharField()
    tag = serializers.CharField()
    count = serializers.IntegerField()
    status = serializers.CharField()
    lastContactDate = serializers.DateTimeField()  # noqa: N815


class UsageListSerializer(serializers.Serializer):
    """Answer of GET usage."""

    totalRecords = serializers.IntegerField()  # noqa: N815
    usage = UsageSerializer(many=True)


class EventSerializer(serializers.Serializer):
    """One entry of the account's Event Log."""

    time = serializers.DateTimeField(source="created")
    category = serializers.CharField(source="get_category_display")
    action = serializers.CharField()
    message = serializers.CharField()
    user = serializers.CharField(source="username")
    result = serializers.CharField(source="get_result_display")


class EventListSerializer(serializers.Serializer):
    """Answer of GET events."""

    totalRecords = serializers.IntegerField()  # noqa: N815
    events = EventSerializer(many=True)


class AlertSerializer(serializers.Serializer):
    """One open alert of a local account."""

    key = serializers.CharField(help_text="Names the alert; it changes when the alert worsens")
    type = serializers.CharField(source="kind.label")
    severity = serializers.CharField()
    virtualAccount = serializers.CharField(source="virtual_account")  # noqa: N815
    message = serializers.CharField()


class AlertListSerializer(StatusSerializer):
    """Answer of GET alerts."""

    alerts = AlertSerializer(many=True)
