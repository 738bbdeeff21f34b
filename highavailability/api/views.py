"""The HA API: cluster status with nodes, tracked cluster operations, and starting one
(switchover, fallback, rehearsal, maintenance: system administrators only)."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.exceptions import APIException
from rest_framework.response import Response

from accounts.access import ADMIN, STAFF, HasSystemRole

from .. import services
from ..models import ClusterStatus, HAJob
from .serializers import ClusterStatusSerializer, HAJobSerializer, OperationRequestSerializer


class ClusterStatusView(generics.GenericAPIView):
    """The cluster as last collected (ha_enabled false on a stand-alone server)."""

    permission_classes = [HasSystemRole]
    system_roles = STAFF
    serializer_class = ClusterStatusSerializer
    queryset = ClusterStatus.objects.none()

    def get(self, request):
        status = services.cluster_status() or ClusterStatus(ha_enabled=False)
        return Response(self.get_serializer(status).data)


class HAJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Long cluster operations (deploy, repair, teardown...), newest first."""

    permission_classes = [HasSystemRole]
    system_roles = STAFF
    serializer_class = HAJobSerializer
    queryset = HAJob.objects.all()


class OperationRefusedError(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "operation_refused"


class OperationStartView(generics.GenericAPIView):
    """Start a cluster operation; answers 202 with the tracked job (follow it at ha-jobs/ID/),
    or 409 with the reason the cluster is not ready for it."""

    permission_classes = [HasSystemRole]
    system_roles = ADMIN
    serializer_class = OperationRequestSerializer

    @extend_schema(responses={202: HAJobSerializer})
    def post(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            job = services.start_operation(
                data.validated_data["operation"], request.user, node=data.validated_data["node"]
            )
        except services.OperationRefused as exc:
            raise OperationRefusedError(str(exc)) from exc
        return Response(HAJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
