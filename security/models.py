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


class BrowserCertificateRequest(models.Model):
    """A certificate signing request for the HTTPS server; its private key stays on the server."""

    common_name = models.CharField(max_length=253)
    subject_alternative_names = models.JSONField(default=list, blank=True)
    organization = models.CharField(max_length=128, blank=True)
    organizational_unit = models.CharField(max_length=128, blank=True)
    locality = models.CharField(max_length=128, blank=True)
    state = models.CharField(max_length=128, blank=True)
    country = models.CharField(max_length=2, blank=True)
    csr_pem = models.TextField()
    public_key_sha256 = models.CharField(max_length=64)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    installed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"CSR {self.common_name}"


class CACertificate(models.Model):
    """A trusted certificate authority (uploaded, or part of an installed certificate chain)."""

    subject = models.CharField(max_length=500)
    issuer = models.CharField(max_length=500)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    fingerprint_sha256 = models.CharField(max_length=64, unique=True)
    pem = models.TextField()
    added = models.DateTimeField(auto_now_add=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["subject", "id"]
        verbose_name = "CA certificate"

    def __str__(self) -> str:
        return self.subject
