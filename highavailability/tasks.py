"""Celery tasks of the highavailability app: thin wrappers around its services."""

from celery import shared_task

from . import services


@shared_task(name="highavailability.collect_cluster_state", ignore_result=True)
def collect_cluster_state_task():
    """Store the cluster state seen from this node (run every few seconds by beat)."""
    return [event.action for event in services.collect_cluster_state()]
