"""Network synchronization: queued on demand or by the schedule, run by a Celery worker.

The run collects the product instances and usage (licensing), uploads them to Cisco Software
Central through accounts.csc_client, has the product certificate re-issued when the Host
Common Name changed, and applies the answer.
"""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts import csc_client
from accounts.access import can_synchronize
from accounts.choices import AccountStatus, SyncMode
from accounts.models import SYNC_INTERVAL, LocalAccount
from accounts.services import satellite
from core.choices import EventCategory, EventResult
from core.services import record_event
from licensing.services import sync_report

# tasks.py imports this package too: both refer to each other as modules, at call time
from .. import tasks
from ..choices import SyncScope, SyncStatus, SyncTrigger
from ..models import Synchronization
from .jobs import apply_sync_response, claim, expire_stale_jobs, fail, log_line, progress
from .product_certificate import resynchronize_product_certificate

log = logging.getLogger(__name__)


def request_synchronization(
    account: LocalAccount,
    by_user=None,
    trigger=SyncTrigger.ON_DEMAND,
    *,
    enqueue=True,
    scope=SyncScope.STANDARD,
) -> Synchronization:
    """Queue a network synchronization (or return the one already queued or running).

    Standard uploads the product instances changed since the last successful
    synchronization, full every one of them (the first synchronization is always full).
    With enqueue=False no Celery task is sent; the caller runs run_synchronization itself.
    """
    if by_user is not None and not can_synchronize(by_user, account):
        raise PermissionDenied("You cannot synchronize this account.")
    if account.status == AccountStatus.DELETING or not account.csc_registration_id:
        raise ValidationError(
            f"Account {account.name} is not registered with Cisco Software Central."
        )
    if account.status == AccountStatus.DEACTIVATED:
        raise ValidationError(
            f"Account {account.name} is deactivated: a system administrator reactivates it "
            "(Accounts → the account → Reactivate) before it synchronizes."
        )
    if account.last_synchronized is None:
        scope = SyncScope.FULL
    with transaction.atomic():
        expire_stale_jobs(account)
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
                    scope=SyncScope(scope),
                    requested_by=by_user if getattr(by_user, "pk", None) else None,
                    log=[log_line("Synchronization queued")],
                )
        except IntegrityError:
            return account.synchronizations.filter(
                status__in=[SyncStatus.QUEUED, SyncStatus.RUNNING]
            ).first()
        record_event(
            EventCategory.SYNCHRONIZATION,
            "synchronization_queued",
            f"{SyncScope(scope).label} synchronization of {account.name} queued "
            f"({SyncTrigger(trigger).label})",
            user=by_user,
            result=EventResult.INFO,
            account=account,
            synchronization_id=sync.pk,
        )
        if enqueue:
            transaction.on_commit(lambda: tasks.run_synchronization_task.delay(sync.pk))
    return sync


def _last_success_started(account):
    """When the last successful synchronization began collecting (a standard one uploads what
    changed from then on; None: there was none, everything goes)."""
    return (
        account.synchronizations.filter(status=SyncStatus.SUCCEEDED, started__isnull=False)
        .order_by("-started")
        .values_list("started", flat=True)
        .first()
    )


def run_synchronization(sync_id) -> Synchronization | None:
    """Run one queued network synchronization; safe to call twice (the second does nothing)."""
    if not claim(sync_id):
        return None
    sync = Synchronization.objects.select_related("account").get(pk=sync_id)
    account = sync.account
    identity = satellite()
    try:
        progress(sync_id, 15, "Collecting product instances and usage")
        since = _last_success_started(account) if sync.scope == SyncScope.STANDARD else None
        report = sync_report(account, since=since)
        progress(
            sync_id,
            30,
            f"Uploading {len(report['product_instances'])} product instances"
            + (f" changed since {since:%Y-%b-%d %H:%M:%S}" if since else "")
            + (f", {len(report['removed'])} removed" if report.get("removed") else "")
            + " and "
            f"{len(report['usage'])} usage records to Cisco Software Central",
        )
        answer = csc_client.synchronize(account, identity.server_id, report)
        progress(sync_id, 60, "Answer received and its signature verified")
        if resynchronize_product_certificate(account):
            progress(sync_id, 75, "Product certificate re-issued for the Host Common Name")
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
        fail(sync_id, account, message, sync.requested_by)
    return Synchronization.objects.get(pk=sync_id)


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
        LocalAccount.objects.exclude(status__in=[AccountStatus.DELETING, AccountStatus.DEACTIVATED])
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


def queue_first_synchronization(sender=None, account=None, by_user=None, **kwargs):
    """A newly approved account synchronizes at once (accounts' local_account_approved), so
    its licenses show without anyone pressing "Synchronize now"."""
    try:
        request_synchronization(account, None, SyncTrigger.APPROVAL, scope=SyncScope.FULL)
    except ValidationError as exc:
        log.warning("No first synchronization for %s: %s", account.name, "; ".join(exc.messages))
