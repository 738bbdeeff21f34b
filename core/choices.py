"""Enums every app shares: the event log's, the mail server's, and the badge colour helper."""

from django.core.exceptions import ImproperlyConfigured
from django.db import models


def badge_colours(colours: dict[str, str]):
    """Class decorator: each member of the enum gets `colour`, its Bootstrap badge colour."""

    def apply(enum):
        missing = {member.value for member in enum} - colours.keys()
        if missing:
            raise ImproperlyConfigured(f"{enum.__name__}: no badge colour for {sorted(missing)}")
        enum.colour = property(lambda member: colours[member.value])
        return enum

    return apply


class MailSecurity(models.TextChoices):
    """How the connection to the SMTP server is protected."""

    NONE = "none", "None"
    STARTTLS = "starttls", "STARTTLS"
    TLS = "tls", "SSL/TLS"


class LogLevel(models.TextChoices):
    """How much the server's processes log (Support Center → Logs)."""

    DEBUG = "DEBUG", "Debug"
    INFO = "INFO", "Info"
    WARNING = "WARNING", "Warning"
    ERROR = "ERROR", "Error"


class EventCategory(models.TextChoices):
    """Which part of the product an event-log entry belongs to."""

    ACCOUNT = "account", "Account"
    USER = "user", "User"
    SYNCHRONIZATION = "synchronization", "Synchronization"
    LICENSING = "licensing", "Licensing"
    SECURITY = "security", "Security"
    HIGH_AVAILABILITY = "high_availability", "High Availability"
    SYSTEM = "system", "System"


@badge_colours(
    {"success": "success", "failure": "danger", "info": "secondary", "noncompliant": "warning"}
)
class EventResult(models.TextChoices):
    """Outcome of the audited action (a product's authorization or usage beyond what is
    purchased is answered, but Out of Compliance)."""

    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"
    INFO = "info", "Info"
    NONCOMPLIANT = "noncompliant", "Out of Compliance"
