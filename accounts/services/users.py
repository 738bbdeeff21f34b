"""Local users, their system role and their roles in local accounts (Users, Access Management)."""

import secrets

from axes.utils import reset as axes_reset
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q

from core.choices import EventCategory
from core.services import record_event

from ..access import can_manage, is_system_admin, system_role
from ..choices import AccountRole, SystemRole
from ..models import (
    AccountMembership,
    LocalAccount,
    UserProfile,
)


def create_user(*, username, email="", password, system_role_value=SystemRole.SYSTEM_USER, by_user):
    """Create a local user with a system role (Users widget)."""
    if not is_system_admin(by_user):
        raise PermissionDenied("Only a system administrator can create users.")
    User = get_user_model()
    username = (username or "").strip()
    if not username:
        raise ValidationError({"username": "User name is required."})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": f"User {username} already exists."})
    role = SystemRole(system_role_value)
    candidate = User(username=username, email=email)
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    with transaction.atomic():
        user = User.objects.create_user(username=username, email=email, password=password)
        UserProfile.objects.create(user=user, system_role=role)
        record_event(
            EventCategory.USER,
            "user_created",
            f"User {username} created as {role.label}",
            user=by_user,
            target=username,
        )
    return user


def _system_admin_count():
    User = get_user_model()
    return (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(ssm_profile__system_role=SystemRole.SYSTEM_ADMIN))
        .distinct()
        .count()
    )


def set_system_role(user, role, by_user):
    """Give a user a system role; the last system administrator cannot be demoted."""
    if not is_system_admin(by_user):
        raise PermissionDenied("Only a system administrator can change system roles.")
    role = SystemRole(role)
    with transaction.atomic():
        previous = system_role(user)
        if (
            previous == SystemRole.SYSTEM_ADMIN
            and role != SystemRole.SYSTEM_ADMIN
            and _system_admin_count() <= 1
        ):
            raise ValidationError("The last system administrator cannot be given another role.")
        UserProfile.objects.update_or_create(user=user, defaults={"system_role": role})
        if user.is_superuser and role != SystemRole.SYSTEM_ADMIN:
            type(user).objects.filter(pk=user.pk).update(is_superuser=False, is_staff=False)
            user.is_superuser = user.is_staff = False
        user._state.fields_cache.pop("ssm_profile", None)
        record_event(
            EventCategory.USER,
            "system_role_changed",
            f"User {user.username} is now {role.label}"
            + (f" (was {previous.label})" if previous else ""),
            user=by_user,
            target=user.username,
        )


def set_account_role(user, account: LocalAccount, role, by_user) -> AccountMembership:
    """Give a user a role in an account (Access Management)."""
    if not can_manage(by_user, account):
        raise PermissionDenied("You cannot manage access to this account.")
    role = AccountRole(role)
    with transaction.atomic():
        membership, created = AccountMembership.objects.update_or_create(
            user=user, account=account, defaults={"role": role}
        )
        record_event(
            EventCategory.USER,
            "account_role_set",
            f"User {user.username} is {role.label} of {account.name}",
            user=by_user,
            account=account,
            target=user.username,
        )
    return membership


def remove_account_role(user, account: LocalAccount, by_user):
    """Take away a user's access to an account."""
    if not can_manage(by_user, account):
        raise PermissionDenied("You cannot manage access to this account.")
    with transaction.atomic():
        deleted, _ = AccountMembership.objects.filter(user=user, account=account).delete()
        if not deleted:
            raise ValidationError(f"User {user.username} has no role in {account.name}.")
        record_event(
            EventCategory.USER,
            "account_role_removed",
            f"User {user.username} no longer has access to {account.name}",
            user=by_user,
            account=account,
            target=user.username,
        )


# --- a user's lifecycle (Users → a user's page) -----------------------------------------

ONE_TIME_PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _require_admin(by_user, what):
    if not is_system_admin(by_user):
        raise PermissionDenied(f"Only a system administrator can {what}.")


def _refuse_self_and_last_admin(user, by_user, verb):
    """Inside the change's transaction: the system administrators' rows are locked, so two
    administrators removing each other at the same moment cannot leave none."""
    if user.pk == by_user.pk:
        raise ValidationError(f"You cannot {verb} yourself: ask another system administrator.")
    User = get_user_model()
    admins = set(
        User.objects.select_for_update(of=("self",))
        .filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(ssm_profile__system_role=SystemRole.SYSTEM_ADMIN))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if by_user.pk not in admins:
        raise PermissionDenied("You are no longer an active system administrator.")
    if user.pk in admins and len(admins) <= 1:
        raise ValidationError(
            f"{user.username} is the last active system administrator and cannot be {verb}d: "
            "give another user the System Administrator role first."
        )


def update_user(user, *, first_name="", last_name="", email="", by_user):
    """Edit a user's name and e-mail (the user name never changes)."""
    _require_admin(by_user, "edit users")
    first_name, last_name, email = first_name.strip(), last_name.strip(), email.strip()
    User = get_user_model()
    if email and User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        raise ValidationError({"email": f"Another user already has the e-mail {email}."})
    changes = [
        f"{label} {old or '--'} → {new or '--'}"
        for label, old, new in (
            ("first name", user.first_name, first_name),
            ("last name", user.last_name, last_name),
            ("e-mail", user.email, email),
        )
        if old != new
    ]
    if not changes:
        return user
    with transaction.atomic():
        user.first_name, user.last_name, user.email = first_name, last_name, email
        user.full_clean(exclude=["password", "username"])
        user.save(update_fields=["first_name", "last_name", "email"])
        record_event(
            EventCategory.USER,
            "user_changed",
            f"User {user.username} changed: {', '.join(changes)}",
            user=by_user,
            target=user.username,
        )
    return user


def set_user_active(user, active: bool, *, by_user):
    """Deactivate a user (they can no longer log in; their sessions end at their next
    request) or reactivate them. Not yourself, not the last active system administrator."""
    _require_admin(by_user, "deactivate or reactivate users")
    verb = "reactivate" if active else "deactivate"
    if user.is_active == active:
        state = "active" if active else "inactive"
        raise ValidationError(f"User {user.username} is already {state}.")
    with transaction.atomic():
        if not active:
            _refuse_self_and_last_admin(user, by_user, verb)
        user = type(user).objects.select_for_update().get(pk=user.pk)
        user.is_active = active
        user.save(update_fields=["is_active"])
        record_event(
            EventCategory.USER,
            f"user_{verb}d",
            f"User {user.username} {verb}d",
            user=by_user,
            target=user.username,
        )
    return user


def delete_user(user, *, by_user):
    """Delete a user and their account roles; the event logs keep their name. Not yourself,
    not the last active system administrator."""
    _require_admin(by_user, "delete users")
    with transaction.atomic():
        _refuse_self_and_last_admin(user, by_user, "delete")
        user = type(user).objects.select_for_update().get(pk=user.pk)
        username = user.username
        user.delete()
        record_event(
            EventCategory.USER, "user_deleted", f"User {username} deleted", user=by_user,
            target=username,
        )  # fmt: skip


def reset_password(user, *, by_user) -> str:
    """Give a user a one-time password (returned once, to show to the administrator): it
    unlocks the user, and the user must choose a new password at the next log-in."""
    _require_admin(by_user, "reset passwords")
    if not user.has_usable_password():
        raise ValidationError(
            f"{user.username} logs in with the directory: their password is reset there."
        )
    for groups in range(4, 27):  # as long as the Account Password policy asks
        password = "-".join(
            "".join(secrets.choice(ONE_TIME_PASSWORD_ALPHABET) for _ in range(5))
            for _ in range(groups)
        )
        try:
            validate_password(password, user)
            break
        except ValidationError:
            continue
    else:
        raise ValidationError("No one-time password satisfies the Account Password policy.")
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        UserProfile.objects.update_or_create(
            user=user, defaults={"one_time_password": user.password}
        )
        axes_reset(username=user.username.lower())  # its lockout, from every address
        record_event(
            EventCategory.USER,
            "password_reset",
            f"Password of {user.username} reset: a one-time password to change at the next log-in",
            user=by_user,
            target=user.username,
        )
    return password


def one_time_password_in_use(user) -> bool:
    """True while the user still logs in with the one-time password an administrator set."""
    profile = UserProfile.objects.filter(user_id=user.pk).values("one_time_password").first()
    return bool(profile and profile["one_time_password"] == user.password)
