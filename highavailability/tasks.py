"""Celery tasks of the highavailability app: thin wrappers around its services."""

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.db import DatabaseError

from . import cluster, services

logger = logging.getLogger(__name__)


@shared_task(name="highavailability.collect_cluster_state", ignore_result=True)
def collect_cluster_state_task():
    """Store the cluster state seen from this node (run every few seconds by beat).

    While the database moves (a failover) it is out of reach for a few seconds: that run
    is skipped, the next one records what happened.
    """
    try:
        return [event.action for event in services.collect_cluster_state()]
    except DatabaseError as exc:
        logger.warning("cluster state not stored: %s", (str(exc).strip().splitlines() or [""])[0])
        return None


@worker_ready.connect
def record_local_system_info(**kwargs):
    """A worker starting on a cluster node records that node's System Information."""
    try:
        services.record_local_system_info()
    except DatabaseError as exc:
        logger.warning(
            "system information not stored: %s", (str(exc).strip().splitlines() or [""])[0]
        )


@shared_task(name="highavailability.run_operation", ignore_result=True)
def run_operation_task(job_id: int):
    """Run a cluster operation queued from the widget or the API (once, even if redelivered)."""
    job = services.claim_operation(job_id)
    if job is None:
        return
    try:
        services.run_operation(job, say=logger.info)
    except cluster.ClusterError as exc:
        logger.warning("%s failed: %s", job, exc)
