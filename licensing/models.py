"""Models of the licensing app: the product CA, registration tokens, product instances,
license counters, RUM reports and API Toolkit clients."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .choices import (
    ApiScope,
    ConversionStatus,
    InstanceStatus,
    ReportState,
    TokenStatus,
    TransactionKind,
)


class ProductCA(models.Model):
    """The CA that signs products' ID certificates; its key is encrypted at rest.

    Stored in PostgreSQL so that a standby promoted after failover signs with the same CA.
    Exactly one row is active.
    """

    host_common_name = models.CharField(max_length=255)
    key_pem_encrypted = models.TextField(help_text="PKCS#8 PEM, encrypted with the CA key.")
    certificate_pem = models.TextField()
    chain_pem = models.TextField(blank=True, help_text="Issuers above the CA certificate.")
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=Q(active=True), name="product_ca_one_active"
            )
        ]

    def __str__(self) -> str:
        return f"Product CA for {self.host_common_name}"


class RegistrationTokenQuerySet(models.QuerySet):
    """Registration tokens, optionally with their number of uses."""

    def with_uses(self):
        return self.annotate(use_count=models.Count("instances"))


class RegistrationToken(models.Model):
    """A Product Instance Registration Token of one local virtual account.

    Its uses are the product instances registered with it (no counter on the token row, so
    concurrent registrations with one token do not queue on a row lock; a token with a
    maximum number of uses locks its row while it counts).
    """

    virtual_account = models.ForeignKey(
        "accounts.VirtualAccount", on_delete=models.CASCADE, related_name="registration_tokens"
    )
    token = models.CharField(max_length=128, unique=True)
    description = models.CharField(max_length=200, blank=True)
    expires = models.DateTimeField()
    export_controlled = models.BooleanField("Allow export-controlled functionality", default=False)
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_name = models.CharField("Created By", max_length=150, blank=True)

    objects = RegistrationTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.short_token} ({self.description})"

    @property
    def short_token(self) -> str:
        return f"{self.token[:12]}…"

    @property
    def uses(self) -> int:
        """How many registrations this token made."""
        count = getattr(self, "use_count", None)
        if count is None:
            count = ProductInstance.objects.filter(token_id=self.pk).count()
        return count

    @property
    def status(self) -> TokenStatus:
        if self.revoked is not None:
            return TokenStatus.REVOKED
        if self.expires <= timezone.now():
            return TokenStatus.EXPIRED
        if self.max_uses is not None and self.uses >= self.max_uses:
            return TokenStatus.EXHAUSTED
        return TokenStatus.ACTIVE


class ProductInstance(models.Model):
    """A registered product (one UDI) holding an ID certificate from the product CA."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    virtual_account = models.ForeignKey(
        "accounts.VirtualAccount", on_delete=models.CASCADE, related_name="product_instances"
    )
    name = models.CharField(max_length=300)
    udi_pid = models.CharField("UDI PID", max_length=100)
    udi_sn = models.CharField("UDI SN", max_length=100)
    hostname = models.CharField(max_length=255, blank=True)
    product_type = models.CharField(max_length=64)
    software_version = models.CharField(max_length=64, blank=True)
    token = models.ForeignKey(
        RegistrationToken,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="instances",
    )
    status = models.CharField(
        max_length=16, choices=InstanceStatus.choices, default=InstanceStatus.REGISTERED
    )
    certificate_serial = models.CharField(max_length=64)
    certificate_pem = models.TextField()
    certificate_expires = models.DateTimeField()
    authorization_expires = models.DateTimeField(null=True, blank=True)
    out_of_compliance = models.BooleanField(default=False)
    registered = models.DateTimeField(default=timezone.now)
    last_contact = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["udi_pid", "udi_sn"],
                condition=Q(status="registered"),
                name="product_instance_one_registered_udi",
            )
        ]
        indexes = [
            models.Index(
                fields=["virtual_account", "name"],
                condition=Q(status="registered"),
                name="product_instance_va_name",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def status_enum(self) -> InstanceStatus:
        return InstanceStatus(self.status)


class LicenseUsage(models.Model):
    """How many of one license a product instance uses (from authorization or usage)."""

    instance = models.ForeignKey(ProductInstance, on_delete=models.CASCADE, related_name="usages")
    tag = models.CharField(max_length=200)
    count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=32, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tag"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "tag"], name="license_usage_unique")
        ]

    def __str__(self) -> str:
        return f"{self.instance} {self.tag} × {self.count}"


class LicenseCounter(models.Model):
    """In Use of one license in one local virtual account, kept exact incrementally.

    Every change of a LicenseUsage row adds its delta here inside the same transaction, so
    the Licenses tab never aggregates over usage rows. In Use is the sum over SHARDS rows:
    each database connection adds to its own (its backend's pid modulo SHARDS), so that
    concurrent registrations do not queue for one row held until each commit.
    """

    SHARDS = 16

    virtual_account = models.ForeignKey(
        "accounts.VirtualAccount", on_delete=models.CASCADE, related_name="license_counters"
    )
    tag = models.CharField(max_length=200)
    shard = models.SmallIntegerField(db_default=0)
    in_use = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["tag", "shard"]
        constraints = [
            models.UniqueConstraint(
                fields=["virtual_account", "tag", "shard"], name="license_counter_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.virtual_account} {self.tag} in use {self.in_use}"


class UsedNonce(models.Model):
    """A nonce already seen from a product instance; a second use is a replay."""

    instance = models.ForeignKey(ProductInstance, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64)
    created = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instance", "nonce"], name="used_nonce_unique")
        ]

    def __str__(self) -> str:
        return self.nonce


class RumReport(models.Model):
    """A Smart Licensing Using Policy RUM report posted to the CSLU URL: OPEN when stored,
    CLOSED once its usage is applied, ACK when CSC acknowledged it (by synchronization or
    its file); the acknowledgement goes back to the product on its next report."""

    virtual_account = models.ForeignKey(
        "accounts.VirtualAccount", on_delete=models.CASCADE, related_name="rum_reports"
    )
    report_id = models.CharField(max_length=64)
    udi_pid = models.CharField(max_length=100, blank=True)
    udi_sn = models.CharField(max_length=100, blank=True)
    tag = models.CharField(max_length=200, blank=True)
    count = models.PositiveIntegerField(null=True, blank=True)
    state = models.CharField(max_length=8, choices=ReportState.choices, default=ReportState.OPEN)
    payload = models.JSONField(default=dict)
    received = models.DateTimeField(default=timezone.now)
    closed = models.DateTimeField(null=True, blank=True)
    sent = models.DateTimeField(
        null=True, blank=True, help_text="Sent to CSC (a synchronization, or its file)."
    )
    acknowledged = models.DateTimeField(null=True, blank=True)
    ack_delivered = models.DateTimeField(
        null=True, blank=True, help_text="CSC's acknowledgement handed to the product."
    )

    class Meta:
        ordering = ["-received", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["virtual_account", "udi_pid", "udi_sn", "report_id"],
                name="rum_report_unique",
            )
        ]

    def __str__(self) -> str:
        return f"RUM report {self.report_id}"

    @property
    def state_enum(self) -> ReportState:
        return ReportState(self.state)


class LicenseTransaction(models.Model):
    """A License Transaction (Activity): purchased licenses, or a product instance with its
    usage, moved from one local virtual account of a local account to another."""

    account = models.ForeignKey(
        "accounts.LocalAccount", on_delete=models.CASCADE, related_name="license_transactions"
    )
    kind = models.CharField(max_length=20, choices=TransactionKind.choices)
    tag = models.CharField("Entitlement Tag", max_length=200, blank=True)
    license_name = models.CharField("License", max_length=200, blank=True)
    quantity = models.IntegerField(default=0)
    source = models.CharField("From", max_length=100)
    target = models.CharField("To", max_length=100)
    instance_name = models.CharField("Product Instance", max_length=300, blank=True)
    username = models.CharField("User", max_length=150, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["account", "-created"], name="license_transaction_recent")]

    def __str__(self) -> str:
        kind = self.get_kind_display()
        return f"{kind}: {self.quantity} {self.tag} {self.source} → {self.target}"

    @property
    def kind_enum(self) -> TransactionKind:
        return TransactionKind(self.kind)


class AlertPreferences(models.Model):
    """Preferences of a local account: who is e-mailed about which alerts, after how many
    days a product instance counts as not reporting and a token or certificate as expiring,
    and whether a daily digest of every open alert goes out."""

    account = models.OneToOneField(
        "accounts.LocalAccount", on_delete=models.CASCADE, related_name="alert_preferences"
    )
    recipients = models.CharField(
        "Notification e-mails", max_length=1000, blank=True, help_text="Comma-separated"
    )
    insufficient_licenses = models.BooleanField("Insufficient Licenses", default=True)
    not_reporting = models.BooleanField("Product instances not reporting", default=True)
    not_reporting_days = models.PositiveSmallIntegerField(default=30)
    expiring = models.BooleanField("Tokens and certificates expiring", default=True)
    expiring_days = models.PositiveSmallIntegerField(default=7)
    synchronization = models.BooleanField("Synchronization failed or overdue", default=True)
    sync_overdue_days = models.PositiveSmallIntegerField(default=30)
    daily_digest = models.BooleanField("Daily digest", default=False)
    last_digest = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Preferences of {self.account}"

    def wants(self, kind: str) -> bool:
        """Whether alerts of this kind are e-mailed."""
        if kind in ("token_expiring", "certificate_expiring"):
            return self.expiring
        if kind in ("sync_failed", "sync_overdue"):
            return self.synchronization
        return bool(getattr(self, kind, False))


class AlertState(models.Model):
    """What became of one alert of a local account (by its key): e-mailed, dismissed."""

    account = models.ForeignKey(
        "accounts.LocalAccount", on_delete=models.CASCADE, related_name="alert_states"
    )
    key = models.CharField(max_length=300)
    notified = models.DateTimeField(null=True, blank=True)
    dismissed = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "key"], name="alert_state_unique")
        ]

    def __str__(self) -> str:
        return self.key


class Conversion(models.Model):
    """Convert to Smart Licensing: a quantity of a classic (PAK) license turned into a Smart
    entitlement in CSC; it is Purchased here once a synchronization brings it."""

    account = models.ForeignKey(
        "accounts.LocalAccount", on_delete=models.CASCADE, related_name="conversions"
    )
    pak = models.CharField("PAK", max_length=32)
    tag = models.CharField("Entitlement Tag", max_length=200)
    license_name = models.CharField("License", max_length=200)
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=ConversionStatus.choices)
    error = models.CharField(max_length=300, blank=True)
    username = models.CharField("User", max_length=150, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.pak} {self.tag} × {self.quantity}"

    @property
    def status_enum(self) -> ConversionStatus:
        return ConversionStatus(self.status)

    def status_for(self, account) -> ConversionStatus:
        """Converted turns Purchased once a synchronization ran after it."""
        synced = account.last_synchronized
        if self.status == ConversionStatus.CONVERTED and synced and synced >= self.created:
            return ConversionStatus.PURCHASED
        return self.status_enum


class ApiClient(models.Model):
    """An OAuth2 client (client credentials grant) of the API Toolkit."""

    name = models.CharField(max_length=100)
    client_id = models.CharField(max_length=64, unique=True)
    secret_hash = models.CharField(max_length=128)
    accounts = models.ManyToManyField(
        "accounts.LocalAccount", through="ApiClientGrant", related_name="api_clients"
    )
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ApiClientGrant(models.Model):
    """A local account an API client may use: read (look, like an Account Viewer) or write
    (change, like an Account User)."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="grants")
    account = models.ForeignKey(
        "accounts.LocalAccount", on_delete=models.CASCADE, related_name="api_client_grants"
    )
    scope = models.CharField(max_length=8, choices=ApiScope.choices, default=ApiScope.WRITE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "account"], name="api_client_grant_unique")
        ]

    def __str__(self) -> str:
        return f"{self.client} {self.scope} {self.account}"

    @property
    def scope_enum(self) -> ApiScope:
        return ApiScope(self.scope)


class ApiAccessToken(models.Model):
    """A bearer token issued to an API client; only its hash is stored."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    expires = models.DateTimeField()
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"token of {self.client}"
