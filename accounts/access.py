"""Who may see and change what: system roles and per-account roles, enforced on the server.

One vocabulary for pages and the API. A page or API view open to some system roles only
names them: `system_roles = ADMIN` (or STAFF) with SystemRoleRequiredMixin (pages) or the
HasSystemRole permission (DRF); a page hidden from everyone else says `hide_from_others`
(404 instead of 403). Everything inside a local account is scoped with accounts_for /
get_account_or_404 and can_use / can_manage / can_synchronize; an account the user may not
see is a 404, never a 403, so its existence does not leak.
"""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from rest_framework.permissions import BasePermission

from .choices import AccountRequestStatus, AccountRole, SystemRole
from .models import AccountMembership, AccountRequest, LocalAccount, UserProfile

ACCOUNT_TABS = [
    ("accounts:account-list", "Accounts"),
    ("accounts:request-list", "Account Requests"),
    ("accounts:event-log", "Event Log"),
]


ADMIN = (SystemRole.SYSTEM_ADMIN,)
STAFF = (SystemRole.SYSTEM_ADMIN, SystemRole.SYSTEM_OPERATOR)


def system_role(user) -> SystemRole | None:
    """The user's system role; None for an anonymous or inactive user."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return SystemRole.SYSTEM_ADMIN
    try:
        return SystemRole(user.ssm_profile.system_role)
    except UserProfile.DoesNotExist:
        return SystemRole.SYSTEM_USER


def is_system_admin(user) -> bool:
    """System Administrator: everything, including users, roles and account requests."""
    return system_role(user) == SystemRole.SYSTEM_ADMIN


def is_system_staff(user) -> bool:
    """System Administrator or System Operator: sees and operates every local account."""
    return system_role(user) in (SystemRole.SYSTEM_ADMIN, SystemRole.SYSTEM_OPERATOR)


def account_role(user, account: LocalAccount) -> AccountRole | None:
    """The user's role in this account (None when the user has no membership)."""
    if system_role(user) is None:
        return None
    role = (
        AccountMembership.objects.filter(user=user, account=account)
        .values_list("role", flat=True)
        .first()
    )
    return AccountRole(role) if role else None


def accounts_for(user) -> QuerySet[LocalAccount]:
    """The local accounts this user may see."""
    if is_system_staff(user):
        return LocalAccount.objects.all()
    if system_role(user) is None:
        return LocalAccount.objects.none()
    return LocalAccount.objects.filter(memberships__user=user).distinct()


def get_account_or_404(user, pk) -> LocalAccount:
    """The account with this id if the user may see it; otherwise 404 (existence not revealed)."""
    try:
        return accounts_for(user).get(pk=pk)
    except (LocalAccount.DoesNotExist, ValueError, TypeError):
        raise Http404("No such account") from None


def can_use(user, account: LocalAccount) -> bool:
    """May work inside the account: tokens, product instances, licenses (Account User and up)."""
    return is_system_staff(user) or account_role(user, account) in (
        AccountRole.ACCOUNT_ADMIN,
        AccountRole.ACCOUNT_USER,
    )


def can_manage(user, account: LocalAccount) -> bool:
    """May administer the account: its virtual accounts, members and synchronization."""
    return is_system_staff(user) or account_role(user, account) == AccountRole.ACCOUNT_ADMIN


def can_synchronize(user, account: LocalAccount) -> bool:
    """May start a synchronization of the account with CSC."""
    return can_manage(user, account)


# --- Pages -----------------------------------------------------------------------------


class AdminPageMixin(LoginRequiredMixin):
    """Every Admin Workspace page: login required, the admin workspace highlighted."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        is_admin = is_system_admin(self.request.user)
        context.update(
            workspace="admin",
            account_tabs=ACCOUNT_TABS,
            is_system_admin=is_admin,
            is_system_staff=is_system_staff(self.request.user),
            pending_requests=(
                AccountRequest.objects.filter(status=AccountRequestStatus.PENDING).count()
                if is_admin
                else 0
            ),
        )
        return context


class SystemRoleRequiredMixin(LoginRequiredMixin):
    """A page for the system roles in `system_roles` only: the log-in page for anonymous
    users; for anyone else signed in, 403 (or 404 with hide_from_others)."""

    system_roles: tuple[SystemRole, ...] = ADMIN
    hide_from_others = False
    permission_denied_message = "Your system role does not allow this page."

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and system_role(request.user) not in self.system_roles:
            if self.hide_from_others:
                raise Http404("No such page")
            raise PermissionDenied(self.get_permission_denied_message())
        return super().dispatch(request, *args, **kwargs)


class SystemAdminRequiredMixin(SystemRoleRequiredMixin, AdminPageMixin):
    """An Admin Workspace page for System Administrators only (403 for everyone else)."""

    permission_denied_message = "Only a system administrator can open this page."


class HasSystemRole(BasePermission):
    """DRF: the caller's system role is one of the view's `system_roles` (default ADMIN)."""

    message = "Your system role does not allow this."

    def has_permission(self, request, view):
        return system_role(request.user) in getattr(view, "system_roles", ADMIN)
