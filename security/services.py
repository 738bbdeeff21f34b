"""State changes of the security app."""

import datetime as dt
import ipaddress
import os
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings

from .models import HostCommonName

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
