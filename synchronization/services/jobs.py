"""What every synchronization shares: the job's log and progress, its claim, and applying
Cisco Software Central's answer (purchased licenses and account state) in one transaction."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from accounts.choices import AccountStatus
from accounts.models import LocalAccount, PurchasedLicense
from core.choices import EventCategory, EventResult
from core.services import format_time, mail_on_commit, record_event
from licensing.services import acknowledge_rum_reports

from ..choices import SyncStatus
from ..models import Synchronization

SYNC_SUCCESS_ALERT = "Synchronization Successful"
STALE_RUNNING_AFTER = dt.timedelta(minutes=10)


def log_line(text):
    """One line of a job's log, stamped with the time."""
    return {"time": timezone.now().strftime("%Y-%b-%d %H:%M:%S"), "message": text}


def progress(sync_id, progress, message):
    """Write progress and its log line in one short transaction of their own (the live view
    never shows a progress without its line), outside any apply transaction."""
    with transaction.atomic():
        sync = Synchronization.objects.select_for_update().get(pk=sync_id)
        sync.progress, sync.log = progress, [*sync.log, log_line(message)]
        sync.save(update_fields=["progress", "log"])


def expire_stale_jobs(account):
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
        job.log = [*job.log, log_line(job.error)]
        job.save(update_fields=["status", "error", "finished", "log"])


def claim(sync_id) -> bool:
    """Take a queued (or abandoned) job for this worker; False when another has it."""
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


def fail(sync_id, account, message, by_user):
    """End a job as failed: the account's alert, one e-mail when it starts failing, an event."""
    now = timezone.now()
    with transaction.atomic():
        sync = Synchronization.objects.select_for_update().get(pk=sync_id)
        sync.status = SyncStatus.FAILED
        sync.error = message[:300]
        sync.finished = now
        sync.log = [*sync.log, log_line(f"Failed: {message}")]
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
            mail_on_commit(
                account.notification_email,
                f"Synchronization of {account.name} failed",
                f"The synchronization of local account {account.name} with Cisco Software "
                f"Central failed: {message}\n\nLast successful synchronization: "
                f"{format_time(account.last_synchronized)}. Synchronize again from the "
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


def validate_entitlements(answer) -> list[dict]:
    """The answer's entitlements, checked; ValidationError names what is malformed."""
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


def apply_entitlements(account: LocalAccount, entitlements: list[dict], now) -> None:
    """CSC's entitlements are the account's totals: the licenses transferred to other local
    virtual accounts stay there (with CSC's name for the tag) and Default holds the rest. A
    tag CSC no longer lists leaves every virtual account. Called with the account locked."""
    default_va = account.default_virtual_account
    tags = {e["tag"] for e in entitlements}
    PurchasedLicense.objects.filter(account=account).exclude(tag__in=tags).delete()
    elsewhere = dict(
        PurchasedLicense.objects.filter(account=account)
        .exclude(virtual_account=default_va)
        .values("tag")
        .annotate(total=Sum("quantity"))
        .values_list("tag", "total")
    )
    for entry in entitlements:
        catalog = {k: entry[k] for k in ("name", "billing", "product_type")}
        PurchasedLicense.objects.filter(account=account, tag=entry["tag"]).exclude(
            virtual_account=default_va
        ).update(**catalog, synchronized=now)
        PurchasedLicense.objects.update_or_create(
            account=account,
            virtual_account=default_va,
            tag=entry["tag"],
            defaults={
                **entry,
                "quantity": entry["quantity"] - elsewhere.get(entry["tag"], 0),
                "synchronized": now,
            },
        )


def apply_sync_response(account: LocalAccount, answer: dict, *, sync_id, by_user=None):
    """Apply a checked sync-response in one transaction: purchased licenses and account state."""
    entitlements = validate_entitlements(answer)
    state = str(answer.get("account_state") or "active")
    now = timezone.now()
    with transaction.atomic():
        locked = LocalAccount.objects.select_for_update().get(pk=account.pk)
        apply_entitlements(locked, entitlements, now)
        acknowledged = acknowledge_rum_reports(locked, answer.get("rum_acks", []))
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
        quantity = sum(e["quantity"] for e in entitlements)
        licenses = f"{len(entitlements)} licenses, {quantity} purchased in all"
        if acknowledged:
            licenses += f"; {acknowledged} RUM report(s) acknowledged"
        sync.status = SyncStatus.SUCCEEDED
        sync.progress = 100
        sync.finished = now
        sync.error = ""
        sync.log = [
            *sync.log,
            log_line(f"Applied {licenses}; account state {state}"),
            log_line(SYNC_SUCCESS_ALERT),
        ]
        sync.save(update_fields=["status", "progress", "finished", "error", "log"])
        record_event(
            EventCategory.SYNCHRONIZATION,
            "synchronization_succeeded",
            f"Synchronization of {locked.name} successful: {licenses}",
            user=by_user,
            account=locked,
            synchronization_id=sync_id,
            mode=sync.mode,
        )
    return sync
