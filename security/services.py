"""State changes of the security app."""

import datetime as dt
import hashlib
import ipaddress
import logging
import os
import re
import signal
import socket
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import verification
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.choices import AccountStatus
from accounts.models import LocalAccount
from core.choices import EventCategory, EventResult
from core.services import record_event

from .models import (
    BrowserCertificateRequest,
    CACertificate,
    HostCommonName,
    LoginLockout,
    PasswordHistory,
    PasswordPolicy,
    ResynchronizationRequired,
)

logger = logging.getLogger(__name__)

SINGLETON = 1


def default_host_common_name() -> str:
    """HOST_COMMON_NAME from the environment, else this server's primary address."""
    configured = getattr(settings, "HOST_COMMON_NAME", "") or os.environ.get("HOST_COMMON_NAME", "")
    if configured:
        return configured.strip().lower()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent; this picks the outgoing address
            return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"


def host_common_name() -> str:
    """The current Host Common Name: what products are configured with to reach this server."""
    row = HostCommonName.objects.filter(pk=SINGLETON).only("name").first()
    return row.name if row else default_host_common_name()


def product_url_port() -> int:
    """The HTTPS port products reach this server on (omitted from URLs when it is 443)."""
    port = getattr(settings, "PRODUCT_URL_PORT", None) or os.environ.get("PRODUCT_URL_PORT")
    if port:
        return int(port)
    bind = os.environ.get("SSM_BIND", "0.0.0.0:8443")
    return int(bind.rsplit(":", 1)[-1])


def _base_url(common_name: str) -> str:
    host = f"[{common_name}]" if ":" in common_name else common_name
    port = product_url_port()
    return f"https://{host}" if port == 443 else f"https://{host}:{port}"


def product_urls(account_name: str, common_name: str | None = None) -> dict[str, str]:
    """The three URLs a product of this local account is configured with."""
    base = _base_url(common_name or host_common_name())
    return {
        "smart_call_home": f"{base}/Transportgateway/services/DeviceRequestHandler",
        "smart_transport": f"{base}/SmartTransport",
        "cslu": f"{base}/cslu/v1/pi/{account_name}-1",
    }


def generate_self_signed(common_name: str, *, days: int = 730, sans=()):
    """A new EC P-256 key and a self-signed certificate for it, as PEM bytes."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    alt = []
    for value in (common_name, *sans):
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(value)))
        except ValueError:
            alt.append(x509.DNSName(value))
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def ensure_browser_certificate(directory: Path, common_name: str = "localhost") -> bool:
    """Create the default self-signed Browser Certificate if none exists; True when created."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "browser.crt", directory / "browser.key"
    if cert_path.exists() and key_path.exists():
        return False
    key_pem, cert_pem = generate_self_signed(common_name, sans=("127.0.0.1",))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_pem)
    cert_path.write_bytes(cert_pem)
    return True


# --- Host Common Name ------------------------------------------------------------------

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def dual_stack() -> bool:
    """True when the server is deployed with both IPv4 and IPv6 (then the name must be an FQDN)."""
    value = getattr(settings, "NETWORK_DUAL_STACK", None)
    if value is None:
        value = os.environ.get("NETWORK_DUAL_STACK", "false").lower() in ("1", "true", "yes")
    return bool(value)


def validate_host_common_name(value: str, *, dual: bool | None = None) -> str:
    """The name normalised (lower case, no dot at the end), or a ValidationError saying why not."""
    name = (value or "").strip().lower().rstrip(".")
    if not name:
        raise ValidationError(
            "Enter the Host Common Name: an IP address or a fully qualified domain name."
        )
    dual = dual_stack() if dual is None else dual
    try:
        address = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        if dual:
            raise ValidationError(
                "This server is deployed dual-stack (IPv4 and IPv6): the Host Common Name "
                "must be a fully qualified domain name that resolves to both addresses, "
                "not an IP address."
            )
        if address.is_unspecified or address.is_multicast:
            raise ValidationError(f"{address} is not an address products can reach.")
        return str(address)
    labels = name.split(".")
    if (
        len(name) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValidationError(
            f"“{value.strip()}” is neither an IP address nor a fully qualified domain name "
            "(for example 10.1.1.10 or ssm.example.com)."
        )
    return name


def set_host_common_name(value: str, *, by_user=None) -> HostCommonName:
    """Change the Host Common Name; every local account then needs a re-synchronization."""
    name = validate_host_common_name(value)
    with transaction.atomic():
        row = HostCommonName.objects.select_for_update().filter(pk=SINGLETON).first()
        old = row.name if row else default_host_common_name()
        if name == old:
            return row or HostCommonName.objects.create(pk=SINGLETON, name=name, changed_by=by_user)
        if row is None:
            row = HostCommonName(pk=SINGLETON)
        row.previous, row.name, row.changed_by = old, name, by_user
        row.save()
        flagged = _flag_accounts_for_resynchronization(name)
        record_event(
            EventCategory.SECURITY,
            "host_common_name_changed",
            f"Host Common Name changed from {old} to {name}; "
            f"{flagged} local account(s) require re-synchronization.",
            user=by_user,
            previous=old,
            new=name,
        )
    return row


# --- Browser Certificate ---------------------------------------------------------------


def browser_certificate_paths() -> tuple[Path, Path]:
    """The HTTPS server's certificate (with its chain) and key files."""
    directory = Path(settings.BROWSER_CERT_DIR)
    return directory / "browser.crt", directory / "browser.key"


def _pending_key_path() -> Path:
    return Path(settings.BROWSER_CERT_DIR) / "pending.key"


def _fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def _public_key_id(public_key) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def _sans(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(v) for v in ext.get_values_for_type(x509.DNSName)] + [
        str(v) for v in ext.get_values_for_type(x509.IPAddress)
    ]


def describe_certificate(cert: x509.Certificate) -> dict:
    """What the pages show of a certificate."""
    now = dt.datetime.now(dt.UTC)
    return {
        "common_name": common_name(cert.subject),
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "issuer_common_name": common_name(cert.issuer),
        "subject_alternative_names": _sans(cert),
        "not_before": cert.not_valid_before_utc,
        "not_after": cert.not_valid_after_utc,
        "serial": format(cert.serial_number, "x"),
        "fingerprint_sha256": _fingerprint(cert),
        "self_signed": cert.issuer == cert.subject,
        "expired": cert.not_valid_after_utc < now,
    }


def current_browser_certificate() -> dict | None:
    """The certificate the HTTPS server presents, described; None when the server has none."""
    cert_path, _ = browser_certificate_paths()
    try:
        certs = x509.load_pem_x509_certificates(cert_path.read_bytes())
    except (OSError, ValueError):
        return None
    info = describe_certificate(certs[0])
    info["chain"] = [describe_certificate(c) for c in certs[1:]]
    return info


def _write_private(path: Path, data: bytes) -> None:
    """Write a file readable by this user only, replacing any old one atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def generate_browser_csr(
    common_name: str,
    *,
    subject_alternative_names=(),
    organization="",
    organizational_unit="",
    locality="",
    state="",
    country="",
    by_user=None,
) -> BrowserCertificateRequest:
    """A new key (kept on the server) and a CSR for it, to be signed by the operator's CA."""
    cn = validate_host_common_name(common_name, dual=False) if common_name else ""
    if not cn:
        raise ValidationError("Enter the Common Name the certificate is for.")
    sans = []
    for value in [cn, *subject_alternative_names]:
        value = value.strip()
        if value:
            normalised = validate_host_common_name(value, dual=False)
            if normalised not in sans:
                sans.append(normalised)
    country = (country or "").strip().upper()
    if country and not re.fullmatch(r"[A-Z]{2}", country):
        raise ValidationError("Country must be a two-letter code such as US or JP.")
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    for oid, value in (
        (NameOID.ORGANIZATION_NAME, organization),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, organizational_unit),
        (NameOID.LOCALITY_NAME, locality),
        (NameOID.STATE_OR_PROVINCE_NAME, state),
        (NameOID.COUNTRY_NAME, country),
    ):
        if value and value.strip():
            attributes.append(x509.NameAttribute(oid, value.strip()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name(attributes))
        .add_extension(x509.SubjectAlternativeName([_general_name(v) for v in sans]), False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with transaction.atomic():
        request = BrowserCertificateRequest.objects.create(
            common_name=cn,
            subject_alternative_names=sans,
            organization=organization.strip(),
            organizational_unit=organizational_unit.strip(),
            locality=locality.strip(),
            state=state.strip(),
            country=country,
            csr_pem=csr.public_bytes(serialization.Encoding.PEM).decode(),
            public_key_sha256=_public_key_id(key.public_key()),
            created_by=by_user,
        )
        record_event(
            EventCategory.SECURITY,
            "browser_csr_generated",
            f"Browser Certificate signing request generated for {cn} "
            f"(subject alternative names: {', '.join(sans)}).",
            user=by_user,
            request=request.pk,
        )
        _write_private(_pending_key_path(), key_pem)
    return request


def _general_name(value: str):
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        return x509.DNSName(value)


def load_certificates(pem, what: str) -> list[x509.Certificate]:
    data = pem.encode() if isinstance(pem, str) else (pem or b"")
    if not data.strip():
        return []
    if b"PRIVATE KEY" in data:
        raise ValidationError(
            f"The {what} contains a private key. Upload certificates only; "
            "the key stays on the server."
        )
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ValidationError(
            f"The {what} is not a PEM certificate (-----BEGIN CERTIFICATE-----)."
        ) from None


def _matching_key(cert: x509.Certificate) -> tuple[bytes, bool]:
    """The PEM key this certificate belongs to and whether it is the pending CSR's key."""
    wanted = _public_key_id(cert.public_key())
    _, key_path = browser_certificate_paths()
    for path, pending in ((_pending_key_path(), True), (key_path, False)):
        try:
            key_pem = path.read_bytes()
        except OSError:
            continue
        key = serialization.load_pem_private_key(key_pem, password=None)
        if _public_key_id(key.public_key()) == wanted:
            return key_pem, pending
    raise ValidationError(
        "The certificate does not match the key of the last generated CSR or of the current "
        "Browser Certificate. Generate a CSR here and have that CSR signed."
    )


def verify_chain(cert: x509.Certificate, chain: list[x509.Certificate]) -> list[x509.Certificate]:
    """The path from the certificate to a trusted root, checked by cryptography's verifier.

    Roots are the self-signed certificates of the uploaded chain and the stored CA
    Certificates; every certificate on the path must be valid now and correctly signed.
    """
    now = dt.datetime.now(dt.UTC)
    for c in [cert, *chain]:
        if c.not_valid_after_utc < now:
            raise ValidationError(
                f"The certificate {c.subject.rfc4514_string()} expired on "
                f"{c.not_valid_after_utc:%Y-%b-%d %H:%M:%S} UTC."
            )
        if c.not_valid_before_utc > now:
            raise ValidationError(
                f"The certificate {c.subject.rfc4514_string()} is not valid before "
                f"{c.not_valid_before_utc:%Y-%b-%d %H:%M:%S} UTC."
            )
    if cert.issuer == cert.subject and not chain:
        try:
            cert.verify_directly_issued_by(cert)
        except (ValueError, TypeError, InvalidSignature):
            raise ValidationError("The self-signed certificate's signature is not valid.") from None
        return [cert]
    stored = [
        x509.load_pem_x509_certificate(p.encode())
        for p in CACertificate.objects.values_list("pem", flat=True)
    ]
    roots = [c for c in [*chain, *stored] if c.issuer == c.subject]
    intermediates = [c for c in chain if c.issuer != c.subject]
    if not roots:
        raise ValidationError(
            "The chain is incomplete: include the root CA certificate, or add it under CA "
            "Certificates first."
        )
    sans = _sans(cert)
    if not sans:
        raise ValidationError("The certificate has no subject alternative name; browsers need one.")
    subject = _general_name(sans[0])
    subject = (
        verification.DNSName(sans[0])
        if isinstance(subject, x509.DNSName)
        else verification.IPAddress(ipaddress.ip_address(sans[0]))
    )
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store(roots))
        .time(now)
        .build_server_verifier(subject)
    )
    try:
        return verifier.verify(cert, intermediates)
    except verification.VerificationError as exc:
        raise ValidationError(
            f"The certificate chain is incomplete or not valid: {exc}. Upload the certificate "
            "with every intermediate CA certificate up to the root."
        ) from None


def install_browser_certificate(certificate_pem, chain_pem="", *, by_user=None) -> dict:
    """Check a signed certificate and its chain, then make the HTTPS server present it.

    The certificate must match the key of the last CSR (or the current key), be valid now,
    and lead through the chain to a root. The files are replaced atomically and the web
    server is asked to reload; connections in progress are not dropped.
    """
    certs = load_certificates(certificate_pem, "certificate")
    if not certs:
        raise ValidationError("Upload the signed certificate (PEM).")
    cert, extra = certs[0], certs[1:]
    chain = extra + load_certificates(chain_pem, "certificate chain")
    key_pem, pending = _matching_key(cert)
    path = verify_chain(cert, chain)
    cert_path, key_path = browser_certificate_paths()
    served = [cert, *[c for c in path[1:] if c.issuer != c.subject]]
    info = describe_certificate(cert)
    with transaction.atomic():
        for ca in path[1:]:
            _store_ca_certificate(ca, by_user=by_user, quiet=True)
        if pending:
            BrowserCertificateRequest.objects.filter(
                public_key_sha256=_public_key_id(cert.public_key()), installed__isnull=True
            ).update(installed=timezone.now())
        record_event(
            EventCategory.SECURITY,
            "browser_certificate_installed",
            f"Browser Certificate installed: CN {info['common_name']}, issued by "
            f"{info['issuer_common_name'] or info['issuer']}, valid until "
            f"{info['not_after']:%Y-%b-%d %H:%M:%S} UTC.",
            user=by_user,
            fingerprint=info["fingerprint_sha256"],
        )
        logger.info(
            "Browser Certificate %s (CN %s) written to %s",
            info["fingerprint_sha256"],
            info["common_name"],
            cert_path,
        )
        _write_private(key_path, key_pem)
        cert_path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in served))
        if pending:
            _pending_key_path().unlink(missing_ok=True)
        transaction.on_commit(reload_web_server)
    return info


def reload_web_server() -> bool:
    """Ask the running HTTPS server to pick up a new certificate (granian: SIGHUP).

    On SIGHUP granian starts a new worker, which loads the certificate, before it stops the
    old one, worker by worker; requests in progress finish on the old worker.
    """
    pid_file = Path(
        getattr(settings, "WEB_PID_FILE", "") or Path(settings.SSM_VAR) / "run" / "web.pid"
    )
    try:
        pid = int(pid_file.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return False
    if b"granian" not in cmdline:
        return False
    os.kill(pid, signal.SIGHUP)
    logger.info("Asked the web server (pid %s) to reload its certificate", pid)
    return True


# --- CA Certificates -------------------------------------------------------------------


def _store_ca_certificate(cert: x509.Certificate, *, by_user=None, quiet=False) -> CACertificate:
    fingerprint = _fingerprint(cert)
    existing = CACertificate.objects.filter(fingerprint_sha256=fingerprint).first()
    if existing:
        return existing
    row = CACertificate.objects.create(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        fingerprint_sha256=fingerprint,
        pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        added_by=by_user,
    )
    record_event(
        EventCategory.SECURITY,
        "ca_certificate_added",
        f"CA certificate added: {row.subject}.",
        user=by_user,
        fingerprint=fingerprint,
    )
    return row


def add_ca_certificate(pem, *, by_user=None) -> list[CACertificate]:
    """Trust the CA certificate(s) in this PEM text."""
    certs = load_certificates(pem, "CA certificate")
    if not certs:
        raise ValidationError("Paste or upload a CA certificate (PEM).")
    for cert in certs:
        try:
            constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            constraints = None
        if constraints is None or not constraints.ca:
            raise ValidationError(
                f"{cert.subject.rfc4514_string()} is not a CA certificate "
                "(basic constraints CA:TRUE)."
            )
        if cert.not_valid_after_utc < dt.datetime.now(dt.UTC):
            raise ValidationError(f"{cert.subject.rfc4514_string()} has expired.")
    with transaction.atomic():
        return [_store_ca_certificate(c, by_user=by_user) for c in certs]


def delete_ca_certificate(ca: CACertificate, *, by_user=None) -> None:
    """Stop trusting this CA certificate."""
    with transaction.atomic():
        record_event(
            EventCategory.SECURITY,
            "ca_certificate_deleted",
            f"CA certificate deleted: {ca.subject}.",
            user=by_user,
            fingerprint=ca.fingerprint_sha256,
        )
        ca.delete()


# --- Re-synchronization after a Host Common Name change --------------------------------


class RegistrationRefused(Exception):
    """A product registration this server refuses; `code` and the message go to the product."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _flag_accounts_for_resynchronization(name: str) -> int:
    accounts = LocalAccount.objects.exclude(status=AccountStatus.DELETING)
    for account in accounts:
        ResynchronizationRequired.objects.update_or_create(
            account=account, defaults={"common_name": name}
        )
    return accounts.count()


def resynchronization_required(account) -> bool:
    """True until this account has synchronized since the Host Common Name changed."""
    return ResynchronizationRequired.objects.filter(account=account).exists()


def accounts_requiring_resynchronization():
    """The local accounts still flagged "re-synchronization required"."""
    return LocalAccount.objects.filter(resynchronization__isnull=False).order_by("name")


def resynchronization_account_ids() -> frozenset[int]:
    """Ids of the local accounts flagged "re-synchronization required" (cheap to cache)."""
    return frozenset(ResynchronizationRequired.objects.values_list("account_id", flat=True))


def resynchronization_refusal(account_id: int) -> RegistrationRefused:
    """The refusal a product gets when its account has not synchronized since the change."""
    name = LocalAccount.objects.filter(pk=account_id).values_list("name", flat=True).first()
    return RegistrationRefused(
        "resynchronization_required",
        f"The Host Common Name changed to {host_common_name()}: synchronize local account "
        f"{name} with Cisco Software Central so the product certificate is re-issued, then "
        "register again.",
    )


def clear_resynchronization(account, name: str) -> None:
    """The account synchronized for the Host Common Name `name`: its flag goes, with an event."""
    deleted, _ = ResynchronizationRequired.objects.filter(account=account).delete()
    if deleted:
        record_event(
            EventCategory.SECURITY,
            "product_certificate_resynchronized",
            f"Local account {account.name} synchronized: the product certificate is issued for "
            f"the Host Common Name {name}.",
            account=account,
        )


def _host_only(host: str) -> str:
    host = (host or "").strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def check_registration_name(host: str | None, account=None, *, names=None) -> None:
    """Refuse a product registration addressed to a name this server cannot yet answer for.

    `host` is the name the product used (the Host header; None: the Host Common Name);
    `account` is the token's local account; `names` the (current, previous) Host Common
    Name when the caller has read them already. Raises RegistrationRefused with a message
    for the product's operator.
    """
    if names is None:
        row = HostCommonName.objects.filter(pk=SINGLETON).first()
        names = (row.name, row.previous) if row else (default_host_common_name(), "")
    current, previous = names
    name = current if host is None else _host_only(host)
    if previous and name == previous and name != current:
        urls = product_urls(account.name if account else "<account>", current)
        raise RegistrationRefused(
            "host_common_name_changed",
            f"This server's Host Common Name is now {current}; configure the product with "
            f"{urls['smart_call_home']} and register again.",
        )
    if name == current and account is not None and resynchronization_required(account):
        raise resynchronization_refusal(account.pk)


# --- Account Password policy and lockout -----------------------------------------------


def password_policy() -> PasswordPolicy:
    """The Account Password policy (defaults until an administrator saves one)."""
    return PasswordPolicy.objects.filter(pk=SINGLETON).first() or PasswordPolicy(pk=SINGLETON)


def update_password_policy(*, by_user=None, **values) -> PasswordPolicy:
    """Save the Account Password policy."""
    limits = {
        "min_length": (8, 128),
        "history": (0, 24),
        "max_age_days": (0, 3650),
        "lockout_threshold": (1, 100),
        "lockout_minutes": (0, 10080),
    }
    errors = {}
    for field, (low, high) in limits.items():
        if field in values:
            try:
                values[field] = int(values[field])
            except (TypeError, ValueError):
                errors[field] = "Enter a whole number."
                continue
            if not low <= values[field] <= high:
                errors[field] = f"Enter a number from {low} to {high}."
    unknown = set(values) - set(limits)
    if unknown:
        raise ValueError(f"unknown policy fields {sorted(unknown)}")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        policy = PasswordPolicy.objects.select_for_update().filter(pk=SINGLETON).first()
        policy = policy or PasswordPolicy(pk=SINGLETON)
        for field, value in values.items():
            setattr(policy, field, value)
        policy.save()
        record_event(
            EventCategory.SECURITY,
            "password_policy_changed",
            "Account Password policy changed: "
            + ", ".join(
                f"{PasswordPolicy._meta.get_field(f).verbose_name} {getattr(policy, f)}"
                for f in limits
            ),
            user=by_user,
        )
    return policy


def password_changed_at(user):
    """When the user last set a password (the account's creation when not recorded)."""
    latest = PasswordHistory.objects.filter(user=user).values_list("created", flat=True).first()
    return latest or user.date_joined


def password_expired(user, policy=None) -> bool:
    """True when the policy's maximum age has passed since the user's last password change."""
    policy = policy or password_policy()
    if not policy.max_age_days or not getattr(user, "pk", None):
        return False
    return password_changed_at(user) + dt.timedelta(days=policy.max_age_days) < timezone.now()


def remember_password(user) -> None:
    """Keep the user's new password hash for the reuse rule (the policy's last N only)."""
    if not getattr(user, "pk", None) or not user.password:
        return
    policy = password_policy()
    with transaction.atomic():
        PasswordHistory.objects.create(user=user, encoded=user.password)
        keep = max(policy.history, 1)
        old = PasswordHistory.objects.filter(user=user).values_list("pk", flat=True)[keep:]
        PasswordHistory.objects.filter(pk__in=list(old)).delete()


def is_locked_out(username: str) -> bool:
    """True while this user name is locked after repeated failed log-ins."""
    return LoginLockout.objects.filter(
        username=username.lower(), locked_until__gt=timezone.now()
    ).exists()


def lockout_message(username: str) -> str:
    """What the log-in page says to a locked-out user."""
    row = LoginLockout.objects.filter(username=username.lower()).first()
    if row and row.locked_until and row.locked_until > timezone.now() + dt.timedelta(days=365):
        until = "until an administrator unlocks it"
    elif row and row.locked_until:
        until = (
            f"until {row.locked_until:%Y-%b-%d %H:%M:%S} UTC or until an administrator unlocks it"
        )
    else:
        until = "for a while"
    return f"This user is locked after repeated failed log-ins, {until}."


def record_login_failure(username: str) -> bool:
    """Count a failed log-in; lock the name at the policy's threshold. True when now locked."""
    username = (username or "").lower()[:150]
    if not username:
        return False
    policy = password_policy()
    now = timezone.now()
    with transaction.atomic():
        row, _ = LoginLockout.objects.select_for_update().get_or_create(username=username)
        if row.locked_until and row.locked_until > now:
            return True
        if row.locked_until:  # an expired lockout starts a fresh count
            row.failures, row.locked_until = 0, None
        row.failures += 1
        row.last_failure = now
        locked = row.failures >= policy.lockout_threshold
        if locked:
            minutes = policy.lockout_minutes or 100 * 365 * 24 * 60
            row.locked_until = now + dt.timedelta(minutes=minutes)
            logger.warning("User %s locked after %s failed log-ins", username, row.failures)
            record_event(
                EventCategory.SECURITY,
                "user_locked_out",
                f"User {username} locked after {row.failures} failed log-ins.",
                result=EventResult.FAILURE,
                username=username,
            )
        row.save()
    return locked


def record_login_success(username: str) -> None:
    """A successful log-in clears the failure count."""
    LoginLockout.objects.filter(
        username=(username or "").lower(), locked_until__isnull=True
    ).delete()


def locked_out_users():
    """The user names locked now."""
    return LoginLockout.objects.filter(locked_until__gt=timezone.now())


def unlock_user(username: str, *, by_user=None) -> bool:
    """An administrator unlocks a user name; True when it was locked."""
    username = (username or "").lower()
    with transaction.atomic():
        deleted, _ = LoginLockout.objects.filter(username=username).delete()
        if deleted:
            record_event(
                EventCategory.SECURITY,
                "user_unlocked",
                f"User {username} unlocked.",
                user=by_user,
            )
    return bool(deleted)


def set_password_by_admin(user, password: str, *, by_user) -> None:
    """An administrator sets another user's password (checked against the policy)."""
    from django.contrib.auth.password_validation import validate_password

    validate_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        LoginLockout.objects.filter(username=user.username.lower()).delete()
        record_event(
            EventCategory.SECURITY,
            "password_set_by_administrator",
            f"Password of {user.username} set by an administrator.",
            user=by_user,
        )
