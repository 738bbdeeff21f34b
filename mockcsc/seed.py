"""Seed data: the smart account, virtual accounts and entitlements the spec's scenarios use."""

from django.db import transaction

from .catalog import ALL_LICENSES, DOMAIN, SMART_ACCOUNT, VIRTUAL_ACCOUNTS
from .models import ClassicLicense, Entitlement, SmartAccount, VirtualAccount

# every new virtual account holds classic (PAK) licenses of its first two licenses, as an
# account migrating from classic licensing does: Convert to Smart Licensing turns them over
CLASSIC_PAKS = ("3400J7E4A1B", "3400K9F2C7D")

__all__ = ["ALL_LICENSES", "SMART_ACCOUNT", "add_virtual_account", "seed"]


@transaction.atomic
def seed() -> bool:
    """Create the seed data unless a smart account exists; True when created."""
    if SmartAccount.objects.exists():
        return False
    smart_account = SmartAccount.objects.create(name=SMART_ACCOUNT, domain=DOMAIN)
    for va_name, licenses in VIRTUAL_ACCOUNTS.items():
        add_virtual_account(smart_account, va_name, licenses)
    return True


def add_virtual_account(smart_account, name, licenses):
    """A virtual account with entitlements [(name, tag, quantity, product type), ...]."""
    virtual_account = VirtualAccount.objects.create(smart_account=smart_account, name=name)
    Entitlement.objects.bulk_create(
        Entitlement(
            virtual_account=virtual_account,
            name=lic_name,
            tag=tag,
            quantity=quantity,
            product_type=product_type,
        )
        for lic_name, tag, quantity, product_type in licenses
    )
    ClassicLicense.objects.bulk_create(
        ClassicLicense(
            virtual_account=virtual_account,
            pak=pak,
            name=f"{lic_name} (classic)",
            tag=tag,
            quantity=quantity,
            product_type=product_type,
        )
        for pak, (lic_name, tag, _, product_type), quantity in zip(
            CLASSIC_PAKS, licenses, (10, 5), strict=False
        )
    )
    return virtual_account
