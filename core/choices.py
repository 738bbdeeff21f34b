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


class SyslogTransport(models.TextChoices):
    """How events travel to a remote syslog server (TCP and TLS: RFC 6587 octet counting)."""

    UDP = "udp", "UDP"
    TCP = "tcp", "TCP"
    TLS = "tls", "TLS"


class SyslogFacility(models.IntegerChoices):
    """RFC 5424 facility of the forwarded messages."""

    USER = 1, "user"
    AUTH = 4, "auth"
    AUTHPRIV = 10, "authpriv"
    LOCAL0 = 16, "local0"
    LOCAL1 = 17, "local1"
    LOCAL2 = 18, "local2"
    LOCAL3 = 19, "local3"
    LOCAL4 = 20, "local4"
    LOCAL5 = 21, "local5"
    LOCAL6 = 22, "local6"
    LOCAL7 = 23, "local7"


class SyslogSeverity(models.IntegerChoices):
    """RFC 5424 severity; a server receives the events at or above the one it chose."""

    ERROR = 3, "Error"
    WARNING = 4, "Warning"
    NOTICE = 5, "Notice"
    INFORMATIONAL = 6, "Informational"
