"""Pages of the On-Prem License Workspace → Smart Licensing."""

from django.urls import path

from . import views

app_name = "licensing"

urlpatterns = [
    path("", views.SmartLicensingView.as_view(), name="smart-licensing"),
    path("tokens/create/", views.RegistrationTokenCreateView.as_view(), name="token-create"),
    path(
        "tokens/<int:pk>/revoke/", views.RegistrationTokenRevokeView.as_view(), name="token-revoke"
    ),
    path(
        "product-instances/<int:pk>/",
        views.ProductInstanceDetailView.as_view(),
        name="instance-detail",
    ),
    path(
        "product-instances/<int:pk>/remove/",
        views.ProductInstanceRemoveView.as_view(),
        name="instance-remove",
    ),
    path(
        "product-instances/<int:pk>/transfer/",
        views.ProductInstanceTransferView.as_view(),
        name="instance-transfer",
    ),
    path("licenses/transfer/", views.LicenseTransferView.as_view(), name="license-transfer"),
    path("convert/licenses/", views.ConversionView.as_view(), name="convert-licenses"),
    path("alerts/dismiss/", views.AlertDismissView.as_view(), name="alert-dismiss"),
    path("preferences/save/", views.PreferencesView.as_view(), name="preferences-save"),
    path("reports/<slug:kind>.csv", views.ReportDownloadView.as_view(), name="report-download"),
    path("<slug:tab>/", views.SmartLicensingView.as_view(), name="smart-licensing-tab"),
    path(
        "inventory/<slug:subtab>/",
        views.SmartLicensingView.as_view(),
        {"tab": "inventory"},
        name="inventory",
    ),
]
