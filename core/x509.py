"""The server's one X.509 builder: names, CSRs and self-signed certificates.

The product CA (licensing), the Browser Certificate and its CSRs (security) are built here.
The mock Cisco Software Central, a separate service, keeps its own.
"""

import datetime as dt
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID


def subject(common_name: str, **attributes) -> x509.Name:
    """CN=common_name plus any of organization, organizational_unit, locality, state, country
    given non-empty."""
    oids = {
        "organization": NameOID.ORGANIZATION_NAME,
        "organizational_unit": NameOID.ORGANIZATIONAL_UNIT_NAME,
        "locality": NameOID.LOCALITY_NAME,
        "state": NameOID.STATE_OR_PROVINCE_NAME,
        "country": NameOID.COUNTRY_NAME,
    }
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    for field, value in attributes.items():
        if value and value.strip():
            parts.append(x509.NameAttribute(oids[field], value.strip()))
    return x509.Name(parts)


def general_name(value: str) -> x509.GeneralName:
    """An IP address or a DNS name, as a subject alternative name."""
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        return x509.DNSName(value)


def csr(key, name: x509.Name, *, sans=(), ca: bool = False) -> str:
    """A certificate signing request for the key, as PEM."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(name)
    if sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([general_name(v) for v in sans]), critical=False
        )
    if ca:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=0), critical=True
        )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def self_signed(key, name: x509.Name, *, days: int, sans=(), ca: bool = False):
    """A self-signed certificate for the key, valid from five minutes ago for `days` days.

    A CA certificate (ca=True) may sign certificates one level down; otherwise the
    certificate is an end entity for the subject alternative names given.
    """
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
    )
    if sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([general_name(v) for v in sans]), critical=False
        )
    if ca:
        builder = (
            builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
        )
    else:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=False, path_length=None), critical=True
        )
    return builder.sign(key, hashes.SHA256())


def pem(cert) -> str:
    """A certificate as PEM text."""
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def private_pem(key, password: bytes | None = None) -> bytes:
    """A private key as PKCS#8 PEM, encrypted when a password is given."""
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
