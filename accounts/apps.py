from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Local accounts, users, roles, synchronization with CSC, and the event log."""

    name = "accounts"
    verbose_name = "Accounts"
