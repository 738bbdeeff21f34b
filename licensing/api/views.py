"""The licensing API: registration tokens, product instances and licenses of a local
virtual account, for API Toolkit clients (bearer token) and signed-in users."""

import base64

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import access
from accounts.models import VirtualAccount

from .. import services
from ..models import ProductInstance, RegistrationToken
from .auth import ApiClientPrincipal, BearerAuthentication
from .serializers import (
    LicenseListSerializer,
    ProductInstanceListSerializer,
    StatusSerializer,
    TokenCreateSerializer,
    TokenInfoResponseSerializer,
    TokenInfoSerializer,
    TokenListSerializer,
    TransferSerializer,
)

MAX_OFFSET = 10**9
MAX_LIMIT = 500


def visible_accounts(user):
    """The local accounts a caller may see: an API client's grants or a user's roles."""
    if isinstance(user, ApiClientPrincipal):
        return user.client.accounts.all()
    return access.accounts_for(user)


class VirtualAccountAPIView(APIView):
    """Base: resolves {account}/{virtual_account} (names) within the caller's accounts."""

    authentication_classes = [BearerAuthentication, SessionAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    def resolve(self, request, account, virtual_account) -> VirtualAccount:
        found = visible_accounts(request.user).filter(name=account).first()
        if found is None:
            raise NotFound("No such account.")
        va = found.virtual_accounts.filter(name=virtual_account).first()
        if va is None:
            raise NotFound("No such virtual account.")
        return va

    def may_use(self, request, va) -> bool:
        """API clients and Account Users (and up) work inside the account; viewers only look."""
        return isinstance(request.user, ApiClientPrincipal) or access.can_use(
            request.user, va.account
        )

    def require_use(self, request, va):
        if not self.may_use(request, va):
            raise PermissionDenied("Your role in this account does not allow changes.")


PATH_PARAMETERS = [
    OpenApiParameter("account", str, OpenApiParameter.PATH, description="Local account name"),
    OpenApiParameter(
        "virtual_account", str, OpenApiParameter.PATH, description="Local virtual account name"
    ),
]


class TokensAPIView(VirtualAccountAPIView):
    """Product Instance Registration Tokens of a local virtual account."""

    @extend_schema(parameters=PATH_PARAMETERS, responses=TokenListSerializer)
    def get(self, request, account, virtual_account):
        va = self.resolve(request, account, virtual_account)
        tokens = (
            RegistrationToken.objects.filter(virtual_account=va)
            .select_related("virtual_account")
            .with_uses()
        )
        data = TokenInfoSerializer(tokens, many=True).data
        if not self.may_use(request, va):  # an Account Viewer sees tokens, never their value
            for token, row in zip(tokens, data, strict=True):
                row["token"] = token.short_token
        return Response({"status": "SUCCESS", "statusMessage": "", "tokens": data})

    @extend_schema(
        parameters=PATH_PARAMETERS,
        request=TokenCreateSerializer,
        responses={201: TokenInfoResponseSerializer},
    )
    def post(self, request, account, virtual_account):
        va = self.resolve(request, account, virtual_account)
        self.require_use(request, va)
        body = TokenCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = request.user if not isinstance(request.user, ApiClientPrincipal) else None
        try:
            token = services.create_token(
                va,
                description=body.validated_data.get("description", ""),
                expires_after_days=body.validated_data["expiresAfterDays"],
                export_controlled=body.validated_data["exportControlled"],
                max_uses=body.validated_data.get("maxUses"),
                user=user,
            )
        except services.LicensingError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        if user is None:
            RegistrationToken.objects.filter(pk=token.pk).update(
                created_by_name=request.user.username
            )
            token.created_by_name = request.user.username
        return Response(
            {
                "status": "SUCCESS",
                "statusMessage": f"Token created in virtual account {va.name}",
                "tokenInfo": TokenInfoSerializer(token).data,
            },
            status=status.HTTP_201_CREATED,
        )


class TokenAPIView(VirtualAccountAPIView):
    """One registration token of a local virtual account: DELETE revokes it."""

    @extend_schema(
        parameters=[*PATH_PARAMETERS, OpenApiParameter("token", str, OpenApiParameter.PATH)],
        request=None,
        responses={200: StatusSerializer},
    )
    def delete(self, request, account, virtual_account, token):
        va = self.resolve(request, account, virtual_account)
        self.require_use(request, va)
        found = RegistrationToken.objects.filter(virtual_account=va, token=token).first()
        if found is None:
            raise NotFound("No such token in this virtual account.")
        client = isinstance(request.user, ApiClientPrincipal)
        try:
            services.revoke_token(
                found,
                user=None if client else request.user,
                username=request.user.username if client else "",
            )
        except services.LicensingError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        return Response(
            {"status": "SUCCESS", "statusMessage": f"Token {found.short_token} revoked"}
        )


class ProductInstanceAPIView(VirtualAccountAPIView):
    """One registered product instance of a local virtual account: DELETE removes it (its
    licenses are released)."""

    def instance(self, request, account, virtual_account, instance_id) -> ProductInstance:
        va = self.resolve(request, account, virtual_account)
        self.require_use(request, va)
        found = ProductInstance.objects.filter(
            virtual_account=va, uuid=instance_id, status="registered"
        ).first()
        if found is None:
            raise NotFound("No such product instance in this virtual account.")
        return found

    def actor(self, request) -> dict:
        """Who acts, for the event: a user, or an API client by name."""
        if isinstance(request.user, ApiClientPrincipal):
            return {"user": None, "username": request.user.username}
        return {"user": request.user}

    @extend_schema(
        parameters=[*PATH_PARAMETERS, OpenApiParameter("instance_id", str, OpenApiParameter.PATH)],
        request=None,
        responses={200: StatusSerializer},
    )
    def delete(self, request, account, virtual_account, instance_id):
        found = self.instance(request, account, virtual_account, instance_id)
        try:
            services.remove_instance(found, **self.actor(request))
        except services.LicensingError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        return Response(
            {"status": "SUCCESS", "statusMessage": f"Product instance {found.name} removed"}
        )


class ProductInstanceTransferAPIView(ProductInstanceAPIView):
    """POST {"virtualAccount": name}: move the instance and its license usage there."""

    http_method_names = ["post", "options"]

    @extend_schema(
        parameters=[*PATH_PARAMETERS, OpenApiParameter("instance_id", str, OpenApiParameter.PATH)],
        request=TransferSerializer,
        responses={200: StatusSerializer},
    )
    def post(self, request, account, virtual_account, instance_id):
        found = self.instance(request, account, virtual_account, instance_id)
        body = TransferSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        target = found.virtual_account.account.virtual_accounts.filter(
            name=body.validated_data["virtualAccount"]
        ).first()
        if target is None:
            raise ValidationError({"virtualAccount": "No such virtual account in this account."})
        try:
            services.transfer_instance(found, target, **self.actor(request))
        except services.LicensingError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        return Response(
            {
                "status": "SUCCESS",
                "statusMessage": f"Product instance {found.name} transferred to {target.name}",
            }
        )


class ProductInstancesAPIView(VirtualAccountAPIView):
    """Registered product instances of a local virtual account (offset/limit paging)."""

    @extend_schema(
        parameters=[
            *PATH_PARAMETERS,
            OpenApiParameter("offset", int, required=False),
            OpenApiParameter("limit", int, required=False),
            OpenApiParameter("search", str, required=False),
        ],
        responses=ProductInstanceListSerializer,
    )
    def get(self, request, account, virtual_account):
        va = self.resolve(request, account, virtual_account)
        try:
            offset = max(int(request.query_params.get("offset", 0)), 0)
            limit = min(max(int(request.query_params.get("limit", 50)), 1), MAX_LIMIT)
        except ValueError:
            raise ValidationError({"detail": "offset and limit must be integers."}) from None
        if offset > MAX_OFFSET:
            raise ValidationError({"detail": f"offset must be at most {MAX_OFFSET}."})
        qs = ProductInstance.objects.filter(virtual_account=va, status="registered").order_by(
            "name", "id"
        )
        search = request.query_params.get("search", "").strip()
        if search:
            qs = qs.filter(name__icontains=search)
        data = ProductInstanceListSerializer(
            {"totalRecords": qs.count(), "productInstances": qs[offset : offset + limit]}
        ).data
        return Response(data)


class LicensesAPIView(VirtualAccountAPIView):
    """The Licenses tab of a local virtual account."""

    @extend_schema(parameters=PATH_PARAMETERS, responses=LicenseListSerializer)
    def get(self, request, account, virtual_account):
        va = self.resolve(request, account, virtual_account)
        return Response(LicenseListSerializer({"licenses": services.license_rows(va)}).data)


@csrf_exempt
@require_POST
def oauth_token(request):
    """OAuth2 token endpoint, client credentials grant (RFC 6749 §4.4)."""
    if request.POST.get("grant_type") != "client_credentials":
        return JsonResponse(
            {
                "error": "unsupported_grant_type",
                "error_description": "grant_type must be client_credentials",
            },
            status=400,
        )
    client_id, secret = request.POST.get("client_id", ""), request.POST.get("client_secret", "")
    if not client_id or not secret:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                client_id = secret = ""
    if not client_id or not secret:
        return JsonResponse(
            {"error": "invalid_request", "error_description": "client_id and client_secret"},
            status=400,
        )
    try:
        raw, seconds = services.issue_access_token(client_id, secret)
    except services.LicensingError:
        return JsonResponse(
            {"error": "invalid_client", "error_description": "unknown client or wrong secret"},
            status=401,
        )
    response = JsonResponse({"access_token": raw, "token_type": "bearer", "expires_in": seconds})
    response["Cache-Control"] = "no-store"
    return response
