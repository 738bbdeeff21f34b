"""Celery tasks of the synchronization app: thin wrappers that load ids and call services.

The names the accounts app used before (accounts.run_synchronization,
accounts.queue_due_synchronizations) stay registered for one release, so messages queued
and beat entries written by an older version still run after an upgrade.
"""

from celery import shared_task

from . import services


@shared_task(name="synchronization.run_synchronization", acks_late=True)
def run_synchronization_task(sync_id: int):
    """Run one queued synchronization (idempotent: a finished or claimed job is left alone)."""
    sync = services.run_synchronization(sync_id)
    return sync.status if sync else "skipped"


@shared_task(name="synchronization.queue_due_synchronizations")
def queue_due_synchronizations_task():
    """Queue the synchronizations that are due (run by beat)."""
    return services.queue_due_synchronizations()


@shared_task(name="accounts.run_synchronization", acks_late=True)
def run_synchronization_task_v1(sync_id: int):
    """The task's name before the synchronization app (kept for one release)."""
    return run_synchronization_task(sync_id)


@shared_task(name="accounts.queue_due_synchronizations")
def queue_due_synchronizations_task_v1():
    """The task's name before the synchronization app (kept for one release)."""
    return queue_due_synchronizations_task()
