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


class AccountRequestStatus(models.TextChoices):
    """Where an account request stands."""

    PENDING = "pending", "Pending Approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"

    @property
    def colour(self) -> str:
        return {"pending": "warning", "approved": "success", "rejected": "danger"}[self.value]


class AccountStatus(models.TextChoices):
    """State of a local account (one registered with Cisco Software Central)."""

    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    DELETING = "deleting", "Deleting"

    @property
    def colour(self) -> str:
        return {"active": "success", "inactive": "secondary", "deleting": "warning"}[self.value]


class SyncMode(models.TextChoices):
    """How a local account synchronizes with Cisco Software Central."""

    NETWORK = "network", "Network"
    MANUAL = "manual", "Manual"


class SyncStatus(models.TextChoices):
    """State of one synchronization job."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting for Response File"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"

    @property
    def colour(self) -> str:
        return {
            "queued": "secondary",
            "running": "info",
            "waiting": "warning",
            "succeeded": "success",
            "failed": "danger",
        }[self.value]

    @property
    def is_finished(self) -> bool:
        return self in (SyncStatus.SUCCEEDED, SyncStatus.FAILED)


class SyncTrigger(models.TextChoices):
    """Why a synchronization ran."""

    ON_DEMAND = "on_demand", "On Demand"
    SCHEDULED = "scheduled", "Scheduled"
    MANUAL_FILE = "manual_file", "Manual File"


class SystemRole(models.TextChoices):
    """A user's role over the whole server."""

    SYSTEM_ADMIN = "system_admin", "System Administrator"
    SYSTEM_OPERATOR = "system_operator", "System Operator"
    SYSTEM_USER = "system_user", "System User"

    @property
    def colour(self) -> str:
        return {"system_admin": "danger", "system_operator": "warning", "system_user": "secondary"}[
            self.value
        ]


class AccountRole(models.TextChoices):
    """A user's role in one local account."""

    ACCOUNT_ADMIN = "account_admin", "Account Administrator"
    ACCOUNT_USER = "account_user", "Account User"
    ACCOUNT_VIEWER = "account_viewer", "Account Viewer"

    @property
    def colour(self) -> str:
        return {"account_admin": "primary", "account_user": "info", "account_viewer": "secondary"}[
            self.value
        ]
