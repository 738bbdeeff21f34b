"""Certificate work of the product CA: keys, CSRs, ID certificates, signatures."""

import base64
import datetime as dt
import functools
import hashlib

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core import x509 as x509_builder

ID_CERTIFICATE_DAYS = 365
CA_CERTIFICATE_DAYS = 3650
ACCEPTED_CURVES = (ec.SECP256R1, ec.SECP384R1)
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 4096


class CertificateError(ValueError):
    """A CSR, certificate or signature that the server does not accept."""


def encryption_password(secret: str) -> bytes:
    """The password protecting the CA key, derived from the configured secret."""
    return hashlib.sha256(b"ssm-product-ca:" + secret.encode()).hexdigest().encode()


PRODUCT_CA_ORGANIZATION = "Smart Software Manager On-Prem"


def ca_subject(host_common_name: str) -> x509.Name:
    """The product CA's subject for a Host Common Name."""
    return x509_builder.subject(
        f"Product CA {host_common_name}"[:64], organization=PRODUCT_CA_ORGANIZATION
    )


def new_ca(host_common_name: str, password: bytes):
    """A new EC P-256 CA key and self-signed certificate: (encrypted key PEM, cert PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = x509_builder.self_signed(
        key, ca_subject(host_common_name), days=CA_CERTIFICATE_DAYS, ca=True
    )
    return encrypt_key(key, password), pem(cert)


def encrypt_key(key, password: bytes) -> str:
    """PKCS#8 PEM of a private key encrypted with the password."""
    return x509_builder.private_pem(key, password).decode()


def load_key(key_pem: str, password: bytes):
    """The private key of an encrypted PKCS#8 PEM."""
    return serialization.load_pem_private_key(key_pem.encode(), password=password)


pem = x509_builder.pem


def csr_for(key, common_name: str) -> str:
    """A CSR for a key, subject CN=common_name, as PEM."""
    return x509_builder.csr(key, x509_builder.subject(common_name))


def split_pem_chain(text: str) -> list[x509.Certificate]:
    """All certificates of a PEM bundle, in order."""
    if not text or not text.strip():
        return []
    try:
        return x509.load_pem_x509_certificates(text.encode())
    except ValueError as exc:
        raise CertificateError(f"not a PEM certificate bundle: {exc}") from None


def check_public_key(public_key) -> None:
    """Refuse key types and sizes the server does not accept."""
    if isinstance(public_key, rsa.RSAPublicKey):
        if not MIN_RSA_BITS <= public_key.key_size <= MAX_RSA_BITS:
            raise CertificateError(
                f"unsupported RSA key size {public_key.key_size} (2048 to 4096 bits)"
            )
        return
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if not isinstance(public_key.curve, ACCEPTED_CURVES):
            raise CertificateError(f"unsupported elliptic curve {public_key.curve.name}")
        return
    raise CertificateError("unsupported key type (RSA 2048-4096 or EC P-256/P-384)")


def load_csr(csr_pem: str) -> x509.CertificateSigningRequest:
    """A CSR whose key is acceptable and whose self-signature is valid."""
    if not isinstance(csr_pem, str) or "BEGIN CERTIFICATE REQUEST" not in csr_pem:
        raise CertificateError("csr must be a PEM certificate signing request")
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        public_key = csr.public_key()
    except (ValueError, TypeError) as exc:
        raise CertificateError(f"csr cannot be read: {exc}") from None
    check_public_key(public_key)
    try:
        valid = csr.is_signature_valid
    except Exception:  # unsupported algorithms raise from the backend
        valid = False
    if not valid:
        raise CertificateError("csr signature is not valid")
    return csr


def subject_for_udi(pid: str, sn: str) -> x509.Name:
    """ID certificate subject: CN=<serial>, serialNumber="PID:<pid> SN:<sn>"."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, sn[:64]),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, f"PID:{pid} SN:{sn}"[:64]),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Smart Licensing ID"),
        ]
    )


@functools.lru_cache(maxsize=8)
def _issuer(ca_cert_pem: str):
    """The CA certificate's subject and authority key identifier, parsed once per process."""
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem.encode())
    return ca_cert.subject, x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key())


def issue_id_certificate(csr, ca_key, ca_cert_pem: str, pid: str, sn: str, now=None):
    """Sign an ID certificate for the CSR's key: 1 year, subject from the UDI."""
    issuer, authority_key_id = _issuer(ca_cert_pem)
    now = now or dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject_for_udi(pid, sn))
        .issuer_name(issuer)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=ID_CERTIFICATE_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(authority_key_id, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert


def sign(key, data: bytes) -> str:
    """Base64 signature of data with SHA-256 (ECDSA or RSA PKCS#1 v1.5)."""
    if isinstance(key, rsa.RSAPrivateKey):
        raw = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    else:
        raw = key.sign(data, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(raw).decode()


def verify(public_key, data: bytes, signature_b64: str) -> bool:
    """True when signature_b64 is a SHA-256 signature of data by public_key."""
    try:
        raw = base64.b64decode(signature_b64, validate=True)
    except (ValueError, TypeError):
        return False
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(raw, data, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(raw, data, ec.ECDSA(hashes.SHA256()))
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_chain(cert: x509.Certificate, chain: list[x509.Certificate]) -> None:
    """Check that cert is signed by chain[0], each by the next, the last self-signed."""
    if not chain:
        raise CertificateError("no chain")
    now = dt.datetime.now(dt.UTC)
    current = cert
    for issuer in chain:
        if current.issuer != issuer.subject:
            raise CertificateError(f"issuer mismatch for {current.subject.rfc4514_string()}")
        try:
            current.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise CertificateError(f"bad signature: {exc}") from None
        if not issuer.not_valid_before_utc <= now <= issuer.not_valid_after_utc:
            raise CertificateError("issuer certificate out of validity")
        current = issuer
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise CertificateError("certificate out of validity")
