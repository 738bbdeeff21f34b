"""The accounts API, mounted under /api/v1/."""

from rest_framework.routers import DefaultRouter

from . import views

app_name = "accounts-api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("local-accounts", views.LocalAccountViewSet, basename="local-account")
router.register("account-requests", views.AccountRequestViewSet, basename="account-request")

urlpatterns = router.urls
