from django.apps import AppConfig


class AdministrationConfig(AppConfig):
    """The Admin Workspace and its tiles of its own: Settings, Network and Support Center."""

    name = "administration"
    verbose_name = "Administration"
