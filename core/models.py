"""Ground-floor models: the event log, the server-wide mail settings and the log level."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from .choices import (
    EventCategory,
    EventResult,
    LogLevel,
    MailSecurity,
    SyslogFacility,
    SyslogSeverity,
    SyslogTransport,
)


class Event(models.Model):
    """One audited change: who did what, when, and with which result (the Event Log)."""

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    category = models.CharField(max_length=32, choices=EventCategory.choices)
    action = models.CharField(max_length=64)
    message = models.TextField()
    result = models.CharField(
        max_length=16, choices=EventResult.choices, default=EventResult.SUCCESS
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True)
    data = models.JSONField(default=dict, blank=True)
    account = models.ForeignKey(
        "accounts.LocalAccount",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
        help_text="The local account the event concerns, if any.",
    )

    class Meta:
        db_table = "accounts_event"  # the table predates the core app
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["category", "-created"], name="accounts_ev_categor_0d117c_idx")
        ]

    def __str__(self) -> str:
        return f"{self.created:%Y-%b-%d %H:%M:%S} {self.category} {self.action}"

    @property
    def result_enum(self) -> EventResult:
        return EventResult(self.result)


class MailServer(models.Model):
    """The SMTP server notification e-mails go through (Settings → Email); a single row.

    Without a server the e-mails are written to the log instead.
    """

    host = models.CharField("SMTP Server", max_length=253, blank=True)
    port = models.PositiveIntegerField(
        default=25, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    security = models.CharField(
        max_length=10, choices=MailSecurity.choices, default=MailSecurity.NONE
    )
    username = models.CharField(max_length=200, blank=True)
    password_encrypted = models.TextField(blank=True)
    from_address = models.EmailField("From Address", blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "ssm_mailserver"  # the table predates the core app

    def __str__(self):
        return f"{self.host}:{self.port}" if self.host else "no SMTP server"


class LogSetting(models.Model):
    """The log level every process of the server uses, chosen at run time (Support Center →
    Logs); a single row. Without it, LOG_LEVEL from the environment."""

    level = models.CharField(max_length=8, choices=LogLevel.choices, default=LogLevel.INFO)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Log level {self.level}"


class SyslogServer(models.Model):
    """A remote syslog server every event-log entry is forwarded to (Settings → Syslog), as
    RFC 5424 messages over UDP, TCP or TLS. `last_event_id` is how far it got: the event log
    itself is the queue, so events wait while the server is down and nothing is lost."""

    host = models.CharField(max_length=253)
    port = models.PositiveIntegerField(
        default=514, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    transport = models.CharField(
        max_length=8, choices=SyslogTransport.choices, default=SyslogTransport.UDP
    )
    facility = models.PositiveSmallIntegerField(
        choices=SyslogFacility.choices, default=SyslogFacility.LOCAL0
    )
    severity = models.PositiveSmallIntegerField(
        choices=SyslogSeverity.choices,
        default=SyslogSeverity.INFORMATIONAL,
        help_text="Forward events of this severity and above.",
    )
    ca_certificate = models.TextField(
        blank=True, help_text="TLS: the CA of the server's certificate (PEM); else the system's."
    )
    last_event_id = models.BigIntegerField(default=0)
    last_sent = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["host", "port"]
        constraints = [
            models.UniqueConstraint(
                fields=["host", "port", "transport"], name="core_syslog_server_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.host}:{self.port}/{self.transport}"


class TimeSetting(models.Model):
    """Settings → Time (one row, both HA nodes): the time zone the workspace shows times in,
    and the NTP servers chrony follows on every node. `generation` changes with the servers,
    so a node can tell it has not applied them yet."""

    time_zone = models.CharField(max_length=64, default="UTC")
    ntp_servers = models.TextField(blank=True, help_text="One host (or host:port) per line.")
    generation = models.CharField(max_length=32, blank=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.time_zone}; NTP {', '.join(self.servers) or 'none'}"

    @property
    def servers(self) -> list[str]:
        return [line.strip() for line in self.ntp_servers.splitlines() if line.strip()]
