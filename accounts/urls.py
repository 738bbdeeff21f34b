"""Admin Workspace pages of the accounts app (mounted under /admin/)."""

from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("accounts/", views.LocalAccountListView.as_view(), name="account-list"),
    path("accounts/new/", views.AccountRequestCreateView.as_view(), name="request-create"),
    path("accounts/requests/", views.AccountRequestListView.as_view(), name="request-list"),
    path(
        "accounts/requests/<int:pk>/approve/",
        views.AccountRequestApproveView.as_view(),
        name="request-approve",
    ),
    path(
        "accounts/requests/<int:pk>/reject/",
        views.AccountRequestRejectView.as_view(),
        name="request-reject",
    ),
    path("accounts/event-log/", views.EventLogView.as_view(), name="event-log"),
    path("accounts/<int:pk>/", views.LocalAccountDetailView.as_view(), name="account-detail"),
    path(
        "accounts/<int:pk>/delete/", views.LocalAccountDeleteView.as_view(), name="account-delete"
    ),
    path("accounts/<int:pk>/edit/", views.LocalAccountEditView.as_view(), name="account-edit"),
    path(
        "accounts/<int:pk>/<slug:action>/",
        views.LocalAccountActionView.as_view(),
        name="account-action",
    ),
    path("users/", views.UserListView.as_view(), name="user-list"),
    path("users/<int:pk>/", views.UserDetailView.as_view(), name="user-detail"),
    path("users/<int:pk>/system-role/", views.UserSystemRoleView.as_view(), name="user-role"),
    path("users/<int:pk>/<slug:action>/", views.UserActionView.as_view(), name="user-action"),
    path("access-management/", views.AccessManagementView.as_view(), name="access-management"),
]
