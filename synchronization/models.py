"""Models of the synchronization app: one row per synchronization job."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.choices import SyncMode
from accounts.models import LocalAccount

from .choices import SyncScope, SyncStatus, SyncTrigger


class Synchronization(models.Model):
    """One synchronization of a local account with CSC: a tracked job with progress and log."""

    account = models.ForeignKey(
        LocalAccount, on_delete=models.CASCADE, related_name="synchronizations"
    )
    mode = models.CharField(max_length=16, choices=SyncMode.choices, default=SyncMode.NETWORK)
    trigger = models.CharField(
        max_length=16, choices=SyncTrigger.choices, default=SyncTrigger.ON_DEMAND
    )
    status = models.CharField(max_length=16, choices=SyncStatus.choices, default=SyncStatus.QUEUED)
    scope = models.CharField(max_length=16, choices=SyncScope.choices, default=SyncScope.FULL)
    progress = models.PositiveSmallIntegerField(default=0)
    log = models.JSONField(default=list, blank=True)
    error = models.CharField(max_length=300, blank=True)
    nonce = models.CharField(
        max_length=64,
        blank=True,
        db_index=True,
        help_text="Pairs a sync request with its response.",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "accounts_synchronization"  # the table predates this app
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status__in=["queued", "running"]),
                name="synchronization_one_active_per_account",
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.get_status_display()} {self.created:%Y-%b-%d %H:%M:%S}"

    @property
    def status_enum(self) -> SyncStatus:
        return SyncStatus(self.status)
