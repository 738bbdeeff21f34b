"""URLs of the High Availability widget (under /admin/high-availability/)."""

from django.urls import path

from . import views

app_name = "highavailability"

urlpatterns = [
    path("", views.HighAvailabilityHostView.as_view(), name="host"),
    path(
        "operations/<slug:operation>/",
        views.HighAvailabilityOperationView.as_view(),
        name="operation",
    ),
    path("rehearsals/", views.HighAvailabilityRehearsalView.as_view(), name="rehearsals"),
    path("event-logs/", views.HighAvailabilityEventLogView.as_view(), name="event-log"),
]
