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


class ResynchronizationRequired(models.Model):
    """A local account that must synchronize after the Host Common Name changed.

    The row goes away when the account's synchronization has the product certificate
    re-issued for the new name.
    """

    account = models.OneToOneField(
        "accounts.LocalAccount", on_delete=models.CASCADE, related_name="resynchronization"
    )
    common_name = models.CharField(max_length=253)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.account} → {self.common_name}"


class PasswordPolicy(models.Model):
    """The Account Password policy (one row, pk=1): length, reuse, expiry and lockout."""

    min_length = models.PositiveSmallIntegerField("Minimum length", default=12)
    history = models.PositiveSmallIntegerField(
        "Passwords remembered", default=5, help_text="A new password may not be one of these."
    )
    max_age_days = models.PositiveSmallIntegerField(
        "Expires after (days)", default=90, help_text="0: passwords do not expire."
    )
    lockout_threshold = models.PositiveSmallIntegerField("Failed log-ins before lockout", default=5)
    lockout_minutes = models.PositiveSmallIntegerField(
        "Lockout duration (minutes)",
        default=15,
        help_text="0: locked until an administrator unlocks the user.",
    )
    changed = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "password policy"
        verbose_name_plural = "password policy"

    def __str__(self) -> str:
        return "Account Password policy"


class PasswordHistory(models.Model):
    """A password a user has had (as its hash), for the reuse rule and expiry."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="password_history"
    )
    encoded = models.CharField(max_length=256)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name_plural = "password history"

    def __str__(self) -> str:
        return f"{self.user} {self.created:%Y-%m-%d}"


class DirectorySettings(models.Model):
    """Security → Authentication: log-in with an LDAP or Active Directory server, and which
    directory groups give which roles; a single row. Local users keep logging in as before."""

    enabled = models.BooleanField(default=False)
    server_uri = models.CharField(
        "Server URL", max_length=500, blank=True, help_text="ldap://host:389 or ldaps://host:636"
    )
    start_tls = models.BooleanField("StartTLS", default=False)
    ca_certificate = models.TextField(
        "CA Certificate", blank=True, help_text="PEM; verifies the server's certificate"
    )
    bind_dn = models.CharField("Bind DN", max_length=500, blank=True)
    bind_password_encrypted = models.TextField(blank=True)
    user_search_base = models.CharField("User Search Base", max_length=500, blank=True)
    user_filter = models.CharField(
        "User Filter",
        max_length=500,
        default="(uid=%(user)s)",
        help_text="%(user)s is the name typed at log-in; Active Directory: "
        "(sAMAccountName=%(user)s)",
    )
    group_search_base = models.CharField("Group Search Base", max_length=500, blank=True)
    group_mappings = models.TextField(
        "Group Mappings", blank=True,
        help_text="One per line: GROUP DN => System Administrator | System Operator | System "
        "User, or GROUP DN => ACCOUNT NAME: Account Administrator | Account User | Account Viewer",
    )  # fmt: skip
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "directory settings"
        verbose_name_plural = "directory settings"

    def __str__(self) -> str:
        return self.server_uri or "directory log-in"
