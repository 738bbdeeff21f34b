"""The synchronization API: start a network synchronization of a local account, and the
jobs of the caller's accounts (others are 404)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import access

from .. import services
from ..models import Synchronization
from .serializers import SynchronizationSerializer, SynchronizeRequestSerializer


class SynchronizationViewSet(viewsets.ReadOnlyModelViewSet):
    """Synchronization jobs of the caller's accounts."""

    serializer_class = SynchronizationSerializer
    queryset = Synchronization.objects.none()

    def get_queryset(self):
        return Synchronization.objects.filter(
            account__in=access.accounts_for(self.request.user)
        ).select_related("account")


class LocalAccountSynchronizeView(APIView):
    """POST /local-accounts/{id}/synchronize/: queue a network synchronization (202, the job);
    `{"scope": "full"}` uploads every product instance, the default "standard" what changed."""

    @extend_schema(request=SynchronizeRequestSerializer, responses={202: SynchronizationSerializer})
    def post(self, request, pk):
        """Queue a network synchronization; answers the job (202)."""
        account = access.get_account_or_404(request.user, pk)
        if not access.can_synchronize(request.user, account):
            raise PermissionDenied("Your role in this account does not allow synchronization.")
        asked = SynchronizeRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        try:
            job = services.request_synchronization(
                account, request.user, scope=asked.validated_data["scope"]
            )
        except DjangoValidationError as exc:
            raise ValidationError({"detail": exc.messages}) from None
        return Response(SynchronizationSerializer(job).data, status=status.HTTP_202_ACCEPTED)
