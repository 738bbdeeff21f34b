"""Admin Workspace → Security."""

from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "security"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="security:certificates"), name="index"),
    path("certificates/", views.CertificatesView.as_view(), name="certificates"),
    path(
        "certificates/host-common-name/",
        views.HostCommonNameUpdateView.as_view(),
        name="host-common-name",
    ),
    path("certificates/browser/csr/", views.BrowserCsrCreateView.as_view(), name="browser-csr"),
    path(
        "certificates/browser/csr/<int:pk>/",
        views.BrowserCsrDownloadView.as_view(),
        name="browser-csr-download",
    ),
    path(
        "certificates/browser/upload/",
        views.BrowserCertificateUploadView.as_view(),
        name="browser-certificate-upload",
    ),
    path("certificates/ca/", views.CACertificateCreateView.as_view(), name="ca-certificate-add"),
    path(
        "certificates/ca/<int:pk>/delete/",
        views.CACertificateDeleteView.as_view(),
        name="ca-certificate-delete",
    ),
    path("account-password/", views.AccountPasswordView.as_view(), name="account-password"),
    path("authentication/", views.AuthenticationView.as_view(), name="authentication"),
    path("account-password/unlock/", views.UserUnlockView.as_view(), name="user-unlock"),
    path(
        "account-password/set-password/",
        views.UserPasswordSetView.as_view(),
        name="user-password-set",
    ),
    path("event-log/", views.SecurityEventLogView.as_view(), name="event-log"),
]
