"""What the status enums of every app share: the colour of their badge."""

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
