"""Celery tasks of the licensing app: thin wrappers around services."""

from celery import shared_task

from . import services


@shared_task(name="licensing.purge_used_nonces")
def purge_used_nonces_task():
    """Forget nonces older than the timestamp window (run by beat; idempotent)."""
    return services.purge_used_nonces()


@shared_task(name="licensing.notify_alerts")
def notify_alerts_task():
    """E-mail new alerts and daily digests as each account's Preferences ask (run by beat;
    each alert is e-mailed once)."""
    return services.notify_alerts()
