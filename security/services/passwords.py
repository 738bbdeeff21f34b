"""Account Password policy: length, history, expiry (the lockout is in lockout.py)."""

import datetime as dt
import hashlib

from axes.utils import reset
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError

from core.choices import EventCategory
from core.services import record_event

from ..models import (
    PasswordHistory,
    PasswordPolicy,
)
from .common import SINGLETON, logger


def password_policy() -> PasswordPolicy:
    """The Account Password policy (defaults until an administrator saves one)."""
    return PasswordPolicy.objects.filter(pk=SINGLETON).first() or PasswordPolicy(pk=SINGLETON)


def update_password_policy(*, by_user=None, **values) -> PasswordPolicy:
    """Save the Account Password policy."""
    limits = {
        "min_length": (8, 128),
        "history": (0, 24),
        "max_age_days": (0, 3650),
        "lockout_threshold": (1, 100),
        "lockout_minutes": (0, 10080),
    }
    errors = {}
    for field, (low, high) in limits.items():
        if field in values:
            try:
                values[field] = int(values[field])
            except (TypeError, ValueError):
                errors[field] = "Enter a whole number."
                continue
            if not low <= values[field] <= high:
                errors[field] = f"Enter a number from {low} to {high}."
    unknown = set(values) - set(limits)
    if unknown:
        raise ValueError(f"unknown policy fields {sorted(unknown)}")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        policy = PasswordPolicy.objects.select_for_update().filter(pk=SINGLETON).first()
        policy = policy or PasswordPolicy(pk=SINGLETON)
        for field, value in values.items():
            setattr(policy, field, value)
        policy.save()
        record_event(
            EventCategory.SECURITY,
            "password_policy_changed",
            "Account Password policy changed: "
            + ", ".join(
                f"{PasswordPolicy._meta.get_field(f).verbose_name} {getattr(policy, f)}"
                for f in limits
            ),
            user=by_user,
        )
    return policy


def password_changed_at(user):
    """When the user last set a password (the account's creation when not recorded)."""
    latest = PasswordHistory.objects.filter(user=user).values_list("created", flat=True).first()
    return latest or user.date_joined


def password_expired(user, policy=None) -> bool:
    """True when the policy's maximum age has passed since the user's last password change."""
    policy = policy or password_policy()
    if not policy.max_age_days or not getattr(user, "pk", None):
        return False
    return password_changed_at(user) + dt.timedelta(days=policy.max_age_days) < timezone.now()


def remember_password(user) -> None:
    """Keep the user's new password hash for the reuse rule (the policy's last N only)."""
    if not getattr(user, "pk", None) or not user.password:
        return
    policy = password_policy()
    with transaction.atomic():
        PasswordHistory.objects.create(user=user, encoded=user.password)
        keep = max(policy.history, 1)
        old = PasswordHistory.objects.filter(user=user).values_list("pk", flat=True)[keep:]
        PasswordHistory.objects.filter(pk__in=list(old)).delete()


def set_password_by_admin(user, password: str, *, by_user) -> None:
    """An administrator sets another user's password (checked against the policy)."""
    validate_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        reset(username=user.username.lower())  # its lockout, from every address
        record_event(
            EventCategory.SECURITY,
            "password_set_by_administrator",
            f"Password of {user.username} set by an administrator.",
            user=by_user,
        )


def reset_mail_allowed(email: str) -> bool:
    """True when a password-reset e-mail may go to this address now: at most one per
    PASSWORD_RESET_MAIL_INTERVAL, so nobody can flood a user's mailbox from many addresses.
    (Without Redis the mail goes: the form must keep working.)"""
    interval = settings.PASSWORD_RESET_MAIL_INTERVAL
    if interval <= 0:
        return True
    key = "password-reset-mail:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()
    try:
        return cache.add(key, 1, timeout=interval)
    except RedisError:
        logger.warning("Redis is unreachable: the password-reset mail interval is not applied")
        return True
