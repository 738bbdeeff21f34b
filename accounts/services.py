"""State changes of the accounts app. Every change that matters goes through here.

Each function validates, writes inside one transaction together with its event-log row,
and queues follow-up work (Celery, e-mail) with transaction.on_commit. Calls to Cisco
Software Central go through accounts.csc_client, always outside a database transaction,
and what they return is applied in one transaction so a failure leaves nothing
half-applied.
"""

import datetime as dt
import logging
import socket

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.choices import EventCategory, EventResult
from core.services import mail_on_commit, record_event

from . import csc_client
from .access import can_manage, is_system_admin, system_role
from .choices import AccountRequestStatus, AccountRole, AccountStatus, SystemRole
from .models import (
    DEFAULT_VIRTUAL_ACCOUNT_DESCRIPTION,
    DEFAULT_VIRTUAL_ACCOUNT_NAME,
    AccountMembership,
    AccountRequest,
    LocalAccount,
    Satellite,
    UserProfile,
    VirtualAccount,
)

log = logging.getLogger(__name__)

SYNC_SUCCESS_ALERT = "Synchronization Successful"
STALE_RUNNING_AFTER = dt.timedelta(minutes=10)


def satellite() -> Satellite:
    """This server's identity towards CSC, created on first use."""
    found = Satellite.objects.order_by("pk").first()
    if found:
        return found
    name = getattr(settings, "SATELLITE_NAME", "") or socket.gethostname()
    with transaction.atomic():
        obj, _ = Satellite.objects.get_or_create(pk=1, defaults={"name": name[:100]})
    return obj


# --- Account requests -------------------------------------------------------------------


def _clean_account_fields(name, cisco_smart_account, cisco_virtual_account, notification_email):
    values = {
        "name": (name or "").strip(),
        "cisco_smart_account": (cisco_smart_account or "").strip(),
        "cisco_virtual_account": (cisco_virtual_account or "").strip(),
        "notification_email": (notification_email or "").strip(),
    }
    errors = {}
    labels = {
        "name": "Local Account Name",
        "cisco_smart_account": "Cisco Smart Account",
        "cisco_virtual_account": "Cisco Virtual Account",
        "notification_email": "Email for Notification",
    }
    for field, value in values.items():
        if not value:
            errors[field] = f"{labels[field]} is required."
        elif len(value) > 100 and field != "notification_email":
            errors[field] = f"{labels[field]} must be at most 100 characters."
    if values["notification_email"] and "notification_email" not in errors:
        try:
            validate_email(values["notification_email"])
        except ValidationError:
            errors["notification_email"] = "Enter a valid e-mail address."
    if errors:
        raise ValidationError(errors)
    return values


def _check_account_free(values, *, exclude_request=None):
    errors = {}
    if LocalAccount.objects.filter(name__iexact=values["name"]).exists():
        errors["name"] = f"A local account named {values['name']} already exists."
    else:
        pending = AccountRequest.objects.filter(
            name__iexact=values["name"], status=AccountRequestStatus.PENDING
        )
        if exclude_request is not None:
            pending = pending.exclude(pk=exclude_request.pk)
        if pending.exists():
            errors["name"] = f"An account request named {values['name']} is already pending."
    bound = LocalAccount.objects.filter(
        cisco_smart_account__iexact=values["cisco_smart_account"],
        cisco_virtual_account__iexact=values["cisco_virtual_account"],
    ).first()
    if bound:
        errors["cisco_virtual_account"] = (
            f"Cisco virtual account {values['cisco_virtual_account']} is already used by local "
            f"account {bound.name}; one local account maps to exactly one Cisco virtual account."
        )
    if errors:
        raise ValidationError(errors)


def create_account_request(
    *, name, cisco_smart_account, cisco_virtual_account, notification_email, by_user
) -> AccountRequest:
    """File a New Account request; a system administrator approves or rejects it."""
    if system_role(by_user) is None:
        raise PermissionDenied("Log in to request an account.")
    values = _clean_account_fields(
        name, cisco_smart_account, cisco_virtual_account, notification_email
    )
    with transaction.atomic():
        _check_account_free(values)
        try:
            with transaction.atomic():
                account_request = AccountRequest.objects.create(
                    **values, requested_by=by_user, requested_by_username=by_user.username
                )
        except IntegrityError:
            raise ValidationError(
                {"name": f"An account request named {values['name']} is already pending."}
            ) from None
        record_event(
            EventCategory.ACCOUNT,
            "account_requested",
            f"Account {values['name']} requested for Cisco virtual account "
            f"{values['cisco_smart_account']} / {values['cisco_virtual_account']}",
            user=by_user,
            request_id=account_request.pk,
        )
    return account_request


def _notify(account_request: AccountRequest, subject: str, body: str):
    mail_on_commit(account_request.notification_email, subject, body)


def approve_account_request(account_request: AccountRequest, by_user) -> LocalAccount:
    """Approve a request: register it with CSC, then create the local account.

    A refusal by CSC (unknown or already bound virtual account) or CSC being unreachable
    leaves the request pending and raises ValidationError with the reason.
    """
    if not is_system_admin(by_user):
        raise PermissionDenied("Only a system administrator can approve account requests.")
    account_request = AccountRequest.objects.get(pk=account_request.pk)
    if account_request.status != AccountRequestStatus.PENDING:
        state = account_request.status_enum.label.lower()
        raise ValidationError(f"The request for {account_request.name} is already {state}.")
    values = _clean_account_fields(
        account_request.name,
        account_request.cisco_smart_account,
        account_request.cisco_virtual_account,
        account_request.notification_email,
    )
    _check_account_free(values, exclude_request=account_request)
    identity = satellite()
    try:
        registration = csc_client.register(
            smart_account=values["cisco_smart_account"],
            virtual_account=values["cisco_virtual_account"],
            local_account=values["name"],
            satellite_name=identity.name,
            server_id=identity.server_id,
        )
    except csc_client.CscError as exc:
        reason = (
            f"Cisco Software Central refused the registration: {exc}"
            if isinstance(exc, csc_client.CscRefused)
            else str(exc)
        )
        with transaction.atomic():
            record_event(
                EventCategory.ACCOUNT,
                "account_registration_failed",
                f"Registration of account {values['name']} failed: {reason}",
                user=by_user,
                result=EventResult.FAILURE,
                request_id=account_request.pk,
            )
        raise ValidationError(reason) from None
    with transaction.atomic():
        locked = AccountRequest.objects.select_for_update().get(pk=account_request.pk)
        if locked.status != AccountRequestStatus.PENDING:
            raise ValidationError(f"The request for {locked.name} was decided meanwhile.")
        account = create_local_account(
            **values,
            requested_by=locked.requested_by,
            requested_by_username=locked.requested_by_username,
            approved_by=by_user,
            csc_registration_id=registration["registration_id"],
            csc_secret=registration["secret"],
            satellite_name=identity.name,
            csc_account_state=registration.get("account_state", ""),
        )
        locked.status = AccountRequestStatus.APPROVED
        locked.decided_by = by_user
        locked.decided_at = timezone.now()
        locked.account = account
        locked.save(update_fields=["status", "decided_by", "decided_at", "account"])
        if locked.requested_by_id:
            AccountMembership.objects.get_or_create(
                user_id=locked.requested_by_id,
                account=account,
                defaults={"role": AccountRole.ACCOUNT_ADMIN},
            )
        record_event(
            EventCategory.ACCOUNT,
            "account_approved",
            f"Account request {account.name} approved and registered with Cisco Software Central "
            f"({account.cisco_smart_account} / {account.cisco_virtual_account})",
            user=by_user,
            account=account,
            request_id=locked.pk,
        )
        _notify(
            locked,
            f"Account {account.name} approved",
            f"Your request for the local account {account.name} was approved by "
            f"{by_user.username}. It is registered with Cisco virtual account "
            f"{account.cisco_smart_account} / {account.cisco_virtual_account}.",
        )
    return account


def reject_account_request(account_request: AccountRequest, reason: str, by_user) -> AccountRequest:
    """Reject a pending request with a reason; the requester is notified."""
    if not is_system_admin(by_user):
        raise PermissionDenied("Only a system administrator can reject account requests.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Give a reason for the rejection."})
    with transaction.atomic():
        updated = AccountRequest.objects.filter(
            pk=account_request.pk, status=AccountRequestStatus.PENDING
        ).update(
            status=AccountRequestStatus.REJECTED,
            reason=reason[:2000],
            decided_by=by_user,
            decided_at=timezone.now(),
        )
        if updated != 1:
            raise ValidationError(f"The request for {account_request.name} is no longer pending.")
        account_request.refresh_from_db()
        record_event(
            EventCategory.ACCOUNT,
            "account_rejected",
            f"Account request {account_request.name} rejected: {reason}",
            user=by_user,
            result=EventResult.INFO,
            request_id=account_request.pk,
        )
        _notify(
            account_request,
            f"Account {account_request.name} rejected",
            f"Your request for the local account {account_request.name} was rejected by "
            f"{by_user.username}.\n\nReason: {reason}",
        )
    return account_request


# --- Local accounts and virtual accounts ----------------------------------------------------


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
    account: LocalAccount, *, name, description="", by_user
) -> VirtualAccount:
    """Add a local virtual account to an account."""
    if not can_manage(by_user, account):
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


# --- Users and roles --------------------------------------------------------------------------


def create_user(*, username, email="", password, system_role_value=SystemRole.SYSTEM_USER, by_user):
    """Create a local user with a system role (Users widget)."""
    if not is_system_admin(by_user):
        raise PermissionDenied("Only a system administrator can create users.")
    User = get_user_model()
    username = (username or "").strip()
    if not username:
        raise ValidationError({"username": "User name is required."})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": f"User {username} already exists."})
    role = SystemRole(system_role_value)
    candidate = User(username=username, email=email)
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    with transaction.atomic():
        user = User.objects.create_user(username=username, email=email, password=password)
        UserProfile.objects.create(user=user, system_role=role)
        record_event(
            EventCategory.USER,
            "user_created",
            f"User {username} created as {role.label}",
            user=by_user,
            target=username,
        )
    return user


def _system_admin_count():
    User = get_user_model()
    return (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(ssm_profile__system_role=SystemRole.SYSTEM_ADMIN))
        .distinct()
        .count()
    )


def set_system_role(user, role, by_user):
    """Give a user a system role; the last system administrator cannot be demoted."""
    if not is_system_admin(by_user):
        raise PermissionDenied("Only a system administrator can change system roles.")
    role = SystemRole(role)
    with transaction.atomic():
        previous = system_role(user)
        if (
            previous == SystemRole.SYSTEM_ADMIN
            and role != SystemRole.SYSTEM_ADMIN
            and _system_admin_count() <= 1
        ):
            raise ValidationError("The last system administrator cannot be given another role.")
        UserProfile.objects.update_or_create(user=user, defaults={"system_role": role})
        if user.is_superuser and role != SystemRole.SYSTEM_ADMIN:
            type(user).objects.filter(pk=user.pk).update(is_superuser=False, is_staff=False)
            user.is_superuser = user.is_staff = False
        user._state.fields_cache.pop("ssm_profile", None)
        record_event(
            EventCategory.USER,
            "system_role_changed",
            f"User {user.username} is now {role.label}"
            + (f" (was {previous.label})" if previous else ""),
            user=by_user,
            target=user.username,
        )


def set_account_role(user, account: LocalAccount, role, by_user) -> AccountMembership:
    """Give a user a role in an account (Access Management)."""
    if not can_manage(by_user, account):
        raise PermissionDenied("You cannot manage access to this account.")
    role = AccountRole(role)
    with transaction.atomic():
        membership, created = AccountMembership.objects.update_or_create(
            user=user, account=account, defaults={"role": role}
        )
        record_event(
            EventCategory.USER,
            "account_role_set",
            f"User {user.username} is {role.label} of {account.name}",
            user=by_user,
            account=account,
            target=user.username,
        )
    return membership


def remove_account_role(user, account: LocalAccount, by_user):
    """Take away a user's access to an account."""
    if not can_manage(by_user, account):
        raise PermissionDenied("You cannot manage access to this account.")
    with transaction.atomic():
        deleted, _ = AccountMembership.objects.filter(user=user, account=account).delete()
        if not deleted:
            raise ValidationError(f"User {user.username} has no role in {account.name}.")
        record_event(
            EventCategory.USER,
            "account_role_removed",
            f"User {user.username} no longer has access to {account.name}",
            user=by_user,
            account=account,
            target=user.username,
        )
