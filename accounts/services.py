"""State changes of the accounts app. Every change that matters goes through here.

Each function validates, writes inside one transaction together with its event-log row,
and queues follow-up work (Celery, e-mail) with transaction.on_commit. Calls to Cisco
Software Central go through accounts.csc_client, always outside a database transaction,
and what they return is applied in one transaction so a failure leaves nothing
half-applied.
"""

import datetime as dt
import json
import logging
import secrets
import socket

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from . import csc_client
from .access import can_manage, can_synchronize, is_system_admin, system_role
from .choices import (
    AccountRequestStatus,
    AccountRole,
    AccountStatus,
    EventCategory,
    EventResult,
    SyncMode,
    SyncStatus,
    SyncTrigger,
    SystemRole,
)
from .models import (
    DEFAULT_VIRTUAL_ACCOUNT_DESCRIPTION,
    DEFAULT_VIRTUAL_ACCOUNT_NAME,
    SYNC_INTERVAL,
    AccountMembership,
    AccountRequest,
    Event,
    LocalAccount,
    PurchasedLicense,
    Satellite,
    Synchronization,
    UserProfile,
    VirtualAccount,
)

log = logging.getLogger(__name__)

SYNC_SUCCESS_ALERT = "Synchronization Successful"
STALE_RUNNING_AFTER = dt.timedelta(minutes=10)


def record_event(
    category, action, message, *, user=None, result=EventResult.SUCCESS, account=None, **data
):
    """Write one event-log row; call it inside the transaction of the change it describes.

    `account` (a LocalAccount) files the event under that account as well.
    """
    username = getattr(user, "username", "") or data.pop("username", "") or "system"
    return Event.objects.create(
        account=account if getattr(account, "pk", None) else None,
        category=EventCategory(category),
        action=action,
        message=message,
        result=EventResult(result),
        user=user if getattr(user, "pk", None) else None,
        username=username,
        data=data,
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


# --- Account requests -------------------------------------------------------------------


def _clean_account_fields(name, cisco_smart_account, cisco_virtual_account, notification_email):
    from django.core.validators import validate_email

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


def _mail_on_commit(address: str, subject: str, body: str):
    """Send a notification once the transaction commits; mail is best effort."""

    def send():
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
        except Exception:  # the change stands and is in the event log
            log.exception("Could not send the notification %r", subject)

    transaction.on_commit(send)


def _format_time(value) -> str:
    return value.strftime("%Y-%b-%d %H:%M:%S") if value else "never"


def _notify(account_request: AccountRequest, subject: str, body: str):
    _mail_on_commit(account_request.notification_email, subject, body)


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


def _app_hook(app, name):
    """A public service function of another app (licensing, security), if it provides one."""
    import importlib

    try:
        module = importlib.import_module(f"{app}.services")
    except ImportError:
        return None
    return getattr(module, name, None)


def _licensing_hook(name):
    return _app_hook("licensing", name)


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
        remove_instances = _licensing_hook("remove_account_product_instances")
        if remove_instances is not None:
            remove_instances(account, by_user)
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
    from django.contrib.auth.password_validation import validate_password

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


# --- Synchronization ------------------------------------------------------------------------


def request_synchronization(
    account: LocalAccount, by_user=None, trigger=SyncTrigger.ON_DEMAND, *, enqueue=True
) -> Synchronization:
    """Queue a network synchronization (or return the one already queued or running).

    With enqueue=False no Celery task is sent; the caller runs run_synchronization itself.
    """
    if by_user is not None and not can_synchronize(by_user, account):
        raise PermissionDenied("You cannot synchronize this account.")
    if account.status == AccountStatus.DELETING or not account.csc_registration_id:
        raise ValidationError(
            f"Account {account.name} is not registered with Cisco Software Central."
        )
    from .tasks import run_synchronization_task

    with transaction.atomic():
        _expire_stale_jobs(account)
        active = account.synchronizations.filter(
            status__in=[SyncStatus.QUEUED, SyncStatus.RUNNING]
        ).first()
        if active:
            return active
        try:
            with transaction.atomic():
                sync = Synchronization.objects.create(
                    account=account,
                    mode=SyncMode.NETWORK,
                    trigger=SyncTrigger(trigger),
                    requested_by=by_user if getattr(by_user, "pk", None) else None,
                    log=[_log_line("Synchronization queued")],
                )
        except IntegrityError:
            return account.synchronizations.filter(
                status__in=[SyncStatus.QUEUED, SyncStatus.RUNNING]
            ).first()
        record_event(
            EventCategory.SYNCHRONIZATION,
            "synchronization_queued",
            f"Synchronization of {account.name} queued ({SyncTrigger(trigger).label})",
            user=by_user,
            result=EventResult.INFO,
            account=account,
            synchronization_id=sync.pk,
        )
        if enqueue:
            transaction.on_commit(lambda: run_synchronization_task.delay(sync.pk))
    return sync


def _expire_stale_jobs(account):
    """Fail jobs a lost worker or message left queued or running, so a new one can start."""
    cutoff = timezone.now() - STALE_RUNNING_AFTER
    stale = account.synchronizations.filter(
        Q(status=SyncStatus.QUEUED, created__lt=cutoff)
        | Q(status=SyncStatus.RUNNING, started__lt=cutoff)
    )
    for job in stale.select_for_update():
        job.status = SyncStatus.FAILED
        job.error = "Interrupted: the job did not finish in time and was abandoned."
        job.finished = timezone.now()
        job.log = [*job.log, _log_line(job.error)]
        job.save(update_fields=["status", "error", "finished", "log"])


def _log_line(text):
    return {"time": timezone.now().strftime("%Y-%b-%d %H:%M:%S"), "message": text}


def _progress(sync_id, progress, message):
    """Write progress and a log line at once, outside any apply transaction, for the live view."""
    Synchronization.objects.filter(pk=sync_id).update(progress=progress)
    sync = Synchronization.objects.get(pk=sync_id)
    sync.log = [*sync.log, _log_line(message)]
    sync.save(update_fields=["log"])


def _report_from_virtual_accounts(account: LocalAccount) -> dict:
    """Registered product instances and In Use counts, read through the virtual accounts' keys."""
    instances, usage = [], {}
    for va in account.virtual_accounts.all():
        related = getattr(va, "product_instances", None)
        if related is not None:
            for pi in related.filter(status="registered").order_by("name", "pk"):
                instances.append(
                    {
                        "name": pi.name,
                        "product_type": pi.product_type,
                        "udi_pid": pi.udi_pid,
                        "udi_sn": pi.udi_sn,
                        "virtual_account": va.name,
                        "last_contact": pi.last_contact.isoformat(),
                    }
                )
        counters = getattr(va, "license_counters", None)
        if counters is not None:
            for counter in counters.all():
                usage[counter.tag] = usage.get(counter.tag, 0) + int(counter.in_use)
    return {
        "product_instances": instances,
        "usage": [{"tag": tag, "count": count} for tag, count in sorted(usage.items())],
    }


def licensing_report(account: LocalAccount) -> dict:
    """Product instances and usage to upload.

    licensing.services.csc_sync_report(account) when the licensing app provides it;
    otherwise the registered product instances and In Use counters found through the
    account's virtual accounts.
    """
    report = _licensing_hook("csc_sync_report")
    if report is None:
        return _report_from_virtual_accounts(account)
    data = report(account) or {}
    return {
        "product_instances": list(data.get("product_instances", [])),
        "usage": list(data.get("usage", [])),
    }


def _claim(sync_id) -> bool:
    now = timezone.now()
    claimed = (
        Synchronization.objects.filter(pk=sync_id)
        .filter(
            Q(status=SyncStatus.QUEUED)
            | Q(status=SyncStatus.RUNNING, started__lt=now - STALE_RUNNING_AFTER)
        )
        .update(status=SyncStatus.RUNNING, started=now, progress=5)
    )
    return claimed == 1


def run_synchronization(sync_id) -> Synchronization | None:
    """Run one queued network synchronization; safe to call twice (the second does nothing)."""
    if not _claim(sync_id):
        return None
    sync = Synchronization.objects.select_related("account").get(pk=sync_id)
    account = sync.account
    identity = satellite()
    try:
        _progress(sync_id, 15, "Collecting product instances and usage")
        report = licensing_report(account)
        _progress(
            sync_id,
            30,
            f"Uploading {len(report['product_instances'])} product instances and "
            f"{len(report['usage'])} usage records to Cisco Software Central",
        )
        answer = csc_client.synchronize(account, identity.server_id, report)
        _progress(sync_id, 60, "Answer received and its signature verified")
        resynchronize = _app_hook("security", "resynchronize_product_certificate")
        if resynchronize is not None and resynchronize(account):
            _progress(sync_id, 75, "Product certificate re-issued for the Host Common Name")
        apply_sync_response(account, answer, sync_id=sync_id, by_user=sync.requested_by)
    except Exception as exc:
        message = (
            str(exc)
            if isinstance(exc, csc_client.CscError | ValidationError)
            else "Synchronization failed because of an internal error; see the server log."
        )
        if isinstance(exc, ValidationError):
            message = "; ".join(exc.messages)
        if not isinstance(exc, csc_client.CscError | ValidationError):
            log.exception("Synchronization %s failed", sync_id)
        _fail(sync_id, account, message, sync.requested_by)
    return Synchronization.objects.get(pk=sync_id)


def _fail(sync_id, account, message, by_user):
    now = timezone.now()
    with transaction.atomic():
        sync = Synchronization.objects.select_for_update().get(pk=sync_id)
        sync.status = SyncStatus.FAILED
        sync.error = message[:300]
        sync.finished = now
        sync.log = [*sync.log, _log_line(f"Failed: {message}")]
        sync.save(update_fields=["status", "error", "finished", "log"])
        was_failing = (
            LocalAccount.objects.filter(pk=account.pk, last_sync_ok=False)
            .select_for_update()
            .exists()
        )
        LocalAccount.objects.filter(pk=account.pk).update(
            last_sync_attempt=now, last_sync_ok=False, sync_alert=message[:300]
        )
        if not was_failing:
            _mail_on_commit(
                account.notification_email,
                f"Synchronization of {account.name} failed",
                f"The synchronization of local account {account.name} with Cisco Software "
                f"Central failed: {message}\n\nLast successful synchronization: "
                f"{_format_time(account.last_synchronized)}. Synchronize again from the "
                "Synchronization widget once the cause is fixed.",
            )
        record_event(
            EventCategory.SYNCHRONIZATION,
            "synchronization_failed",
            f"Synchronization of {account.name} failed: {message}",
            user=by_user,
            result=EventResult.FAILURE,
            account=account,
            synchronization_id=sync_id,
        )


def _validate_entitlements(answer) -> list[dict]:
    entitlements = answer.get("entitlements")
    if not isinstance(entitlements, list):
        raise ValidationError("The answer from Cisco Software Central holds no entitlements list.")
    cleaned, seen = [], set()
    for item in entitlements:
        try:
            entry = {
                "name": str(item["name"])[:200],
                "tag": str(item["tag"])[:200],
                "billing": str(item.get("billing") or "Prepaid")[:32],
                "quantity": int(item["quantity"]),
                "product_type": str(item.get("product_type") or "")[:32],
            }
        except (KeyError, TypeError, ValueError):
            raise ValidationError(
                "The answer from Cisco Software Central holds a malformed entitlement."
            ) from None
        if entry["tag"] in seen:
            raise ValidationError(f"Entitlement {entry['tag']} appears twice in the answer.")
        seen.add(entry["tag"])
        cleaned.append(entry)
    return cleaned


def apply_sync_response(account: LocalAccount, answer: dict, *, sync_id, by_user=None):
    """Apply a checked sync-response in one transaction: purchased licenses and account state."""
    entitlements = _validate_entitlements(answer)
    state = str(answer.get("account_state") or "active")
    now = timezone.now()
    with transaction.atomic():
        locked = LocalAccount.objects.select_for_update().get(pk=account.pk)
        default_va = locked.default_virtual_account
        tags = {e["tag"] for e in entitlements}
        PurchasedLicense.objects.filter(account=locked, virtual_account=default_va).exclude(
            tag__in=tags
        ).delete()
        for entry in entitlements:
            PurchasedLicense.objects.update_or_create(
                account=locked,
                virtual_account=default_va,
                tag=entry["tag"],
                defaults={**entry, "synchronized": now},
            )
        locked.last_synchronized = now
        locked.last_sync_attempt = now
        locked.last_sync_ok = True
        locked.sync_alert = SYNC_SUCCESS_ALERT
        locked.csc_account_state = state[:32]
        if state == "active" and locked.status == AccountStatus.INACTIVE:
            locked.status = AccountStatus.ACTIVE
        elif state != "active" and locked.status == AccountStatus.ACTIVE:
            locked.status = AccountStatus.INACTIVE
        locked.save(
            update_fields=[
                "last_synchronized",
                "last_sync_attempt",
                "last_sync_ok",
                "sync_alert",
                "csc_account_state",
                "status",
            ]
        )
        sync = Synchronization.objects.select_for_update().get(pk=sync_id)
        sync.status = SyncStatus.SUCCEEDED
        sync.progress = 100
        sync.finished = now
        sync.error = ""
        sync.log = [
            *sync.log,
            _log_line(f"Applied {len(entitlements)} purchased licenses; account state {state}"),
            _log_line(SYNC_SUCCESS_ALERT),
        ]
        sync.save(update_fields=["status", "progress", "finished", "error", "log"])
        after = _licensing_hook("after_synchronization")
        if after is not None:
            after(locked, answer)
        record_event(
            EventCategory.SYNCHRONIZATION,
            "synchronization_succeeded",
            f"Synchronization of {locked.name} successful: {len(entitlements)} purchased licenses",
            user=by_user,
            account=locked,
            synchronization_id=sync_id,
            mode=sync.mode,
        )
    return sync


def set_sync_mode(account: LocalAccount, mode, by_user) -> LocalAccount:
    """Network (on demand and scheduled) or manual (files only) synchronization for an account."""
    if not can_synchronize(by_user, account):
        raise PermissionDenied("You cannot change how this account synchronizes.")
    mode = SyncMode(mode)
    with transaction.atomic():
        updated = (
            LocalAccount.objects.filter(pk=account.pk)
            .exclude(sync_mode=mode)
            .update(sync_mode=mode)
        )
        account.sync_mode = mode
        if updated:
            record_event(
                EventCategory.SYNCHRONIZATION,
                "sync_mode_changed",
                f"{account.name} now synchronizes in {mode.label.lower()} mode",
                user=by_user,
                account=account,
            )
    return account


def due_accounts():
    """Network-mode accounts whose synchronization is due (never synchronized or 30 days old)."""
    cutoff = timezone.now() - SYNC_INTERVAL
    return (
        LocalAccount.objects.exclude(status=AccountStatus.DELETING)
        .exclude(csc_registration_id="")
        .filter(sync_mode=SyncMode.NETWORK)
        .filter(Q(last_synchronized__isnull=True) | Q(last_synchronized__lte=cutoff))
    )


def queue_due_synchronizations() -> int:
    """Queue a scheduled synchronization for every due account; returns how many were queued."""
    queued = 0
    for account in due_accounts():
        sync = request_synchronization(account, None, SyncTrigger.SCHEDULED)
        if sync.trigger == SyncTrigger.SCHEDULED and sync.status == SyncStatus.QUEUED:
            queued += 1
    return queued


# --- Manual synchronization (files) ------------------------------------------------------------


def export_manual_sync_request(account: LocalAccount, by_user) -> tuple[str, bytes]:
    """The signed sync request file for an air-gapped site; only the latest one is awaited."""
    if not can_synchronize(by_user, account):
        raise PermissionDenied("You cannot synchronize this account.")
    if not account.csc_registration_id:
        raise ValidationError(
            f"Account {account.name} is not registered with Cisco Software Central."
        )
    identity = satellite()
    nonce = secrets.token_hex(16)
    report = licensing_report(account)
    csr = ""
    required = _app_hook("security", "resynchronization_required")
    make_csr = _app_hook("security", "product_certificate_csr")
    if required is not None and make_csr is not None and required(account):
        csr = make_csr()
    envelope = csc_client.build_sync_request(
        account, identity.server_id, report, nonce, product_ca_csr=csr
    )
    now = timezone.now()
    with transaction.atomic():
        Synchronization.objects.filter(account=account, status=SyncStatus.WAITING).update(
            status=SyncStatus.FAILED, error="Superseded by a newer sync request file", finished=now
        )
        Synchronization.objects.create(
            account=account,
            mode=SyncMode.MANUAL,
            trigger=SyncTrigger.MANUAL_FILE,
            status=SyncStatus.WAITING,
            progress=30,
            nonce=nonce,
            requested_by=by_user,
            log=[_log_line("Sync request file downloaded; waiting for the response file")],
        )
        record_event(
            EventCategory.SYNCHRONIZATION,
            "manual_sync_request_exported",
            f"Sync request file for {account.name} downloaded",
            user=by_user,
            result=EventResult.INFO,
            account=account,
        )
    filename = f"sync-request-{account.name}-{now:%Y%m%d-%H%M%S}.json".replace(" ", "_")
    return filename, json.dumps(envelope, indent=2).encode()


def import_manual_sync_response(account: LocalAccount, content: bytes, by_user) -> Synchronization:
    """Apply CSC's response file; a tampered, stale or foreign file is refused with the reason."""
    if not can_synchronize(by_user, account):
        raise PermissionDenied("You cannot synchronize this account.")
    identity = satellite()
    try:
        data = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        _refuse_file(account, by_user, "The file is not a Cisco Software Central response file.")
    try:
        answer = csc_client.open_envelope(
            data,
            "sync-response",
            account.csc_secret,
            registration_id=account.csc_registration_id,
            server_id=str(identity.server_id),
        )
    except csc_client.CscBadSignature as exc:
        _refuse_file(account, by_user, f"The response file was refused: {exc}")
    nonce = str(answer.get("nonce") or "")
    sync = Synchronization.objects.filter(
        account=account, mode=SyncMode.MANUAL, nonce=nonce
    ).first()
    if not nonce or sync is None:
        _refuse_file(
            account,
            by_user,
            "The response file does not answer a sync request file of this account.",
        )
    if sync.status == SyncStatus.SUCCEEDED:
        raise ValidationError("This response file was already applied; nothing changed.")
    if sync.status != SyncStatus.WAITING:
        _refuse_file(
            account,
            by_user,
            "The response file answers an older sync request file; download a new request "
            "file and take it to Cisco Software Central.",
        )
    with transaction.atomic():
        claimed = Synchronization.objects.filter(pk=sync.pk, status=SyncStatus.WAITING).update(
            status=SyncStatus.RUNNING, started=timezone.now()
        )
        if claimed != 1:
            raise ValidationError("This response file is being applied already.")
        Synchronization.objects.filter(pk=sync.pk).update(
            log=[*sync.log, _log_line("Response file uploaded and its signature verified")]
        )
        if answer.get("product_ca_certificate"):
            install = _app_hook("security", "install_product_certificate")
            if install is not None:
                install(
                    account,
                    str(answer["product_ca_certificate"]),
                    "".join(str(c) for c in answer.get("product_ca_chain") or []),
                )
                Synchronization.objects.filter(pk=sync.pk).update(
                    log=[
                        *Synchronization.objects.get(pk=sync.pk).log,
                        _log_line("Product certificate re-issued for the Host Common Name"),
                    ]
                )
        return apply_sync_response(account, answer, sync_id=sync.pk, by_user=by_user)


def _refuse_file(account, by_user, message):
    with transaction.atomic():
        record_event(
            EventCategory.SYNCHRONIZATION,
            "manual_sync_response_refused",
            f"Sync response file for {account.name} refused: {message}",
            user=by_user,
            result=EventResult.FAILURE,
            account=account,
        )
    raise ValidationError(message)
