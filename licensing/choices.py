"""Status enums of the licensing app, each with a label and a badge colour."""

from django.db import models

from core.choices import badge_colours


@badge_colours(
    {"active": "success", "revoked": "secondary", "expired": "warning", "exhausted": "warning"}
)
class TokenStatus(models.TextChoices):
    """Whether a registration token may still register products."""

    ACTIVE = "active", "Active"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"
    EXHAUSTED = "exhausted", "Exhausted"


@badge_colours({"registered": "success", "deregistered": "secondary", "removed": "secondary"})
class InstanceStatus(models.TextChoices):
    """A product instance is registered until it deregisters or is removed."""

    REGISTERED = "registered", "Registered"
    DEREGISTERED = "deregistered", "Deregistered"
    REMOVED = "removed", "Removed"


@badge_colours(
    {"AUTHORIZED": "success", "OUT_OF_COMPLIANCE": "danger", "NOT_AUTHORIZED": "secondary"}
)
class AuthorizationStatus(models.TextChoices):
    """The answer to one entitlement of an authorization request."""

    AUTHORIZED = "AUTHORIZED", "Authorized"
    OUT_OF_COMPLIANCE = "OUT_OF_COMPLIANCE", "Out of Compliance"
    NOT_AUTHORIZED = "NOT_AUTHORIZED", "Not Authorized"


@badge_colours({"OPEN": "warning", "CLOSED": "info", "ACK": "success"})
class ReportState(models.TextChoices):
    """A Smart Licensing Using Policy RUM report: received, applied, acknowledged."""

    OPEN = "OPEN", "Open"
    CLOSED = "CLOSED", "Closed"
    ACK = "ACK", "Acknowledged"


class MessageType(models.TextChoices):
    """The messages of the Transport Gateway envelope."""

    REGISTER = "register", "Register"
    RENEW = "renew", "Renew"
    AUTHORIZE = "authorize", "Authorize"
    REPORT_USAGE = "reportUsage", "Report Usage"
    DEREGISTER = "deregister", "Deregister"


@badge_colours({"license": "primary", "product_instance": "info"})
class TransactionKind(models.TextChoices):
    """What a License Transaction moved between local virtual accounts."""

    LICENSE = "license", "License Transfer"
    PRODUCT_INSTANCE = "product_instance", "Product Instance Transfer"


@badge_colours({"read": "secondary", "write": "primary"})
class ApiScope(models.TextChoices):
    """What an API client may do in a local account it is granted."""

    READ = "read", "Read"
    WRITE = "write", "Read and write"


@badge_colours(
    {
        "insufficient_licenses": "danger",
        "not_reporting": "warning",
        "token_expiring": "info",
        "certificate_expiring": "warning",
        "sync_failed": "danger",
        "sync_overdue": "warning",
    }
)
class AlertKind(models.TextChoices):
    """The License Workspace's alerts, each one an operator can be e-mailed about."""

    INSUFFICIENT_LICENSES = "insufficient_licenses", "Insufficient Licenses"
    NOT_REPORTING = "not_reporting", "Product Instances Not Reporting"
    TOKEN_EXPIRING = "token_expiring", "Registration Token Expiring"
    CERTIFICATE_EXPIRING = "certificate_expiring", "Certificates Expiring"
    SYNC_FAILED = "sync_failed", "Synchronization Failed"
    SYNC_OVERDUE = "sync_overdue", "Synchronization Overdue"


@badge_colours({"converted": "info", "purchased": "success", "failed": "danger"})
class ConversionStatus(models.TextChoices):
    """A conversion of classic (PAK) licenses to Smart Licensing."""

    CONVERTED = "converted", "Converted (Purchased after the next synchronization)"
    PURCHASED = "purchased", "Purchased"
    FAILED = "failed", "Failed"
