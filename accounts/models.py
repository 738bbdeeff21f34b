"""Models of the accounts app: local accounts, their requests, roles and purchased licenses."""

import datetime as dt
import uuid

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q

from .choices import (
    AccountRequestStatus,
    AccountRole,
    AccountStatus,
    SyncMode,
    SystemRole,
)

SYNC_INTERVAL = dt.timedelta(days=30)
DEFAULT_VIRTUAL_ACCOUNT_NAME = "Default"
DEFAULT_VIRTUAL_ACCOUNT_DESCRIPTION = (
    "This is the default virtual account created during company account creation."
)


class Satellite(models.Model):
    """This server's identity towards Cisco Software Central (one row, shared by both HA nodes)."""

    name = models.CharField(max_length=100)
    server_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class CiscoConnection(models.Model):
    """How this server reaches Cisco Software Central: its URL (blank: the CSC_URL setting)
    and the HTTP proxy every call goes through (none when no host); one row, shared by both
    HA nodes. The proxy password is stored encrypted (core.services.seal_secret)."""

    url = models.URLField(
        blank=True,
        validators=[URLValidator(schemes=["https"])],
        verbose_name="Cisco Software Central URL",
    )
    proxy_host = models.CharField(max_length=253, blank=True)
    proxy_port = models.PositiveIntegerField(null=True, blank=True)
    proxy_username = models.CharField(max_length=150, blank=True)
    proxy_password_encrypted = models.TextField(blank=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        via = f" via {self.proxy_host}:{self.proxy_port}" if self.proxy_host else ""
        return f"{self.url or 'CSC_URL'}{via}"


class AccountRequest(models.Model):
    """A request for a new local account, waiting for a system administrator's decision."""

    name = models.CharField("Local Account Name", max_length=100)
    cisco_smart_account = models.CharField("Cisco Smart Account", max_length=100)
    cisco_virtual_account = models.CharField("Cisco Virtual Account", max_length=100)
    notification_email = models.EmailField("Email for Notification")
    status = models.CharField(
        max_length=16, choices=AccountRequestStatus.choices, default=AccountRequestStatus.PENDING
    )
    reason = models.TextField(blank=True, help_text="Why the request was rejected.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_username = models.CharField(max_length=150)
    created = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    account = models.OneToOneField(
        "LocalAccount", null=True, blank=True, on_delete=models.SET_NULL, related_name="request"
    )

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(status="pending"),
                name="account_request_pending_name_unique",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def status_enum(self) -> AccountRequestStatus:
        return AccountRequestStatus(self.status)


class LocalAccount(models.Model):
    """A local account, registered with exactly one Cisco virtual account."""

    name = models.CharField("Local Account Name", max_length=100, unique=True)
    cisco_smart_account = models.CharField("Cisco Smart Account", max_length=100)
    cisco_virtual_account = models.CharField("Cisco Virtual Account", max_length=100)
    notification_email = models.EmailField("Email for Notification")
    description = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=16, choices=AccountStatus.choices, default=AccountStatus.ACTIVE
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_username = models.CharField(max_length=150, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sync_mode = models.CharField(max_length=16, choices=SyncMode.choices, default=SyncMode.NETWORK)
    # Registration with Cisco Software Central.
    csc_registration_id = models.CharField(max_length=64, blank=True)
    csc_secret = models.CharField(max_length=128, blank=True)
    satellite_name = models.CharField("Satellite Name", max_length=100, blank=True)
    # Outcome of synchronizations (the Synchronization widget's columns).
    last_synchronized = models.DateTimeField("Last Synchronization", null=True, blank=True)
    last_sync_attempt = models.DateTimeField(null=True, blank=True)
    last_sync_ok = models.BooleanField(null=True, blank=True)
    sync_alert = models.CharField("Alerts", max_length=300, blank=True)
    csc_account_state = models.CharField(max_length=32, blank=True)
    # Preferences: RUM reports through the CSLU URL must be signed by the product's ID key
    # unless an Account Administrator allows unsigned ones (products that cannot sign).
    accept_unsigned_rum_reports = models.BooleanField("Accept unsigned RUM reports", default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["cisco_smart_account", "cisco_virtual_account"],
                name="local_account_one_per_cisco_virtual_account",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def status_enum(self) -> AccountStatus:
        return AccountStatus(self.status)

    @property
    def synchronization_due(self):
        """Last successful synchronization + 30 days (None when never synchronized)."""
        if self.last_synchronized is None:
            return None
        return self.last_synchronized + SYNC_INTERVAL

    @property
    def default_virtual_account(self) -> "VirtualAccount":
        return self.virtual_accounts.get(is_default=True)


class VirtualAccount(models.Model):
    """A local virtual account inside a local account; every account starts with "Default"."""

    account = models.ForeignKey(
        LocalAccount, on_delete=models.CASCADE, related_name="virtual_accounts"
    )
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    is_default = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="virtual_account_name_unique"),
            models.UniqueConstraint(
                fields=["account"], condition=Q(is_default=True), name="virtual_account_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account.name} / {self.name}"


class UserProfile(models.Model):
    """A user's system role (a Django superuser is always a System Administrator) and a pending
    one-time password."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ssm_profile"
    )
    system_role = models.CharField(
        max_length=32, choices=SystemRole.choices, default=SystemRole.SYSTEM_USER
    )
    one_time_password = models.CharField(
        max_length=256,
        blank=True,
        help_text="The password hash an administrator's reset set: while it is still the "
        "user's password, the user must choose a new one before anything else.",
    )

    def __str__(self) -> str:
        return f"{self.user} ({self.get_system_role_display()})"


class AccountMembership(models.Model):
    """A user's role in one local account (Access Management)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_memberships"
    )
    account = models.ForeignKey(LocalAccount, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=AccountRole.choices)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="account_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.account} ({self.get_role_display()})"

    @property
    def role_enum(self) -> AccountRole:
        return AccountRole(self.role)


class PurchasedLicense(models.Model):
    """An entitlement purchased in Cisco Software Central, as last synchronized (Purchased)."""

    account = models.ForeignKey(
        LocalAccount, on_delete=models.CASCADE, related_name="purchased_licenses"
    )
    virtual_account = models.ForeignKey(
        VirtualAccount, on_delete=models.CASCADE, related_name="purchased_licenses"
    )
    name = models.CharField("License", max_length=200)
    tag = models.CharField("Entitlement Tag", max_length=200)
    billing = models.CharField(max_length=32, default="Prepaid")
    quantity = models.IntegerField("Purchased")
    product_type = models.CharField(max_length=32)
    synchronized = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["virtual_account", "tag"], name="purchased_license_tag_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} × {self.quantity}"
