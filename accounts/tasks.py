"""Celery tasks of the accounts app: thin wrappers that load ids and call services."""

from celery import shared_task

from . import services


@shared_task(name="accounts.run_synchronization", acks_late=True)
def run_synchronization_task(sync_id: int):
    """Run one queued synchronization (idempotent: a finished or claimed job is left alone)."""
    sync = services.run_synchronization(sync_id)
    return sync.status if sync else "skipped"


@shared_task(name="accounts.queue_due_synchronizations")
def queue_due_synchronizations_task():
    """Queue the synchronizations that are due (run by beat)."""
    return services.queue_due_synchronizations()
