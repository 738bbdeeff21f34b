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
    path(f"{VA}/licenses", views.LicensesAPIView.as_view(), name="licenses"),
]
