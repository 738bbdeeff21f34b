"""The licensing API, mounted under /api/v1/."""

from django.urls import path

from . import views

app_name = "licensing-api"

ACCOUNT = "accounts/<str:account>"
VA = f"{ACCOUNT}/virtual-accounts/<str:virtual_account>"

urlpatterns = [
    path(
        f"{ACCOUNT}/virtual-accounts",
        views.VirtualAccountsAPIView.as_view(),
        name="virtual-accounts",
    ),
    path(f"{ACCOUNT}/licenses", views.AccountLicensesAPIView.as_view(), name="account-licenses"),
    path(f"{ACCOUNT}/usage", views.UsageAPIView.as_view(), name="usage"),
    path(
        f"{ACCOUNT}/license-transactions",
        views.LicenseTransactionsAPIView.as_view(),
        name="license-transactions",
    ),
    path(f"{ACCOUNT}/events", views.EventsAPIView.as_view(), name="events"),
    path(f"{ACCOUNT}/alerts", views.AlertsAPIView.as_view(), name="alerts"),
    path(f"{VA}/tokens", views.TokensAPIView.as_view(), name="tokens"),
    path(f"{VA}/tokens/<str:token>", views.TokenAPIView.as_view(), name="token"),
    path(
        f"{VA}/product-instances", views.ProductInstancesAPIView.as_view(), name="product-instances"
    ),
    path(
        f"{VA}/product-instances/<uuid:instance_id>",
        views.ProductInstanceAPIView.as_view(),
        name="product-instance",
    ),
    path(
        f"{VA}/product-instances/<uuid:instance_id>/transfer",
        views.ProductInstanceTransferAPIView.as_view(),
        name="product-instance-transfer",
    ),
    path(f"{VA}/licenses", views.LicensesAPIView.as_view(), name="licenses"),
    path(
        f"{VA}/licenses/transfer",
        views.LicenseTransferAPIView.as_view(),
        name="license-transfer",
    ),
]
