"""Smart Licensing Using Policy: RUM reports received through the CSLU URL."""

from cryptography import x509
from django.db import transaction
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


def receive_rum_reports(account, reports: list[dict]) -> list[dict]:
    """Store signed RUM reports (OPEN), apply their usage (CLOSED) and acknowledge them (ACK).
    One refused report refuses the whole post: nothing of it is stored."""
    acks = []
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
            RumReport.objects.filter(pk=row.pk).update(
                state=ReportState.ACK, acknowledged=timezone.now()
            )
            acks.append({"report_id": row.report_id, "status": ReportState.ACK.value})
    return acks
