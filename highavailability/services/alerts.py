"""When no node can serve: the operators' e-mail and the event once a database answers again."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.choices import SystemRole
from core.choices import EventResult
from core.models import Event

from .common import ha_event


def system_administrator_emails() -> list[str]:
    """Where cluster alerts go: every active system administrator with an e-mail address."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    admins = users.filter(
        Q(is_superuser=True) | Q(ssm_profile__system_role=SystemRole.SYSTEM_ADMIN)
    )
    return sorted(set(admins.values_list("email", flat=True)))


def alert_no_active_server(node: str, reason: str) -> list[str]:
    """E-mail the system administrators that the cluster has no active server (read-only:
    it runs on a standby while no database accepts writes). Returns the recipients."""
    recipients = system_administrator_emails()
    send_mail(
        "[SSM On-Prem] High availability: no active server",
        f"The cluster has no active server (seen from {node} at "
        f"{timezone.now():%Y-%m-%d %H:%M:%S} UTC).\n\n{reason}.\n\n"
        "ha_status on either node shows the current state.",
        settings.DEFAULT_FROM_EMAIL,
        recipients or [settings.DEFAULT_FROM_EMAIL],
    )
    return recipients


def record_when_the_database_answers(write, seconds: float) -> bool:
    """Run `write()` in a transaction as soon as a database accepts writes (after a
    promotion the new primary takes a few seconds); False when none did within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with transaction.atomic():
                write()
            return True
        except DatabaseError:
            connection.close()
            if time.monotonic() > deadline:
                return False
            time.sleep(1)


def record_no_active_server(node: str, reason: str, since: str) -> Event:
    """The HA event of a period without an active server, once a database accepts writes."""
    return ha_event(
        "no_active_server",
        f"No active server from {since} (seen from {node}): {reason}",
        EventResult.FAILURE,
        node=node,
        since=since,
    )
