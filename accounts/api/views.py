"""The accounts API: local accounts and account requests, scoped per user."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from .. import access, services
from ..models import AccountRequest, LocalAccount
from .serializers import (
    AccountRequestSerializer,
    LocalAccountSerializer,
    RejectSerializer,
)


def _as_drf(exc: DjangoValidationError) -> ValidationError:
    if hasattr(exc, "error_dict"):
        return ValidationError(exc.message_dict)
    return ValidationError({"detail": exc.messages})


class LocalAccountViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Local accounts the caller may see (others are 404); ?search= filters by name."""

    serializer_class = LocalAccountSerializer
    queryset = LocalAccount.objects.none()  # typing for the schema; get_queryset scopes

    def get_queryset(self):
        qs = access.accounts_for(self.request.user).prefetch_related("virtual_accounts")
        search = self.request.query_params.get("search", "").strip()
        if search:
            qs = qs.filter(name__icontains=search)
        return qs.order_by("name")

    def perform_destroy(self, instance):
        try:
            services.delete_local_account(instance, self.request.user)
        except DjangoValidationError as exc:
            raise _as_drf(exc) from None


class AccountRequestViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Account requests: everyone may file one and see their own; system administrators decide."""

    serializer_class = AccountRequestSerializer
    queryset = AccountRequest.objects.none()

    def get_queryset(self):
        qs = AccountRequest.objects.all()
        if getattr(self, "swagger_fake_view", False):
            return qs.none()
        if not access.is_system_admin(self.request.user):
            qs = qs.filter(requested_by=self.request.user)
        return qs

    def perform_create(self, serializer):
        try:
            serializer.instance = services.create_account_request(
                **serializer.validated_data, by_user=self.request.user
            )
        except DjangoValidationError as exc:
            raise _as_drf(exc) from None

    @extend_schema(request=None, responses=AccountRequestSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve: registers the account with CSC."""
        account_request = self.get_object()
        try:
            services.approve_account_request(account_request, request.user)
        except DjangoValidationError as exc:
            raise _as_drf(exc) from None
        account_request.refresh_from_db()
        return Response(AccountRequestSerializer(account_request).data)

    @extend_schema(request=RejectSerializer, responses=AccountRequestSerializer)
    @action(detail=True, methods=["post"], serializer_class=RejectSerializer)
    def reject(self, request, pk=None):
        """Reject with a reason."""
        account_request = self.get_object()
        body = RejectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.reject_account_request(
                account_request, body.validated_data["reason"], request.user
            )
        except DjangoValidationError as exc:
            raise _as_drf(exc) from None
        account_request.refresh_from_db()
        return Response(AccountRequestSerializer(account_request).data)
