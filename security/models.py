"""Models of the security app."""

from django.conf import settings
from django.db import models


class HostCommonName(models.Model):
    """The name products and browsers use to reach this server (one row, pk=1)."""

    name = models.CharField(max_length=253)
    previous = models.CharField(max_length=253, blank=True)
    changed = models.DateTimeField(auto_now=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "Host Common Name"

    def __str__(self) -> str:
        return self.name
