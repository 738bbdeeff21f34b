"""Certificates of the web server: the Browser Certificate (self-signed on first start, or
signed by the operator's CA from a CSR made here), the CA Certificates that vouch for it,
and the graceful reload that makes the HTTPS server present a new one."""

import datetime as dt
import hashlib
import ipaddress
import os
import re
import signal
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

from core import x509 as x509_builder
from core.choices import EventCategory
from core.services import record_event

from ..models import (
    BrowserCertificateRequest,
    CACertificate,
)
from .common import logger
from .host_common_name import validate_host_common_name


def generate_self_signed(common_name: str, *, days: int = 730, sans=()):
    """A new EC P-256 key and a self-signed certificate for it, as PEM bytes."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = x509_builder.self_signed(
        key, x509_builder.subject(common_name), days=days, sans=(common_name, *sans)
    )
    return x509_builder.private_pem(key), x509_builder.pem(cert).encode()


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


def certificate_covers(info: dict, name: str) -> bool:
    """Whether a certificate (as describe_certificate tells it) is valid for `name`: one of
    its subject alternative names (a wildcard covers one label), else its common name."""
    names = info["subject_alternative_names"] or [info["common_name"]]
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if address is not None:
        for candidate in names:
            try:
                if ipaddress.ip_address(candidate) == address:
                    return True
            except ValueError:
                continue
        return False
    name = name.lower().rstrip(".")
    for candidate in (n.lower().rstrip(".") for n in names):
        if candidate == name:
            return True
        if candidate.startswith("*.") and "." in name and name.split(".", 1)[1] == candidate[2:]:
            return True
    return False


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
    name = x509_builder.subject(
        cn,
        organization=organization,
        organizational_unit=organizational_unit,
        locality=locality,
        state=state,
        country=country,
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr_pem = x509_builder.csr(key, name, sans=sans)
    key_pem = x509_builder.private_pem(key)
    with transaction.atomic():
        request = BrowserCertificateRequest.objects.create(
            common_name=cn,
            subject_alternative_names=sans,
            organization=organization.strip(),
            organizational_unit=organizational_unit.strip(),
            locality=locality.strip(),
            state=state.strip(),
            country=country,
            csr_pem=csr_pem,
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
    subject = x509_builder.general_name(sans[0])
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
    """Ask the running HTTPS server to pick up a new certificate: SIGHUP to nginx's master.

    nginx reloads gracefully: new workers start with the new certificate, the old ones finish
    the requests and connections they hold, so no connection is refused.
    """
    pid_file = Path(settings.WEB_PID_FILE)
    try:
        pid = int(pid_file.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return False
    if b"nginx" not in cmdline:
        return False
    os.kill(pid, signal.SIGHUP)
    logger.info("Asked the web server (nginx, pid %s) to reload its certificate", pid)
    return True


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
