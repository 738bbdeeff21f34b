"""Keys and certificates of the mock CSC: its HTTPS certificate and its signing CA."""

import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# Key usage of a CA certificate: it signs certificates and CRLs.
CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)

PRODUCT_CA_DAYS = 5 * 365


class BadCsr(ValueError):
    """The certificate request cannot be signed."""


def _write_key(path: Path, key):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


SERVER_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


def _self_signed(common_name: str, days: int, *, ca: bool, sans=None):
    """A new EC key and a self-signed certificate: a CA (it signs the product CAs) or a TLS
    server's end-entity certificate for the subject alternative names."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Cisco Software Central (mock)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(CA_KEY_USAGE if ca else SERVER_KEY_USAGE, critical=True)
    )
    if ca:
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        builder = builder.add_extension(ski, critical=False).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    else:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return key, builder.sign(key, hashes.SHA256())


def _alt_names(names):
    alt = []
    for value in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(value)))
        except ValueError:
            alt.append(x509.DNSName(value))
    return alt


def _covers(cert_path: Path, names) -> bool:
    """True when the certificate's subject alternative names include every name."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    present = {str(v) for v in sans.get_values_for_type(x509.IPAddress)}
    present |= set(sans.get_values_for_type(x509.DNSName))
    wanted = set()
    for value in names:
        try:
            wanted.add(str(ipaddress.ip_address(value)))
        except ValueError:
            wanted.add(value)
    return wanted <= present


def _is_ca(cert_path: Path) -> bool:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def ensure_tls_certificate(directory: Path, extra_names=()) -> bool:
    """Self-signed HTTPS certificate csc.crt/csc.key (clients trust csc.crt itself).

    It is made again when CSC_TLS_NAMES asks for a name the current one does not cover, and
    when an older version made it a CA certificate.
    """
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "csc.crt", directory / "csc.key"
    names = ["localhost", "127.0.0.1", "::1", *extra_names]
    if (
        cert_path.exists()
        and key_path.exists()
        and _covers(cert_path, names)
        and not _is_ca(cert_path)
    ):
        return False
    key, cert = _self_signed("localhost", 3650, ca=False, sans=_alt_names(dict.fromkeys(names)))
    _write_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return True


def ensure_signing_ca(directory: Path) -> bool:
    """The root CA that signs on-prem servers' product CAs (ca.crt/ca.key)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "ca.crt", directory / "ca.key"
    if cert_path.exists() and key_path.exists():
        return False
    key, cert = _self_signed("Cisco Software Central Mock Root CA", 20 * 365, ca=True)
    _write_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return True


def sign_product_ca(directory: Path, csr_pem: str) -> tuple[str, list[str]]:
    """Sign a server's product CA request: (certificate PEM, [CSC root CA PEM])."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
    except (ValueError, TypeError):
        raise BadCsr("The certificate request is not a PEM-encoded PKCS#10 request.") from None
    if not csr.is_signature_valid:
        raise BadCsr("The signature of the certificate request does not verify.")
    if not csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
        raise BadCsr("The certificate request has no common name.")
    ca_cert = x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None)
    now = dt.datetime.now(dt.UTC)
    not_after = min(now + dt.timedelta(days=PRODUCT_CA_DAYS), ca_cert.not_valid_after_utc)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca_cert.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM).decode(),
        [ca_cert.public_bytes(serialization.Encoding.PEM).decode()],
    )
