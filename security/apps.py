from django.apps import AppConfig
from django.conf import settings

from core.hosts import ServerNames


class SecurityConfig(AppConfig):
    """Host Common Name, product and browser certificates, access hardening."""

    name = "security"
    verbose_name = "Security"

    def ready(self):
        from .services.host_common_name import host_header_names  # models are loaded now

        if isinstance(settings.ALLOWED_HOSTS, ServerNames):
            settings.ALLOWED_HOSTS.add_source(host_header_names)
