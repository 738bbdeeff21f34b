"""Data of the mock Cisco Software Central."""

import secrets
import uuid

from django.db import models


class SmartAccount(models.Model):
    """A customer's Smart Account."""

    name = models.CharField(max_length=100, unique=True)
    domain = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class VirtualAccount(models.Model):
    """A Virtual Account inside a Smart Account; it holds the purchased entitlements."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    smart_account = models.ForeignKey(
        SmartAccount, on_delete=models.CASCADE, related_name="virtual_accounts"
    )
    name = models.CharField(max_length=100)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)

    class Meta:
        ordering = ["smart_account__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["smart_account", "name"], name="csc_va_unique")
        ]

    def __str__(self) -> str:
        return f"{self.smart_account.name} / {self.name}"


class Entitlement(models.Model):
    """A purchased license in a virtual account."""

    virtual_account = models.ForeignKey(
        VirtualAccount, on_delete=models.CASCADE, related_name="entitlements"
    )
    name = models.CharField(max_length=200)
    tag = models.CharField("Entitlement tag", max_length=200)
    billing = models.CharField(max_length=32, default="Prepaid")
    quantity = models.PositiveIntegerField(default=0)
    product_type = models.CharField(max_length=32)

    class Meta:
        ordering = ["virtual_account", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["virtual_account", "tag"], name="csc_entitlement_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} × {self.quantity}"

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "tag": self.tag,
            "billing": self.billing,
            "quantity": self.quantity,
            "product_type": self.product_type,
        }


class ClassicLicense(models.Model):
    """A classic (PAK) license of a virtual account, not yet converted to Smart Licensing."""

    virtual_account = models.ForeignKey(
        VirtualAccount, on_delete=models.CASCADE, related_name="classic_licenses"
    )
    pak = models.CharField("PAK", max_length=32)
    name = models.CharField(max_length=200)
    tag = models.CharField("Entitlement tag of its Smart equivalent", max_length=200)
    product_type = models.CharField(max_length=32)
    quantity = models.PositiveIntegerField(default=0, help_text="Not converted yet")

    class Meta:
        ordering = ["pak", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["virtual_account", "pak", "tag"], name="csc_classic_license_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.pak} {self.name} × {self.quantity}"

    def as_dict(self) -> dict:
        return {
            "pak": self.pak,
            "name": self.name,
            "tag": self.tag,
            "product_type": self.product_type,
            "quantity": self.quantity,
        }


def _registration_id() -> str:
    return uuid.uuid4().hex


def _secret() -> str:
    return secrets.token_urlsafe(32)


class Registration(models.Model):
    """A local account of an on-prem server bound to a virtual account (one per virtual account)."""

    registration_id = models.CharField(max_length=64, unique=True, default=_registration_id)
    virtual_account = models.OneToOneField(
        VirtualAccount, on_delete=models.CASCADE, related_name="registration"
    )
    local_account = models.CharField(max_length=100)
    satellite_name = models.CharField(max_length=100)
    server_id = models.CharField(max_length=64)
    secret = models.CharField(max_length=128, default=_secret)
    created = models.DateTimeField(auto_now_add=True)
    last_synchronized = models.DateTimeField(null=True, blank=True)
    synchronizations = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.local_account} @ {self.satellite_name} → {self.virtual_account}"


class ReportedProductInstance(models.Model):
    """A product instance as last uploaded by the on-prem server."""

    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="product_instances"
    )
    name = models.CharField(max_length=300)
    product_type = models.CharField(max_length=32, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReportedUsage(models.Model):
    """License usage as last uploaded by the on-prem server."""

    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="usage")
    tag = models.CharField(max_length=200)
    count = models.IntegerField(default=0)

    class Meta:
        ordering = ["tag"]

    def __str__(self) -> str:
        return f"{self.tag}: {self.count}"


class Fault(models.Model):
    """An injected failure for tests and demonstrations (one row; mode "none" = healthy)."""

    class Mode(models.TextChoices):
        NONE = "none", "None (healthy)"
        SLOW = "slow", "Slow answers"
        SERVER_ERROR = "server_error", "HTTP 503 errors"
        BAD_SIGNATURE = "bad_signature", "Answers with a bad signature"

    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.NONE)
    delay = models.FloatField(default=0.0, help_text="Seconds to wait in slow mode.")

    def __str__(self) -> str:
        return self.get_mode_display()

    @classmethod
    def current(cls) -> "Fault":
        return cls.objects.filter(pk=1).first() or cls(pk=1)
