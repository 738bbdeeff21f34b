"""Celery tasks of the security app: thin wrappers around services."""

from celery import shared_task

from . import services


@shared_task(name="security.forget_failed_logins")
def forget_failed_logins_task():
    """Drop expired failure counts and those of names that are no user (run by beat)."""
    return services.forget_failed_logins()
