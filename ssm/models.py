"""Server-wide settings (Settings widget)."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from .choices import MailSecurity


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

    def __str__(self):
        return f"{self.host}:{self.port}" if self.host else "no SMTP server"
