"""Status enums of the synchronization app, each with a label and a badge colour."""

from django.db import models

from core.choices import badge_colours


@badge_colours(
    {
        "queued": "secondary",
        "running": "info",
        "waiting": "warning",
        "succeeded": "success",
        "failed": "danger",
    }
)
class SyncStatus(models.TextChoices):
    """State of one synchronization job."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting for Response File"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"

    @property
    def is_finished(self) -> bool:
        return self in (SyncStatus.SUCCEEDED, SyncStatus.FAILED)


class SyncTrigger(models.TextChoices):
    """Why a synchronization ran."""

    ON_DEMAND = "on_demand", "On Demand"
    SCHEDULED = "scheduled", "Scheduled"
    APPROVAL = "approval", "After Approval"
    MANUAL_FILE = "manual_file", "Manual File"


class SyncScope(models.TextChoices):
    """What a network synchronization uploads: the product instances changed since the last
    successful synchronization (standard), or every one of them (full)."""

    STANDARD = "standard", "Standard"
    FULL = "full", "Full"
