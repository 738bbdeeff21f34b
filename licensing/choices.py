"""Status enums of the licensing app, each with a label and a badge colour."""

from django.db import models


class TokenStatus(models.TextChoices):
    """Whether a registration token may still register products."""

    ACTIVE = "active", "Active"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"
    EXHAUSTED = "exhausted", "Exhausted"

    @property
    def colour(self) -> str:
        return {
            "active": "success",
            "revoked": "secondary",
            "expired": "warning",
            "exhausted": "warning",
        }[self.value]


class InstanceStatus(models.TextChoices):
    """A product instance is registered until it deregisters or is removed."""

    REGISTERED = "registered", "Registered"
    DEREGISTERED = "deregistered", "Deregistered"
    REMOVED = "removed", "Removed"

    @property
    def colour(self) -> str:
        return {"registered": "success", "deregistered": "secondary", "removed": "secondary"}[
            self.value
        ]


class AuthorizationStatus(models.TextChoices):
    """The answer to one entitlement of an authorization request."""

    AUTHORIZED = "AUTHORIZED", "Authorized"
    OUT_OF_COMPLIANCE = "OUT_OF_COMPLIANCE", "Out of Compliance"
    NOT_AUTHORIZED = "NOT_AUTHORIZED", "Not Authorized"

    @property
    def colour(self) -> str:
        return {
            "AUTHORIZED": "success",
            "OUT_OF_COMPLIANCE": "danger",
            "NOT_AUTHORIZED": "secondary",
        }[self.value]


class ReportState(models.TextChoices):
    """A Smart Licensing Using Policy RUM report: received, applied, acknowledged."""

    OPEN = "OPEN", "Open"
    CLOSED = "CLOSED", "Closed"
    ACK = "ACK", "Acknowledged"

    @property
    def colour(self) -> str:
        return {"OPEN": "warning", "CLOSED": "info", "ACK": "success"}[self.value]


class MessageType(models.TextChoices):
    """The messages of the Transport Gateway envelope."""

    REGISTER = "register", "Register"
    RENEW = "renew", "Renew"
    AUTHORIZE = "authorize", "Authorize"
    REPORT_USAGE = "reportUsage", "Report Usage"
    DEREGISTER = "deregister", "Deregister"
