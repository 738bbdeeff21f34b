"""The security API: Host Common Name, Browser Certificate and CA certificates (administrators)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import HasSystemRole

from .. import services
from ..models import CACertificate
from .serializers import (
    BrowserCertificateSerializer,
    CACertificateSerializer,
    HostCommonNameSerializer,
)


def _host_common_name_body() -> dict:
    name = services.host_common_name()
    return {
        "name": name,
        "productUrls": services.product_urls("{account}", name),
        "resynchronizationRequired": [
            a.name for a in services.accounts_requiring_resynchronization()
        ],
    }


class HostCommonNameAPIView(APIView):
    """GET the Host Common Name; PUT {"name": ...} changes it."""

    permission_classes = [HasSystemRole]
    serializer_class = HostCommonNameSerializer

    def get(self, request):
        return Response(_host_common_name_body())

    def put(self, request):
        serializer = HostCommonNameSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.set_host_common_name(serializer.validated_data["name"], by_user=request.user)
        except DjangoValidationError as exc:
            raise ValidationError({"name": exc.messages}) from None
        return Response(_host_common_name_body())


class BrowserCertificateAPIView(APIView):
    """GET the certificate the HTTPS server presents."""

    permission_classes = [HasSystemRole]

    @extend_schema(responses=BrowserCertificateSerializer)
    def get(self, request):
        info = services.current_browser_certificate() or {}
        return Response(info)


class CACertificateViewSet(viewsets.ReadOnlyModelViewSet):
    """Trusted CA certificates."""

    permission_classes = [HasSystemRole]
    serializer_class = CACertificateSerializer
    queryset = CACertificate.objects.all()
