"""The HA API (read-only): cluster status with nodes, and tracked cluster operations."""

from rest_framework import generics, mixins, viewsets
from rest_framework.response import Response

from accounts.access import STAFF, HasSystemRole

from .. import services
from ..models import ClusterStatus, HAJob
from .serializers import ClusterStatusSerializer, HAJobSerializer


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
