"""The HA API, mounted under /api/v1/."""

from rest_framework.routers import DefaultRouter

from . import views

app_name = "highavailability-api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("ha-cluster", views.ClusterStatusViewSet, basename="ha-cluster")
router.register("ha-jobs", views.HAJobViewSet, basename="ha-job")

urlpatterns = router.urls
