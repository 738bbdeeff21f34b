from django.apps import AppConfig
from django.conf import settings

from core.hosts import ServerNames


class SecurityConfig(AppConfig):
    """Host Common Name, product and browser certificates, access hardening."""

    name = "security"
    verbose_name = "Security"

    def ready(self):
        from axes.signals import user_locked_out

        from .services.host_common_name import host_header_names  # models are loaded now
        from .services.lockout import record_lockout

        user_locked_out.connect(record_lockout, dispatch_uid="security.record_lockout")
        from .services.lockout import record_lockout

        user_locked_out.connect(record_lockout, dispatch_uid="security.record_lockout")

        if isinstance(settings.ALLOWED_HOSTS, ServerNames):
            settings.ALLOWED_HOSTS.add_source(host_header_names)
