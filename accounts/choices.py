"""Status enums of the accounts app, each with a label and a badge colour."""

from django.db import models

from core.choices import badge_colours


@badge_colours({"pending": "warning", "approved": "success", "rejected": "danger"})
class AccountRequestStatus(models.TextChoices):
    """Where an account request stands."""

    PENDING = "pending", "Pending Approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


@badge_colours(
    {"active": "success", "inactive": "secondary", "deactivated": "danger", "deleting": "warning"}
)
class AccountStatus(models.TextChoices):
    """State of a local account (one registered with Cisco Software Central): Inactive when
    CSC says so, Deactivated by a system administrator here (products refused, no
    synchronization) until reactivated."""

    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    DEACTIVATED = "deactivated", "Deactivated"
    DELETING = "deleting", "Deleting"


class SyncMode(models.TextChoices):
    """How a local account synchronizes with Cisco Software Central."""

    NETWORK = "network", "Network"
    MANUAL = "manual", "Manual"


@badge_colours({"system_admin": "danger", "system_operator": "warning", "system_user": "secondary"})
class SystemRole(models.TextChoices):
    """A user's role over the whole server."""

    SYSTEM_ADMIN = "system_admin", "System Administrator"
    SYSTEM_OPERATOR = "system_operator", "System Operator"
    SYSTEM_USER = "system_user", "System User"


@badge_colours({"account_admin": "primary", "account_user": "info", "account_viewer": "secondary"})
class AccountRole(models.TextChoices):
    """A user's role in one local account."""

    ACCOUNT_ADMIN = "account_admin", "Account Administrator"
    ACCOUNT_USER = "account_user", "Account User"
    ACCOUNT_VIEWER = "account_viewer", "Account Viewer"
