"""The product-certificate re-issue step of a synchronization.

After the Host Common Name changes, products can register only once Cisco Software Central
has re-issued the product certificate (the CA that signs their identity certificates) for
the new name. A network synchronization sends CSC a CSR for it and installs the answer; a
manual one carries the CSR in the request file and the certificate in the response file.
Security keeps the Host Common Name and the account's "re-synchronization required" flag;
licensing keeps the product CA; this module joins them.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import csc_client
from accounts.services import satellite
from licensing.services import install_product_ca_certificate, product_ca, product_ca_csr
from security.services import (
    clear_resynchronization,
    common_name,
    host_common_name,
    load_certificates,
)


def product_certificate_csr() -> str:
    """A CSR for the product CA's key, for the current Host Common Name (CSC signs it)."""
    return product_ca_csr(host_common_name())


def install_product_certificate(account, certificate_pem: str, chain_pem: str = "") -> None:
    """Install the product certificate CSC re-issued for the Host Common Name; clear the flag."""
    name = host_common_name()
    certs = load_certificates(certificate_pem, "product certificate")
    if len(certs) != 1:
        raise ValidationError(
            "Expected exactly one product certificate from Cisco Software Central."
        )
    issued_for = common_name(certs[0].subject)
    if not issued_for.endswith(name):
        raise ValidationError(
            f"The product certificate is issued for “{issued_for}”, not for the Host Common "
            f"Name {name}."
        )
    with transaction.atomic():
        try:
            install_product_ca_certificate(certificate_pem, chain_pem, host_common_name=name)
        except ValueError as exc:
            raise ValidationError(f"The product certificate was refused: {exc}") from None
        clear_resynchronization(account, name)


def resynchronize_product_certificate(account) -> bool:
    """During a network synchronization: have CSC re-issue the product certificate if needed.

    Sends a CSR for the current Host Common Name when the product certificate is issued
    for another name, installs CSC's answer, and clears the account's flag. Returns True
    when a new certificate was installed.
    """
    name = host_common_name()
    if product_ca().host_common_name == name:
        with transaction.atomic():
            clear_resynchronization(account, name)
        return False
    signed = csc_client.sign_product_ca_csr(
        account, product_certificate_csr(), satellite().server_id
    )
    install_product_certificate(account, signed["certificate"], "".join(signed["chain"]))
    return True
