"""Celery tasks of the licensing app: thin wrappers around services."""

from celery import shared_task

from . import services


@shared_task(name="licensing.purge_used_nonces")
def purge_used_nonces_task():
    """Forget nonces older than the timestamp window (run by beat; idempotent)."""
    return services.purge_used_nonces()
