"""URLs of the mock Cisco Software Central."""

from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from . import views

urlpatterns = [
    path("", RedirectView.as_view(url="/manual-sync/")),
    path("api/v1/ping", views.ping, name="ping"),
    path("api/v1/registrations", views.register, name="register"),
    path("api/v1/registrations/<str:registration_id>/synchronize", views.synchronize),
    path("api/v1/registrations/<str:registration_id>/deregister", views.deregister),
    path("api/v1/registrations/<str:registration_id>/sign-csr", views.sign_csr),
    path("api/v1/registrations/<str:registration_id>/classic-licenses", views.classic_licenses),
    path("api/v1/registrations/<str:registration_id>/convert", views.convert),
    path("api/v1/manual-sync", views.manual_sync, name="manual-sync-api"),
    path("manual-sync/", views.manual_sync_page, name="manual-sync"),
    path("control/fault", views.control_fault),
    path("control/virtual-accounts", views.control_virtual_account),
    path("control/virtual-account-state", views.control_virtual_account_state),
    path("control/entitlements", views.control_entitlement),
    path("control/registrations", views.control_registrations),
    path("admin/", admin.site.urls),
]
