"""Product Instance Registration Tokens of a local virtual account: list, create, revoke."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from ... import services
from ...models import RegistrationToken
from ..auth import ApiClientPrincipal
from ..serializers import (
    StatusSerializer,
    TokenCreateSerializer,
    TokenInfoResponseSerializer,
    TokenInfoSerializer,
    TokenListSerializer,
)
from .base import PATH_PARAMETERS, VirtualAccountAPIView, may_change


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
        # an Account Viewer (or a read-only client) sees tokens, never their value
        if not may_change(request.user, va.account):
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
