"""Models of the accounts app."""

from django.conf import settings
from django.db import models

from .choices import EventCategory, EventResult


class Event(models.Model):
    """One audited change: who did what, when, and with which result (the Event Log)."""

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    category = models.CharField(max_length=32, choices=EventCategory.choices)
    action = models.CharField(max_length=64)
    message = models.TextField()
    result = models.CharField(max_length=16, choices=EventResult.choices, default=EventResult.SUCCESS)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["category", "-created"])]

    def __str__(self) -> str:
        return f"{self.created:%Y-%b-%d %H:%M:%S} {self.category} {self.action}"
