"""Status enums of the accounts app, each with a label and a badge colour."""

from django.db import models


class EventCategory(models.TextChoices):
    """Which part of the product an event-log entry belongs to."""

    ACCOUNT = "account", "Account"
    USER = "user", "User"
    SYNCHRONIZATION = "synchronization", "Synchronization"
    LICENSING = "licensing", "Licensing"
    SECURITY = "security", "Security"
    HIGH_AVAILABILITY = "high_availability", "High Availability"
    SYSTEM = "system", "System"


class EventResult(models.TextChoices):
    """Outcome of the audited action."""

    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"
    INFO = "info", "Info"

    @property
    def colour(self) -> str:
        return {"success": "success", "failure": "danger", "info": "secondary"}[self.value]
