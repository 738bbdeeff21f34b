"""The product CA: the certificate authority that signs the products' identity certificates."""

import threading

from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import x509 as x509_builder
from core.choices import EventCategory
from core.services import record_event
from security import services as security

from .. import pki
from ..models import (
    ProductCA,
)
from .common import CACHE_SECONDS, LicensingError, cached, clear_cache


def _ca_password() -> bytes:
    return pki.encryption_password(settings.PRODUCT_CA_ENCRYPTION_KEY)


_ca_cache: dict = {}
_ca_lock = threading.Lock()


def cached_ca() -> ProductCA:
    return cached("ca", CACHE_SECONDS, product_ca)


def cached_host_common_name() -> str:
    return cached("hcn", CACHE_SECONDS, security.host_common_name)


def cached_chain(ca: ProductCA) -> list[str]:
    key = f"chain:{ca.pk}:{ca.updated}"
    return cached(key, 3600, lambda: product_ca_chain(ca))


def product_ca() -> ProductCA:
    """The active product CA, created (self-signed, for the Host Common Name) on first use."""
    ca = ProductCA.objects.filter(active=True).first()
    if ca is not None:
        return ca
    name = security.host_common_name()
    key_pem, cert_pem = pki.new_ca(name, _ca_password())
    with transaction.atomic():
        if ProductCA.objects.filter(active=True).exists():
            return ProductCA.objects.get(active=True)
        try:
            with transaction.atomic():
                ca = ProductCA.objects.create(
                    host_common_name=name, key_pem_encrypted=key_pem, certificate_pem=cert_pem
                )
        except IntegrityError:  # another process created it first
            return ProductCA.objects.get(active=True)
        record_event(
            EventCategory.LICENSING,
            "product_ca_created",
            f"Product CA created for Host Common Name {name}",
        )
    return ca


def ca_key(ca: ProductCA):
    """The CA's private key, decrypted once per process and CA version."""
    cache_key = (ca.pk, ca.updated, ca.key_pem_encrypted[-64:])
    key = _ca_cache.get(cache_key)
    if key is None:
        with _ca_lock:
            key = pki.load_key(ca.key_pem_encrypted, _ca_password())
            _ca_cache.clear()
            _ca_cache[cache_key] = key
    return key


def product_ca_chain(ca: ProductCA | None = None) -> list[str]:
    """The PEM certificates a product needs above its ID certificate: CA, then its issuers."""
    ca = ca or product_ca()
    chain = [ca.certificate_pem.strip() + "\n"]
    chain += [pki.pem(c) for c in pki.split_pem_chain(ca.chain_pem)]
    return chain


def product_ca_csr(common_name: str) -> str:
    """A CSR for the product CA's key, for CSC to re-issue the CA for a Host Common Name."""
    return x509_builder.csr(ca_key(product_ca()), pki.ca_subject(common_name), ca=True)


def install_product_ca_certificate(cert_pem: str, chain_pem: str = "", *, host_common_name=None):
    """Install a CA certificate (re-issued by CSC) for the current CA key, with its issuers."""
    ca = product_ca()
    certs = pki.split_pem_chain(cert_pem)
    if len(certs) != 1:
        raise LicensingError("Expected exactly one CA certificate.")
    cert = certs[0]
    key = ca_key(ca)

    def spki(k):
        return k.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    if spki(cert.public_key()) != spki(key.public_key()):
        raise LicensingError("The certificate is not for the product CA's key.")
    chain = pki.split_pem_chain(chain_pem)
    if chain:
        try:
            pki.verify_chain(cert, chain)
        except pki.CertificateError as exc:
            raise LicensingError(f"The chain does not verify: {exc}") from None
    name = host_common_name or _name_of_ca(cert) or ca.host_common_name
    clear_cache()
    with transaction.atomic():
        ProductCA.objects.filter(pk=ca.pk).update(
            certificate_pem=pki.pem(cert),
            chain_pem="".join(pki.pem(c) for c in chain),
            host_common_name=name,
            updated=timezone.now(),
        )
        record_event(
            EventCategory.LICENSING,
            "product_ca_installed",
            f"Product CA certificate installed for Host Common Name {name}",
        )
    return ProductCA.objects.get(pk=ca.pk)


def _name_of_ca(cert) -> str:

    values = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = values[0].value if values else ""
    return value.removeprefix("Product CA ").strip() if value.startswith("Product CA ") else ""
