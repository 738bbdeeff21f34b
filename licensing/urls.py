"""Pages of the On-Prem License Workspace → Smart Licensing."""

from django.urls import path

from . import views

app_name = "licensing"

urlpatterns = [
    path("", views.SmartLicensingView.as_view(), name="smart-licensing"),
    path("<slug:tab>/", views.SmartLicensingView.as_view(), name="smart-licensing-tab"),
    path(
        "inventory/<slug:subtab>/",
        views.SmartLicensingView.as_view(),
        {"tab": "inventory"},
        name="inventory",
    ),
]
