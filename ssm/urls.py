"""Top-level URLs: login, the Admin Workspace, the On-Prem License Workspace and the API."""

from django.contrib.auth.decorators import login_required
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from administration import views
from licensing import gateway
from licensing import views as licensing_views
from licensing.api import views as licensing_api_views
from security import views as security_views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin-workspace"), name="home"),
    path("login/", security_views.LoginView.as_view(), name="login"),
    path("password_reset/", security_views.PasswordResetView.as_view(), name="password_reset"),
    path("", include("django.contrib.auth.urls")),
    path("admin/", views.AdminWorkspaceView.as_view(), name="admin-workspace"),
    path("admin/support-center/", views.SupportCenterView.as_view(), name="support-center"),
    path(
        "admin/support-center/logs/",
        views.SupportCenterLogsView.as_view(),
        name="support-center-logs",
    ),
    path(
        "admin/support-center/logs/<str:name>",
        views.SupportCenterLogDownloadView.as_view(),
        name="support-center-log-download",
    ),
    path(
        "admin/support-center/bundle/",
        views.SupportCenterBundleView.as_view(),
        name="support-center-bundle",
    ),
    path(
        "admin/support-center/backup/",
        views.SupportCenterBackupView.as_view(),
        name="support-center-backup",
    ),
    path("admin/network/", views.NetworkView.as_view(), name="network"),
    path("admin/settings/", views.SettingsView.as_view(), name="settings"),
    path(
        "admin/settings/cisco/",
        views.CiscoConnectivitySettingsView.as_view(),
        name="settings-cisco",
    ),
    path("admin/settings/syslog/", views.SyslogSettingsView.as_view(), name="settings-syslog"),
    path("admin/settings/time/", views.TimeSettingsView.as_view(), name="settings-time"),
    path(
        "admin/settings/syslog/<int:pk>/<slug:action>/",
        views.SyslogServerActionView.as_view(),
        name="settings-syslog-action",
    ),
    path("admin/api-toolkit/", licensing_views.ApiToolkitView.as_view(), name="api-toolkit"),
    path("admin/security/", include("security.urls")),
    path("admin/", include("accounts.urls")),
    path("admin/synchronization/", include("synchronization.urls")),
    path("admin/high-availability/", include("highavailability.urls")),
    path("smart-licensing/", include("licensing.urls")),
    path("Transportgateway/services/DeviceRequestHandler", gateway.device_request),
    path("SmartTransport", gateway.device_request, name="smart-transport"),
    path("cslu/v1/pi/<str:tenant>", gateway.cslu_report, name="cslu"),
    path("oauth/token", licensing_api_views.oauth_token, name="oauth-token"),
    path("api/v1/", include("licensing.api.urls")),
    path("api/v1/", include("accounts.api.urls")),
    path("api/v1/", include("security.api.urls")),
    path("api/v1/", include("synchronization.api.urls")),
    path("api/v1/", include("highavailability.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view keeps its script out of the page, as the Content Security Policy asks.
    path(
        "api/docs/",
        login_required(
            SpectacularSwaggerSplitView.as_view(
                url_name="api-schema", template_name="api_docs.html"
            )
        ),
        name="api-docs",
    ),
]

# a node whose database does not answer says why (highavailability: no active server)
handler500 = "highavailability.views.server_error"
