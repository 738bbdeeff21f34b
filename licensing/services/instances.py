"""Product instances changed from the workspace or the API: removed or moved."""

from django.db import transaction
from django.utils import timezone

from accounts.models import VirtualAccount
from core.choices import EventCategory
from core.services import record_event

from ..choices import InstanceStatus, TransactionKind
from ..models import (
    LicenseTransaction,
    LicenseUsage,
    ProductInstance,
)
from .common import LicensingError
from .licenses import license_name
from .usage import add_to_counters, release


def remove_instance(instance: ProductInstance, *, user=None, username="") -> None:
    """Remove a product instance: its licenses are released and it leaves the list.
    `username` names an API client in the event when there is no user."""
    with transaction.atomic():
        locked = (
            ProductInstance.objects.select_for_update()
            .filter(pk=instance.pk, status=InstanceStatus.REGISTERED)
            .first()
        )
        if locked is None:
            raise LicensingError("The product instance is no longer registered.")
        release(locked, InstanceStatus.REMOVED)
        record_event(
            EventCategory.LICENSING,
            "product_removed",
            f"Product instance {locked.name} removed",
            user=user,
            username=username,
            account=instance.virtual_account.account,
            virtual_account=locked.virtual_account_id,
            instance=str(locked.uuid),
        )


def transfer_instance(
    instance: ProductInstance, target: VirtualAccount, *, user=None, username=""
) -> None:
    """Move a product instance and its license usage to another local virtual account
    (`username`: an API client's name for the event)."""
    if target.account_id != instance.virtual_account.account_id:
        raise LicensingError("A product instance can only move within its local account.")
    if target.pk == instance.virtual_account_id:
        raise LicensingError("The product instance is already in that virtual account.")
    with transaction.atomic():
        locked = (
            ProductInstance.objects.select_for_update()
            .filter(pk=instance.pk, status=InstanceStatus.REGISTERED)
            .first()
        )
        if locked is None:
            raise LicensingError("The product instance is no longer registered.")
        usage = dict(LicenseUsage.objects.filter(instance=locked).values_list("tag", "count"))
        source = locked.virtual_account_id
        source_name = locked.virtual_account.name
        add_to_counters(source, {t: -c for t, c in usage.items()})
        add_to_counters(target.pk, usage)
        ProductInstance.objects.filter(pk=locked.pk).update(
            virtual_account=target,
            last_contact=timezone.now(),  # in the next standard sync
        )
        moved = {tag: count for tag, count in sorted(usage.items()) if count} or {"": 0}
        LicenseTransaction.objects.bulk_create(
            LicenseTransaction(
                account_id=target.account_id,
                kind=TransactionKind.PRODUCT_INSTANCE,
                tag=tag,
                license_name=license_name(tag) if tag else "",
                quantity=count,
                source=source_name,
                target=target.name,
                instance_name=locked.name,
                username=user.get_username() if user is not None else username,
            )
            for tag, count in moved.items()
        )
        record_event(
            EventCategory.LICENSING,
            "product_transferred",
            f"Product instance {locked.name} transferred to {target.name}",
            user=user,
            username=username,
            account=target.account,
            virtual_account=target.pk,
            source_virtual_account=source,
            instance=str(locked.uuid),
        )
