"""The HA API, mounted under /api/v1/."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

app_name = "highavailability-api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("ha-jobs", views.HAJobViewSet, basename="ha-job")

urlpatterns = [
    path("ha-cluster/", views.ClusterStatusView.as_view(), name="ha-cluster"),
    path("ha-operations/", views.OperationStartView.as_view(), name="ha-operation-start"),
    *router.urls,
]
