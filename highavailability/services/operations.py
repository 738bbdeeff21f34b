"""Cluster operations started from the widget or the API (switchover, fallback, failover
rehearsal, maintenance of the standby): validated here, queued as a tracked HA job, run by a
Celery worker through the same node-level code as the console commands."""

from __future__ import annotations

import socket

from celery import current_app
from django.conf import settings
from django.db import transaction

from accounts.access import is_system_admin
from core.choices import EventResult

from .. import cluster
from ..choices import ClusterHealth, HAJobKind, HAJobStatus
from ..models import HAJob
from .common import ha_event
from .jobs import start_job
from .status import cluster_status, is_stale

OPERATIONS = {
    "switchover": HAJobKind.SWITCHOVER,
    "fallback": HAJobKind.FALLBACK,
    "rehearsal": HAJobKind.REHEARSAL,
    "maintenance": HAJobKind.MAINTENANCE,
    "maintenance_end": HAJobKind.MAINTENANCE_END,
}
OPERATION_KINDS = set(OPERATIONS.values())


class OperationRefused(Exception):
    """The operation cannot start now; the message says why and what to do."""


def primary_node_name() -> str:
    """The node configured as the primary (the one a fallback returns the active role to)."""
    try:
        nodes = cluster.configured_nodes()
    except OSError:
        return ""
    return min(nodes, key=lambda n: n.nodeid).name if nodes else ""


def running_operation() -> HAJob | None:
    """The operation running now, if any (one runs at a time)."""
    return HAJob.objects.filter(kind__in=OPERATION_KINDS, status=HAJobStatus.RUNNING).first()


def operation_refusal(operation: str, node: str = "") -> str:
    """Why `operation` cannot start now, from the cluster as last collected ("" when it can)."""
    if operation not in OPERATIONS:
        return f"unknown operation '{operation}' (one of: {', '.join(OPERATIONS)})"
    status = cluster_status()
    return common_refusal(status) or specific_refusal(operation, node, status)


def common_refusal(status) -> str:
    """What refuses every operation now: no HA, a state not collected (or not yet after the
    last operation), an operation running."""
    if status is None or not status.ha_enabled:
        return "HA is not enabled."
    if is_stale(status):
        return "the cluster state is not being collected now: see ha_status on each node"
    running = running_operation()
    if running:
        return f"{running.get_kind_display()} is running (job {running.pk}): wait until it ends"
    last = HAJob.objects.filter(kind__in=OPERATION_KINDS).exclude(finished=None).first()
    if last and status.collected and status.collected < last.finished:
        return (
            f"the cluster state after the last {last.get_kind_display()} is being collected: "
            "try again in a few seconds"
        )
    return ""


def specific_refusal(operation: str, node: str, status) -> str:
    """What refuses this operation in particular, on a cluster no common refusal applies to."""
    if operation == "maintenance_end":
        return "" if node else "name the node whose maintenance ends"
    if status.health != ClusterHealth.NORMAL:
        return f"the cluster is {status.get_health_display()}: it must be Normal"
    if not status.standby_promotable:
        return "the standby is not promotable now: wait until the widget shows it promotable"
    if operation == "fallback" and status.active_node == primary_node_name():
        return f"{status.active_node} is already the active server (nothing to fall back)"
    if operation == "maintenance" and node and node == status.active_node:
        return f"{node} is the active server: switch over first, then put it in maintenance"
    return ""


def start_operation(operation: str, user, *, node: str = "") -> HAJob:
    """Queue a cluster operation as a tracked HA job (run by run_operation on a worker);
    raises OperationRefused with the reason when the cluster is not ready for it."""
    with transaction.atomic():
        # one operation at a time: concurrent starts queue here, and the second is refused
        HAJob.objects.select_for_update().filter(kind__in=OPERATION_KINDS).first()
        why = operation_refusal(operation, node)
        if not why:
            job = start_job(OPERATIONS[operation], user=user)
            # queued: the worker that claims it names its node
            HAJob.objects.filter(pk=job.pk).update(node="", report={"node": node} if node else {})
            job.refresh_from_db()
            transaction.on_commit(
                lambda: current_app.send_task("highavailability.run_operation", args=[job.pk])
            )
    if why:
        label = OPERATIONS[operation].label if operation in OPERATIONS else operation
        ha_event(f"{operation}_refused"[:64], f"{label} refused: {why}", EventResult.FAILURE,
                 user=user)  # fmt: skip
        raise OperationRefused(why)
    return job


def claim_operation(job_id: int) -> HAJob | None:
    """The queued job, claimed by this worker (None when another worker ran it already: a
    redelivered task never runs an operation twice)."""
    claimed = HAJob.objects.filter(pk=job_id, status=HAJobStatus.RUNNING, node="").update(
        node=socket.gethostname()[:100]
    )
    return HAJob.objects.get(pk=job_id) if claimed else None


def operation_timeout() -> float:
    return float(settings.HA_DEPLOY_TIMEOUT)


def node_in_maintenance() -> str:
    """The node the last maintenance operation took out of the cluster and no later one
    brought back ("" when none)."""
    last = (
        HAJob.objects.filter(kind__in=(HAJobKind.MAINTENANCE, HAJobKind.MAINTENANCE_END))
        .exclude(status=HAJobStatus.FAILED)
        .first()
    )
    if last is None or last.kind != HAJobKind.MAINTENANCE:
        return ""
    return last.report.get("node", "")


def offered_operations(user) -> list[dict]:
    """The operations the widget offers a system administrator now, each with the reason it
    cannot start ("" when it can); the state is read once for all of them (the widget asks
    every 2 s)."""
    if not is_system_admin(user):
        return []
    status = cluster_status()
    common = common_refusal(status)
    away = node_in_maintenance()
    if away:
        why = common or specific_refusal("maintenance_end", away, status)
        return [{"operation": "maintenance_end", "label": f"End maintenance of {away}",
                 "node": away, "refusal": why}]  # fmt: skip
    return [
        {"operation": op, "label": label, "node": "",
         "refusal": common or specific_refusal(op, "", status)}
        for op, label in (
            ("switchover", "Switchover"),
            ("fallback", "Fallback"),
            ("rehearsal", "Rehearse failover and fallback"),
            ("maintenance", "Maintenance of the standby"),
        )
    ]  # fmt: skip
