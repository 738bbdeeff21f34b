"""Smart Licensing Using Policy: RUM reports received through the CSLU URL."""

from django.db import transaction
from django.utils import timezone

from core.choices import EventCategory
from core.services import record_event

from ..choices import InstanceStatus, ReportState
from ..models import (
    ProductInstance,
    RumReport,
)
from .registration import instance_name
from .usage import set_usage


def receive_rum_reports(virtual_account, reports: list[dict]) -> list[dict]:
    """Store RUM reports (OPEN), apply their usage (CLOSED) and acknowledge them (ACK)."""
    acks = []
    with transaction.atomic():
        for report in reports:
            now = timezone.now()
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
                instance = (
                    ProductInstance.objects.select_for_update()
                    .filter(
                        virtual_account=virtual_account,
                        udi_pid=report["pid"],
                        udi_sn=report["sn"],
                        status=InstanceStatus.REGISTERED,
                    )
                    .first()
                )
                if instance is not None and report["tag"] and report["count"] is not None:
                    set_usage(instance, [(report["tag"], report["count"])], replace=False)
                    ProductInstance.objects.filter(pk=instance.pk).update(last_contact=now)
                RumReport.objects.filter(pk=row.pk).update(state=ReportState.CLOSED, closed=now)
                record_event(
                    EventCategory.LICENSING,
                    "rum_report_received",
                    f"RUM report {row.report_id} from {instance_name(row.udi_pid, row.udi_sn)}"
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
