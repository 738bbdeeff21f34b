"""What every licensing API view shares: who may see and change which local account (a
user's roles, an API client's scopes), the path's account and virtual account, paging."""

from drf_spectacular.utils import OpenApiParameter
from rest_framework import permissions
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.views import APIView

from accounts import access
from accounts.models import LocalAccount, VirtualAccount

from ...choices import ApiScope
from ..auth import ApiClientPrincipal, BearerAuthentication

MAX_OFFSET = 10**9
MAX_LIMIT = 500


def visible_accounts(user):
    """The local accounts a caller may see: an API client's grants (read or write) or a
    user's roles."""
    if isinstance(user, ApiClientPrincipal):
        return user.client.accounts.all()
    return access.accounts_for(user)


def may_change(user, account) -> bool:
    """An API client with the write scope on the account, or an Account User (and up)."""
    if isinstance(user, ApiClientPrincipal):
        return user.client.grants.filter(account=account, scope=ApiScope.WRITE).exists()
    return access.can_use(user, account)


def actor(request) -> dict:
    """Who acts, for a service's event: a user, or an API client by name."""
    if isinstance(request.user, ApiClientPrincipal):
        return {"user": None, "username": request.user.username}
    return {"user": request.user}


def paging(request) -> tuple[int, int]:
    """?offset= and ?limit= (at most MAX_LIMIT), or a 400 saying what is wrong."""
    try:
        offset = max(int(request.query_params.get("offset", 0)), 0)
        limit = min(max(int(request.query_params.get("limit", 50)), 1), MAX_LIMIT)
    except ValueError:
        raise ValidationError({"detail": "offset and limit must be integers."}) from None
    if offset > MAX_OFFSET:
        raise ValidationError({"detail": f"offset must be at most {MAX_OFFSET}."})
    return offset, limit


ACCOUNT_PARAMETER = OpenApiParameter(
    "account", str, OpenApiParameter.PATH, description="Local account name"
)
PATH_PARAMETERS = [
    ACCOUNT_PARAMETER,
    OpenApiParameter(
        "virtual_account", str, OpenApiParameter.PATH, description="Local virtual account name"
    ),
]
PAGING_PARAMETERS = [
    OpenApiParameter("offset", int, required=False),
    OpenApiParameter("limit", int, required=False, description=f"at most {MAX_LIMIT}"),
    OpenApiParameter("search", str, required=False),
]


class AccountAPIView(APIView):
    """Base: resolves {account} (a name) within the caller's accounts."""

    authentication_classes = [BearerAuthentication, SessionAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    def account(self, request, name) -> LocalAccount:
        found = visible_accounts(request.user).filter(name=name).first()
        if found is None:
            raise NotFound("No such account.")
        return found

    def require_change(self, request, account):
        if not may_change(request.user, account):
            raise PermissionDenied(
                "This account is read only for you (an Account Viewer's role, or an API "
                "client granted read only)."
            )

    def require_use(self, request, va):
        self.require_change(request, va.account)


class VirtualAccountAPIView(AccountAPIView):
    """Base: resolves {account}/{virtual_account} (names) within the caller's accounts."""

    def resolve(self, request, account, virtual_account) -> VirtualAccount:
        found = self.account(request, account)
        va = found.virtual_accounts.filter(name=virtual_account).first()
        if va is None:
            raise NotFound("No such virtual account.")
        return va
