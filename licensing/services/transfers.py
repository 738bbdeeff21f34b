"""Purchased licenses moved between the local virtual accounts of one local account."""

from django.db import transaction

from accounts.models import LocalAccount, PurchasedLicense, VirtualAccount
from core.choices import EventCategory
from core.services import record_event

from ..choices import TransactionKind
from ..models import LicenseTransaction
from .common import LicensingError
from .licenses import license_rows

MAX_QUANTITY = 10**9


def transferable(virtual_account, tag: str) -> int:
    """How many of a license a virtual account can give away: what it purchased, less what
    its own products use beyond substitution (never below zero)."""
    row = next((r for r in license_rows(virtual_account) if r["tag"] == tag), None)
    return row["transferable"] if row else 0


def transfer_licenses(
    source: VirtualAccount,
    target: VirtualAccount,
    tag: str,
    quantity: int,
    *,
    user=None,
    username: str = "",
) -> LicenseTransaction:
    """Move `quantity` purchased licenses of `tag` from one local virtual account to another
    of the same local account. Refused, with what could move, when the source does not hold
    them or would be left short of what its own products use. A License Transaction and an
    event record it; `username` names an API client when there is no user."""
    if source.account_id != target.account_id:
        raise LicensingError("Licenses move only between virtual accounts of one local account.")
    if source.pk == target.pk:
        raise LicensingError(f"The licenses are already in {target.name}: choose another one.")
    whole = isinstance(quantity, int) and not isinstance(quantity, bool)
    if not whole or not 0 < quantity <= MAX_QUANTITY:
        raise LicensingError(f"Quantity must be a whole number from 1 to {MAX_QUANTITY}.")
    with transaction.atomic():
        # the account's lock orders transfers with synchronizations, which rewrite Default
        account = LocalAccount.objects.select_for_update().get(pk=source.account_id)
        held = {
            row.virtual_account_id: row
            for row in PurchasedLicense.objects.select_for_update()
            .filter(virtual_account__in=[source.pk, target.pk], tag=tag)
            .order_by("pk")
        }
        giving = held.get(source.pk)
        if giving is None or giving.quantity <= 0:
            raise LicensingError(f"{source.name} holds no purchased licenses of {tag}.")
        available = transferable(source, tag)
        if quantity > available:
            raise LicensingError(
                f"Transferring {quantity} of {giving.name} would leave {source.name} short: it "
                f"holds {giving.quantity} and its product instances use "
                f"{giving.quantity - available}; at most {available} can move."
            )
        left = PurchasedLicense.objects.filter(pk=giving.pk)
        if giving.quantity == quantity and not source.is_default:
            left.delete()  # Default keeps its row: synchronizations set it
        else:
            left.update(quantity=giving.quantity - quantity)
        receiving = held.get(target.pk)
        if receiving is None:
            PurchasedLicense.objects.create(
                account=account,
                virtual_account=target,
                name=giving.name,
                tag=tag,
                billing=giving.billing,
                quantity=quantity,
                product_type=giving.product_type,
                synchronized=giving.synchronized,
            )
        else:
            PurchasedLicense.objects.filter(pk=receiving.pk).update(
                quantity=receiving.quantity + quantity
            )
        actor = user.get_username() if user is not None else username
        record = LicenseTransaction.objects.create(
            account=account,
            kind=TransactionKind.LICENSE,
            tag=tag,
            license_name=giving.name,
            quantity=quantity,
            source=source.name,
            target=target.name,
            username=actor,
        )
        record_event(
            EventCategory.LICENSING,
            "licenses_transferred",
            f"{quantity} × {giving.name} transferred from {source.name} to {target.name}",
            user=user,
            username=username,
            account=account,
            virtual_account=target.pk,
            source_virtual_account=source.pk,
            tag=tag,
            quantity=quantity,
        )
    return record
