"""Account requests: filed by any user, approved (registered with CSC) or rejected by a
system administrator, the requester notified by e-mail."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.choices import EventCategory, EventResult
from core.services import mail_on_commit, record_event

from .. import csc_client
from ..access import is_system_admin, system_role
from ..choices import AccountRequestStatus, AccountRole
from ..models import (
    AccountMembership,
    AccountRequest,
    LocalAccount,
)
from ..signals import local_account_approved
from .local_accounts import create_local_account, satellite


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
        transaction.on_commit(
            lambda: local_account_approved.send(
                sender=LocalAccount, account=account, by_user=by_user
            )
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
