"""The licensing API, mounted under /api/v1/."""

from django.urls import path

from . import views

app_name = "licensing-api"

VA = "accounts/<str:account>/virtual-accounts/<str:virtual_account>"

urlpatterns = [
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
]
