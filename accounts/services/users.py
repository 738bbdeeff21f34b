"""Local users, their system role and their roles in local accounts (Users, Access Management)."""

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
