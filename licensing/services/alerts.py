"""The License Workspace's alerts: what needs an operator's eye in a local account, dismissed
from the Alerts tab and e-mailed as the account's Preferences ask (at once and as a digest)."""

import datetime as dt
import logging
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from accounts.access import can_manage, can_use
from accounts.models import LocalAccount
from core.choices import EventCategory
from core.services import format_time, record_event

from ..choices import AlertKind, InstanceStatus
from ..models import AlertPreferences, AlertState, ProductInstance, RegistrationToken
from .common import LicensingError
from .licenses import license_rows

log = logging.getLogger(__name__)
SEVERITY = {
    AlertKind.INSUFFICIENT_LICENSES: "danger",
    AlertKind.SYNC_FAILED: "danger",
    AlertKind.NOT_REPORTING: "warning",
    AlertKind.CERTIFICATE_EXPIRING: "warning",
    AlertKind.SYNC_OVERDUE: "warning",
    AlertKind.TOKEN_EXPIRING: "info",
}


@dataclass(frozen=True)
class Alert:
    """One open alert; `key` names it for dismissal and notification (it changes when the
    alert gets worse, so a worse one shows and is e-mailed again)."""

    key: str
    kind: AlertKind
    message: str
    virtual_account: str = ""

    @property
    def severity(self) -> str:
        return SEVERITY[self.kind]


def _when(value) -> str:
    return format_time(timezone.localtime(value)) if value else "never"


def preferences(account) -> AlertPreferences:
    """The account's alert preferences (the defaults until an administrator saves them)."""
    found = AlertPreferences.objects.filter(account=account).first()
    return found or AlertPreferences(account=account)


def account_alerts(account, *, now=None, include_dismissed=False) -> list[Alert]:
    """Every open alert of a local account, its virtual accounts' first."""
    now = now or timezone.now()
    prefs = preferences(account)
    found = []
    for va in account.virtual_accounts.all():
        for row in license_rows(va):
            if row["balance"] < 0:
                found.append(
                    Alert(
                        f"insufficient:{va.pk}:{row['tag']}:{row['balance']}",
                        AlertKind.INSUFFICIENT_LICENSES,
                        f"{row['name']}: Insufficient Licenses (balance {row['balance']})",
                        va.name,
                    )
                )
        registered = ProductInstance.objects.filter(
            virtual_account=va, status=InstanceStatus.REGISTERED
        )
        quiet = registered.filter(
            last_contact__lt=now - dt.timedelta(days=prefs.not_reporting_days)
        ).count()
        if quiet:
            found.append(
                Alert(
                    f"not_reporting:{va.pk}:{quiet}",
                    AlertKind.NOT_REPORTING,
                    f"{quiet} product instance(s) have not reported for "
                    f"{prefs.not_reporting_days} days",
                    va.name,
                )
            )
        soon = now + dt.timedelta(days=prefs.expiring_days)
        expiring = registered.filter(certificate_expires__lt=soon).count()
        if expiring:
            found.append(
                Alert(
                    f"certificate_expiring:{va.pk}:{expiring}",
                    AlertKind.CERTIFICATE_EXPIRING,
                    f"{expiring} product instance ID certificate(s) expire within "
                    f"{prefs.expiring_days} days (the products renew them on their next "
                    "contact)",
                    va.name,
                )
            )
        for token in RegistrationToken.objects.filter(
            virtual_account=va, revoked__isnull=True, expires__gt=now, expires__lt=soon
        ):
            found.append(
                Alert(
                    f"token_expiring:{token.pk}",
                    AlertKind.TOKEN_EXPIRING,
                    f"Registration token {token.short_token} "
                    f"({token.description or 'no description'}) expires {_when(token.expires)}",
                    va.name,
                )
            )
    if account.last_sync_ok is False:
        attempt = account.last_sync_attempt
        found.append(
            Alert(
                f"sync_failed:{attempt.isoformat() if attempt else ''}",
                AlertKind.SYNC_FAILED,
                f"Synchronization with Cisco Software Central failed ({_when(attempt)}): "
                f"{account.sync_alert or 'see the Synchronization page'}",
            )
        )
    last = account.last_synchronized or account.created
    if last and last < now - dt.timedelta(days=prefs.sync_overdue_days):
        found.append(
            Alert(
                f"sync_overdue:{last.isoformat()}",
                AlertKind.SYNC_OVERDUE,
                f"No synchronization with Cisco Software Central for more than "
                f"{prefs.sync_overdue_days} days (last: {_when(account.last_synchronized)})",
            )
        )
    if include_dismissed:
        return found
    dismissed = set(
        AlertState.objects.filter(account=account, dismissed__isnull=False).values_list(
            "key", flat=True
        )
    )
    return [a for a in found if a.key not in dismissed]


def dismiss_alert(account, key: str, *, user=None, username: str = "") -> None:
    """Hide an open alert from the Alerts tab until it changes (an Account User or up)."""
    if user is not None and not can_use(user, account):
        raise PermissionDenied("Your role in this account does not allow changes.")
    alert = next((a for a in account_alerts(account) if a.key == key), None)
    if alert is None:
        raise LicensingError("That alert is no longer open: nothing to dismiss.")
    who = user.get_username() if user is not None else username
    with transaction.atomic():
        AlertState.objects.update_or_create(
            account=account,
            key=key,
            defaults={"dismissed": timezone.now(), "dismissed_by": who},
        )
        record_event(
            EventCategory.LICENSING,
            "alert_dismissed",
            f"Alert dismissed: {alert.message}",
            user=user,
            username=username,
            account=account,
            kind=alert.kind.value,
        )


def _recipients(text: str) -> str:
    addresses = [a.strip() for a in (text or "").replace(";", ",").split(",") if a.strip()]
    if len(addresses) > 20:
        raise ValidationError({"recipients": "At most 20 addresses."})
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError({"recipients": f"{address} is not an e-mail address."}) from None
    return ", ".join(addresses)


def save_alert_preferences(account, *, by_user, **values) -> AlertPreferences:
    """Save the account's notification preferences (an Account Administrator or up)."""
    if not can_manage(by_user, account):
        raise PermissionDenied("Only an Account Administrator can change the preferences.")
    prefs = preferences(account)
    prefs.recipients = _recipients(values.pop("recipients", prefs.recipients))
    for name in ("not_reporting_days", "expiring_days", "sync_overdue_days"):
        days = values.pop(name, getattr(prefs, name))
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
            raise ValidationError({name: "Days must be a whole number from 1 to 365."})
        setattr(prefs, name, days)
    for name, value in values.items():
        setattr(prefs, name, bool(value))
    with transaction.atomic():
        prefs.save()
        record_event(
            EventCategory.LICENSING,
            "preferences_changed",
            f"Notification preferences of {account.name} saved"
            + (f" (e-mails to {prefs.recipients})" if prefs.recipients else " (no e-mails)"),
            user=by_user,
            account=account,
        )
    return prefs


def _send(prefs, subject: str, alerts: list[Alert]) -> None:
    lines = [
        f"- [{a.kind.label}] {a.virtual_account + ': ' if a.virtual_account else ''}{a.message}"
        for a in alerts
    ] or ["No open alerts."]
    body = (
        f"Smart Software Manager On-Prem, local account {prefs.account.name}:\n\n"
        + "\n".join(lines)
        + "\n\nOpen the License Workspace → Alerts to see or dismiss them."
    )
    send_mail(subject, body, None, [a.strip() for a in prefs.recipients.split(",")])


def notify_alerts(*, now=None) -> int:
    """E-mail each account's new alerts of the kinds its Preferences ask for (each alert
    once), and the daily digest of every open one; returns how many e-mails went out. An
    e-mail that cannot be sent is tried again at the next run."""
    now = now or timezone.now()
    sent = 0
    for prefs in AlertPreferences.objects.exclude(recipients="").select_related("account"):
        account: LocalAccount = prefs.account
        open_alerts = account_alerts(account, now=now, include_dismissed=True)
        told = set(
            AlertState.objects.filter(account=account, notified__isnull=False).values_list(
                "key", flat=True
            )
        )
        new = [a for a in open_alerts if a.key not in told and prefs.wants(a.kind.value)]
        digest = prefs.daily_digest and (
            prefs.last_digest is None or prefs.last_digest <= now - dt.timedelta(days=1)
        )
        try:
            if new:
                _send(prefs, f"[SSM On-Prem] {len(new)} new alert(s) in {account.name}", new)
                sent += 1
            if digest:
                _send(
                    prefs,
                    f"[SSM On-Prem] Daily digest of {account.name}: {len(open_alerts)} alert(s)",
                    open_alerts,
                )
                sent += 1
        except Exception:  # the mail server is down: next run tries again
            log.exception("Alert e-mails of %s could not be sent", account.name)
            continue
        for alert in new:
            AlertState.objects.update_or_create(
                account=account, key=alert.key, defaults={"notified": now}
            )
        if digest:
            AlertPreferences.objects.filter(pk=prefs.pk).update(last_digest=now)
    return sent
