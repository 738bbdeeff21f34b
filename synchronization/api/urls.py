"""The synchronization API, mounted under /api/v1/."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

app_name = "synchronization-api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("synchronizations", views.SynchronizationViewSet, basename="synchronization")

urlpatterns = [
    path(
        "local-accounts/<int:pk>/synchronize/",
        views.LocalAccountSynchronizeView.as_view(),
        name="local-account-synchronize",
    ),
    *router.urls,
]
