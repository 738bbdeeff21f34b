"""Manual synchronization for air-gapped sites: a signed request file out, CSC's signed
response file in, matched by a nonce (only the latest request file is awaited)."""

import json
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import csc_client
from accounts.access import can_synchronize
from accounts.choices import SyncMode
from accounts.models import LocalAccount
from accounts.services import satellite
from core.choices import EventCategory, EventResult
from core.parsers import RefusedJSON, loads
from core.services import record_event
from licensing.services import sync_report
from security.services import resynchronization_required

from ..choices import SyncStatus, SyncTrigger
from ..models import Synchronization
from .jobs import apply_sync_response, log_line
from .product_certificate import install_product_certificate, product_certificate_csr


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
    report = sync_report(account)
    csr = ""
    if resynchronization_required(account):
        csr = product_certificate_csr()
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
            log=[log_line("Sync request file downloaded; waiting for the response file")],
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
        data = loads(content.decode("utf-8"))
    except (UnicodeDecodeError, RefusedJSON):
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
            log=[*sync.log, log_line("Response file uploaded and its signature verified")]
        )
        if answer.get("product_ca_certificate"):
            install_product_certificate(
                account,
                str(answer["product_ca_certificate"]),
                "".join(str(c) for c in answer.get("product_ca_chain") or []),
            )
            Synchronization.objects.filter(pk=sync.pk).update(
                log=[
                    *Synchronization.objects.get(pk=sync.pk).log,
                    log_line("Product certificate re-issued for the Host Common Name"),
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
