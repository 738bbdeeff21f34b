"""Smart Licensing Using Policy: RUM reports received through the CSLU URL."""

from cryptography import x509
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.choices import EventCategory
from core.services import record_event

from .. import pki
from ..choices import InstanceStatus, ReportState
from ..envelope import EnvelopeError
from ..models import (
    ProductInstance,
    RumReport,
)
from .registration import instance_name
from .usage import set_usage


def _reporting_instance(account, report: dict) -> ProductInstance | None:
    """The registered product instance a RUM report comes from, proven by its signature with
    the product's ID key; None for an unsigned report the account accepts.

    Refused (401, nothing stored): an unsigned report unless the local account allows them, a
    signed report from no registered product of the account, a signature that does not verify.
    A URL naming no local account (account None) answers as an account with no product would.
    """
    instance = None
    if account is not None:
        instance = (
            ProductInstance.objects.select_for_update()
            .filter(
                virtual_account__account=account,
                udi_pid=report["pid"],
                udi_sn=report["sn"],
                status=InstanceStatus.REGISTERED,
            )
            .first()
        )
    if report["signature"] is None:
        if account is not None and account.accept_unsigned_rum_reports:
            return instance
        raise EnvelopeError(
            401,
            "unsigned_report",
            f"RUM report {report['report_id']} is not signed: the product signs it with its ID "
            "key (or an Account Administrator allows unsigned reports in Preferences)",
        )
    if instance is None:
        raise EnvelopeError(
            401,
            "unknown_instance",
            f"RUM report {report['report_id']}: no registered product instance "
            f"{instance_name(report['pid'], report['sn'])} in this local account",
        )
    public_key = x509.load_pem_x509_certificate(instance.certificate_pem.encode()).public_key()
    if not pki.verify(public_key, report["signed_bytes"], report["signature"]):
        raise EnvelopeError(
            401,
            "bad_signature",
            f"RUM report {report['report_id']}: the signature does not verify with the "
            "product's ID certificate",
        )
    return instance


def receive_rum_reports(account, reports: list[dict]) -> tuple[list[dict], list[dict]]:
    """Store signed RUM reports (OPEN) and apply their usage (CLOSED: they wait for CSC's
    acknowledgement, which a synchronization brings). Returns what was received and the
    acknowledgements CSC gave since for earlier reports of the same products, handed to them
    now. One refused report refuses the whole post: nothing of it is stored."""
    received = []
    with transaction.atomic():
        sources = [_reporting_instance(account, report) for report in reports]
        for report, instance in zip(reports, sources, strict=True):
            now = timezone.now()
            virtual_account = (
                instance.virtual_account if instance else account.default_virtual_account
            )
            row, created = RumReport.objects.get_or_create(
                virtual_account=virtual_account,
                udi_pid=report["pid"],
                udi_sn=report["sn"],
                report_id=report["report_id"],
                defaults={
                    "tag": report["tag"],
                    "count": report["count"],
                    "payload": report["payload"],
                    "received": now,
                },
            )
            if created:
                if instance is not None and report["tag"] and report["count"] is not None:
                    set_usage(instance, [(report["tag"], report["count"])], replace=False)
                    ProductInstance.objects.filter(pk=instance.pk).update(last_contact=now)
                RumReport.objects.filter(pk=row.pk).update(state=ReportState.CLOSED, closed=now)
                row.state = ReportState.CLOSED
                signed = "signed" if report["signature"] else "unsigned"
                record_event(
                    EventCategory.LICENSING,
                    "rum_report_received",
                    f"RUM report {row.report_id} ({signed}) from "
                    f"{instance_name(row.udi_pid, row.udi_sn)}"
                    + (f": {row.tag} × {row.count}" if row.tag else ""),
                    account=virtual_account.account,
                    username=row.udi_sn or "product",
                    virtual_account=virtual_account.pk,
                )
            received.append({"report_id": row.report_id, "status": row.state})
        acks = _deliver_acks(account, {(r["pid"], r["sn"]) for r in reports})
    return received, acks


def _deliver_acks(account, products) -> list[dict]:
    """CSC's acknowledgements of these products' earlier reports not yet handed to them."""
    if account is None or not products:
        return []
    match = Q()
    for pid, sn in products:
        match |= Q(udi_pid=pid, udi_sn=sn)
    waiting = RumReport.objects.filter(
        match,
        virtual_account__account=account,
        state=ReportState.ACK,
        ack_delivered__isnull=True,
    ).select_for_update()
    acks = [
        {
            "report_id": r.report_id,
            "udi_pid": r.udi_pid,
            "udi_sn": r.udi_sn,
            "status": ReportState.ACK.value,
            "acknowledged": r.acknowledged.isoformat(),
        }
        for r in waiting
    ]
    RumReport.objects.filter(pk__in=[r.pk for r in waiting]).update(ack_delivered=timezone.now())
    return acks


def pending_rum_reports(account) -> list[dict]:
    """The account's applied RUM reports CSC has not acknowledged, as a synchronization sends
    them; marks them sent."""
    rows = list(
        RumReport.objects.filter(virtual_account__account=account, state=ReportState.CLOSED)
        .select_related("virtual_account")
        .order_by("received", "pk")
    )
    RumReport.objects.filter(pk__in=[r.pk for r in rows], sent__isnull=True).update(
        sent=timezone.now()
    )
    return [
        {
            "report_id": r.report_id,
            "udi_pid": r.udi_pid,
            "udi_sn": r.udi_sn,
            "tag": r.tag,
            "count": r.count,
            "virtual_account": r.virtual_account.name,
            "received": r.received.isoformat(),
        }
        for r in rows
    ]


def acknowledge_rum_reports(account, acks) -> int:
    """Apply CSC's acknowledgements (from a synchronization or its response file): the
    reports become ACK; returns how many. Acknowledgements of unknown reports are ignored."""
    if not isinstance(acks, list):
        return 0
    done = 0
    now = timezone.now()
    for ack in acks:
        if not isinstance(ack, dict) or ack.get("status") != ReportState.ACK.value:
            continue
        done += RumReport.objects.filter(
            virtual_account__account=account,
            state=ReportState.CLOSED,
            report_id=str(ack.get("report_id", ""))[:64],
            udi_pid=str(ack.get("udi_pid", ""))[:100],
            udi_sn=str(ack.get("udi_sn", ""))[:100],
        ).update(state=ReportState.ACK, acknowledged=now)
    return done
