"""The security API, mounted under /api/v1/."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

app_name = "security-api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("security/ca-certificates", views.CACertificateViewSet, basename="ca-certificate")

urlpatterns = [
    path(
        "security/host-common-name/",
        views.HostCommonNameAPIView.as_view(),
        name="host-common-name",
    ),
    path(
        "security/browser-certificate/",
        views.BrowserCertificateAPIView.as_view(),
        name="browser-certificate",
    ),
    *router.urls,
]
