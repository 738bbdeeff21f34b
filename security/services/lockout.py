"""The lockout after repeated failed log-ins, kept by django-axes per user name and source
address: failures from one address lock that name from that address only, so nobody can keep
another user locked out from everywhere. The Account Password policy sets the threshold and
the duration; these functions are what axes calls (see AXES_* in settings)."""

import datetime as dt
import ipaddress
from dataclasses import dataclass

from axes.models import AccessAttempt
from axes.utils import reset
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.shortcuts import render
from django.utils import timezone

from core.choices import EventCategory, EventResult
from core.services import record_event

from .passwords import password_policy

PERMANENT = dt.timedelta(days=100 * 365)  # "until an administrator unlocks it"
FORGET_UNKNOWN_NAMES_AFTER = dt.timedelta(days=1)


def failure_limit(request=None, credentials=None) -> int:
    """Failed log-ins (from one address, for one name) before the lockout."""
    return password_policy().lockout_threshold


def cool_off(request=None) -> dt.timedelta:
    """How long a lockout lasts; the policy's 0 minutes means until an administrator unlocks."""
    minutes = password_policy().lockout_minutes
    return dt.timedelta(minutes=minutes) if minutes else PERMANENT


def client_address(request) -> str | None:
    """The client's address: nginx's X-Real-IP (it overwrites what a client sends; the
    application server listens only on nginx's socket), else the socket's own peer."""
    for value in (request.META.get("HTTP_X_REAL_IP"), request.META.get("REMOTE_ADDR")):
        try:
            return str(ipaddress.ip_address((value or "").strip()))
        except ValueError:
            continue
    return None


def lockout_username(request, credentials=None) -> str:
    """The name a failure is counted under: case-insensitive, as long as a user name can be."""
    if credentials:
        name = credentials.get("username")
    else:
        name = request.POST.get("username") if request is not None else None
    return (name or "").strip().lower()[:150]


@dataclass(frozen=True)
class Lockout:
    """A user name locked from one source address, and until when."""

    username: str
    ip_address: str
    failures: int
    until: dt.datetime

    @property
    def permanent(self) -> bool:
        return self.until > timezone.now() + dt.timedelta(days=365)


def _locked_attempts():
    policy = password_policy()
    since = timezone.now() - cool_off()
    return AccessAttempt.objects.filter(
        attempt_time__gt=since, failures_since_start__gte=policy.lockout_threshold
    ).order_by("username", "ip_address")


def locked_out_users() -> list[Lockout]:
    """The user names locked now, with the address each is locked from."""
    length = cool_off()
    return [
        Lockout(a.username, a.ip_address, a.failures_since_start, a.attempt_time + length)
        for a in _locked_attempts()
    ]


def lockout_message(lockout: Lockout | None) -> str:
    """What the log-in page says to a locked-out user."""
    if lockout is None:
        until = "for a while"
    elif lockout.permanent:
        until = "until an administrator unlocks it"
    else:
        until = f"until {lockout.until:%Y-%b-%d %H:%M:%S} UTC or until an administrator unlocks it"
    return f"This user is locked after repeated failed log-ins, {until}."


def lockout_response(request, original_response=None, credentials=None):
    """The log-in page, saying that the user is locked (axes answers with it, 429)."""
    username = lockout_username(request, credentials)
    address = client_address(request)
    lockout = next(
        (lo for lo in locked_out_users() if (lo.username, lo.ip_address) == (username, address)),
        None,
    )
    context = {"lockout": lockout_message(lockout), "next": request.POST.get("next", "")}
    return render(request, "registration/login.html", context, status=429)


def record_lockout(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    """axes' user_locked_out signal: an event when a name becomes locked (not on each refused
    attempt while it is)."""
    failures = getattr(request, "axes_failures_since_start", None)
    if failures != failure_limit():
        return
    record_event(
        EventCategory.SECURITY,
        "user_locked_out",
        f"User {username} locked after {failures} failed log-ins from {ip_address}.",
        result=EventResult.FAILURE,
        username=username or "",
    )


def unlock_user(username: str, *, by_user=None) -> bool:
    """An administrator unlocks a user name (from every address); True when it was locked."""
    username = (username or "").lower()
    with transaction.atomic():
        was_locked = _locked_attempts().filter(username=username).exists()
        reset(username=username)
        if was_locked:
            record_event(
                EventCategory.SECURITY, "user_unlocked", f"User {username} unlocked.", user=by_user
            )
    return was_locked


def forget_failed_logins() -> int:
    """Drop failure counts that no longer matter: expired ones, and those of names that are no
    user after a day (even under a permanent lockout policy). Returns how many were dropped."""
    now = timezone.now()
    users = get_user_model().objects.filter(username__iexact=OuterRef("username"))
    expired = AccessAttempt.objects.filter(attempt_time__lt=now - cool_off())
    unknown = AccessAttempt.objects.filter(
        ~Exists(users), attempt_time__lt=now - FORGET_UNKNOWN_NAMES_AFTER
    )
    return expired.delete()[0] + unknown.delete()[0]
