"""Celery tasks of the core app."""

from celery import shared_task

from . import syslog


@shared_task(name="core.forward_events", ignore_result=True)
def forward_events() -> int:
    """Forward the new event-log entries to the syslog servers (periodic; see core/syslog.py)."""
    return syslog.forward_events()
