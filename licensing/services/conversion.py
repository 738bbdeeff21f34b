"""Convert to Smart Licensing: classic (PAK) licenses held in Cisco Software Central become
Smart entitlements of the local account's Cisco virtual account (Purchased here after the
next synchronization)."""

from django.core.exceptions import PermissionDenied
from django.db import transaction

from accounts import csc_client
from accounts.access import can_use
from accounts.services import satellite
from core.choices import EventCategory, EventResult
from core.services import record_event

from ..choices import ConversionStatus
from ..models import Conversion
from .common import LicensingError

MAX_QUANTITY = 10**6


def _registered(account):
    if not account.csc_registration_id:
        raise LicensingError(
            f"{account.name} is not registered with Cisco Software Central: classic licenses "
            "are converted there."
        )


def convertible_licenses(account) -> list[dict]:
    """The account's classic licenses CSC can still convert (pak, name, tag, quantity), or a
    LicensingError saying why CSC could not be asked."""
    _registered(account)
    try:
        return csc_client.classic_licenses(account, satellite().server_id)
    except csc_client.CscError as exc:
        raise LicensingError(f"The classic licenses could not be read: {exc}") from None


def convert_licenses(account, pak: str, tag: str, quantity: int, *, user) -> Conversion:
    """Convert `quantity` of a PAK's license to Smart Licensing in CSC (an Account User or
    above). Each attempt is kept in the conversion history with its status and an event;
    a refusal (more than the PAK has left, CSC unreachable) says why and converts nothing."""
    if not can_use(user, account):
        raise PermissionDenied("Your role in this account does not allow changes.")
    _registered(account)
    whole = isinstance(quantity, int) and not isinstance(quantity, bool)
    if not whole or not 0 < quantity <= MAX_QUANTITY:
        raise LicensingError(f"Quantity must be a whole number from 1 to {MAX_QUANTITY}.")
    offered = {(c["pak"], c["tag"]): c for c in convertible_licenses(account)}
    classic = offered.get((pak, tag))
    if classic is None:
        raise LicensingError(f"PAK {pak} holds no convertible license {tag} any more.")
    name = str(classic.get("name") or tag).removesuffix(" (classic)")[:200]
    record = Conversion(
        account=account,
        pak=pak[:32],
        tag=tag[:200],
        license_name=name,
        quantity=quantity,
        username=user.get_username(),
    )
    try:
        csc_client.convert_classic_license(
            account, satellite().server_id, pak=pak, tag=tag, quantity=quantity
        )
    except csc_client.CscError as exc:
        record.status, record.error = ConversionStatus.FAILED, str(exc)[:300]
        with transaction.atomic():
            record.save()
            record_event(
                EventCategory.LICENSING,
                "conversion_failed",
                f"Conversion of {quantity} × {name} (PAK {pak}) failed: {exc}",
                user=user,
                account=account,
                result=EventResult.FAILURE,
            )
        raise LicensingError(f"Not converted: {exc}") from None
    record.status = ConversionStatus.CONVERTED
    with transaction.atomic():
        record.save()
        record_event(
            EventCategory.LICENSING,
            "licenses_converted",
            f"{quantity} × {name} of PAK {pak} converted to Smart Licensing; Purchased after "
            "the next synchronization",
            user=user,
            account=account,
            pak=pak,
            tag=tag,
            quantity=quantity,
        )
    return record
