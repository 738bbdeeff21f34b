"""Admin Workspace pages of the synchronization app (mounted under /admin/synchronization/)."""

from django.urls import path

from . import views

app_name = "synchronization"

urlpatterns = [
    path("", views.SynchronizationView.as_view(), name="synchronization"),
    path("<int:pk>/now/", views.SynchronizeNowView.as_view(), name="synchronize-now"),
    path("<int:pk>/mode/", views.SyncModeView.as_view(), name="sync-mode"),
    path(
        "<int:pk>/request-file/",
        views.ManualSyncRequestView.as_view(),
        name="manual-request",
    ),
    path(
        "<int:pk>/response-file/",
        views.ManualSyncResponseView.as_view(),
        name="manual-response",
    ),
    path(
        "jobs/<int:pk>/",
        views.SynchronizationDetailView.as_view(),
        name="synchronization-detail",
    ),
]
