"""Local accounts (registered with Cisco Software Central) and their virtual accounts, and
this server's identity towards CSC (the satellite)."""

import socket

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from core.choices import EventCategory, EventResult
from core.services import record_event

from .. import csc_client
from ..access import can_manage, is_system_admin
from ..choices import AccountStatus
from ..models import (
    DEFAULT_VIRTUAL_ACCOUNT_DESCRIPTION,
    DEFAULT_VIRTUAL_ACCOUNT_NAME,
    LocalAccount,
    Satellite,
    VirtualAccount,
)


def satellite() -> Satellite:
    """This server's identity towards CSC, created on first use."""
    found = Satellite.objects.order_by("pk").first()
    if found:
        return found
    name = getattr(settings, "SATELLITE_NAME", "") or socket.gethostname()
    with transaction.atomic():
        obj, _ = Satellite.objects.get_or_create(pk=1, defaults={"name": name[:100]})
    return obj


def create_local_account(
    *,
    name,
    cisco_smart_account,
    cisco_virtual_account,
    notification_email,
    requested_by=None,
    requested_by_username="",
    approved_by=None,
    **fields,
) -> LocalAccount:
    """Create a local account with its "Default" virtual account (inside the caller's transaction).

    Approval calls this after CSC accepted the registration; tests and data loading may
    call it directly for an account that is not registered.
    """
    with transaction.atomic():
        account = LocalAccount.objects.create(
            name=name,
            cisco_smart_account=cisco_smart_account,
            cisco_virtual_account=cisco_virtual_account,
            notification_email=notification_email,
            requested_by=requested_by,
            requested_by_username=requested_by_username
            or getattr(requested_by, "username", "")
            or "",
            approved_by=approved_by,
            **fields,
        )
        VirtualAccount.objects.create(
            account=account,
            name=DEFAULT_VIRTUAL_ACCOUNT_NAME,
            description=DEFAULT_VIRTUAL_ACCOUNT_DESCRIPTION,
            is_default=True,
        )
    return account


def create_virtual_account(
    account: LocalAccount, *, name, description="", by_user=None, username=""
) -> VirtualAccount:
    """Add a local virtual account to an account: by an Account Administrator (`by_user`) or
    by an API client its caller has checked (`username`, its name for the event)."""
    if by_user is None and not username:
        raise PermissionDenied("A user or an API client creates a virtual account.")
    if by_user is not None and not can_manage(by_user, account):
        raise PermissionDenied("You cannot change this account.")
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name is required."})
    if len(name) > 100:
        raise ValidationError({"name": "Name must be at most 100 characters."})
    with transaction.atomic():
        if account.virtual_accounts.filter(name__iexact=name).exists():
            raise ValidationError(
                {"name": f"Virtual account {name} already exists in {account.name}."}
            )
        virtual_account = VirtualAccount.objects.create(
            account=account, name=name, description=(description or "").strip()[:300]
        )
        record_event(
            EventCategory.ACCOUNT,
            "virtual_account_created",
            f"Local virtual account {name} created in {account.name}",
            user=by_user,
            username=username,
            account=account,
        )
    return virtual_account


def delete_local_account(account: LocalAccount, by_user):
    """Delete an account: deregister it in CSC (removing its product instances there), then here.

    While CSC is asked the account is "Deleting" (no synchronization starts). If CSC
    cannot be reached the account is kept as it was and ValidationError says why; an
    account CSC no longer knows is deleted here all the same.
    """
    if not is_system_admin(by_user):
        raise PermissionDenied("Only a system administrator can delete accounts.")
    name = account.name
    previous = LocalAccount.objects.filter(pk=account.pk).values_list("status", flat=True).first()
    claimed = (
        LocalAccount.objects.filter(pk=account.pk)
        .exclude(status=AccountStatus.DELETING)
        .update(status=AccountStatus.DELETING)
    )
    if not claimed:
        raise ValidationError(f"Account {name} is being deleted already.")
    if account.csc_registration_id:
        try:
            csc_client.deregister(account, satellite().server_id)
        except csc_client.CscError as exc:
            if not (isinstance(exc, csc_client.CscRefused) and exc.status == 404):
                with transaction.atomic():
                    LocalAccount.objects.filter(pk=account.pk).update(status=previous)
                    record_event(
                        EventCategory.ACCOUNT,
                        "account_delete_failed",
                        f"Account {name} was not deleted: {exc}",
                        user=by_user,
                        result=EventResult.FAILURE,
                        account=account,
                    )
                raise ValidationError(f"The account was not deleted: {exc}") from None
    with transaction.atomic():
        record_event(
            EventCategory.ACCOUNT,
            "account_deleted",
            f"Account {name} deleted and deregistered from Cisco Software Central",
            user=by_user,
            account_name=name,
        )
        LocalAccount.objects.filter(pk=account.pk).delete()


def set_unsigned_rum_reports(account: LocalAccount, accept: bool, *, by_user) -> None:
    """Preferences: accept RUM reports that no product key signed (off by default: anyone who
    reaches the CSLU URL could then set a registered product's usage)."""
    if not can_manage(by_user, account):
        raise PermissionDenied("Only an Account Administrator can change the preferences.")
    with transaction.atomic():
        changed = (
            LocalAccount.objects.filter(pk=account.pk)
            .exclude(accept_unsigned_rum_reports=accept)
            .update(accept_unsigned_rum_reports=accept)
        )
        account.accept_unsigned_rum_reports = accept
        if changed:
            record_event(
                EventCategory.ACCOUNT,
                "preferences_changed",
                f"Unsigned RUM reports {'accepted' if accept else 'refused'} in {account.name}.",
                account=account,
                user=by_user,
            )


def update_local_account(account: LocalAccount, *, notification_email, description, by_user):
    """Edit an account's e-mail for notification and description (its name and Cisco
    accounts are what CSC knows it by, and do not change)."""
    if not can_manage(by_user, account):
        raise PermissionDenied("Only an Account Administrator can edit the account.")
    email, description = notification_email.strip(), description.strip()
    changes = [
        f"{label} {old or '--'} → {new or '--'}"
        for label, old, new in (
            ("e-mail for notification", account.notification_email, email),
            ("description", account.description, description),
        )
        if old != new
    ]
    if not changes:
        return account
    with transaction.atomic():
        account.notification_email, account.description = email, description
        account.full_clean(validate_unique=False, validate_constraints=False)
        account.save(update_fields=["notification_email", "description"])
        record_event(
            EventCategory.ACCOUNT,
            "account_changed",
            f"Account {account.name} changed: {', '.join(changes)}",
            user=by_user,
            account=account,
        )
    return account


def set_local_account_active(account: LocalAccount, active: bool, *, by_user) -> LocalAccount:
    """Deactivate an account (its products are refused with "account_deactivated" and it does
    not synchronize) or reactivate it (it synchronizes again; CSC's state then decides
    Active or Inactive)."""
    if not is_system_admin(by_user):
        raise PermissionDenied("Only a system administrator can deactivate or reactivate accounts.")
    old, new = (
        (AccountStatus.DEACTIVATED, AccountStatus.ACTIVE)
        if active
        else (None, AccountStatus.DEACTIVATED)
    )
    with transaction.atomic():
        locked = LocalAccount.objects.select_for_update().get(pk=account.pk)
        if locked.status == AccountStatus.DELETING:
            raise ValidationError(f"Account {locked.name} is being deleted.")
        if (old is not None and locked.status != old) or locked.status == new:
            state = "active" if active else "deactivated"
            raise ValidationError(f"Account {locked.name} is already {state}.")
        locked.status = new
        locked.save(update_fields=["status"])
        verb = "reactivated" if active else "deactivated"
        record_event(
            EventCategory.ACCOUNT,
            f"account_{verb}",
            f"Account {locked.name} {verb}"
            + ("" if active else ": its products are refused and it does not synchronize"),
            user=by_user,
            account=locked,
        )
    account.status = new
    return locked
