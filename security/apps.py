from django.apps import AppConfig
from django.conf import settings

from core.hosts import ServerNames


class SecurityConfig(AppConfig):
    """Host Common Name, product and browser certificates, access hardening."""

    name = "security"
    verbose_name = "Security"

    def ready(self):
        from axes.signals import user_locked_out
        from django.contrib.auth import signals as auth

        from .services import audit
        from .services.host_common_name import host_header_names  # models are loaded now
        from .services.lockout import record_lockout

        user_locked_out.connect(record_lockout, dispatch_uid="security.record_lockout")
        auth.user_logged_in.connect(audit.record_log_in, dispatch_uid="security.log_in")
        auth.user_logged_out.connect(audit.record_log_out, dispatch_uid="security.log_out")
        auth.user_login_failed.connect(
            audit.record_failed_log_in, dispatch_uid="security.failed_log_in"
        )

        if isinstance(settings.ALLOWED_HOSTS, ServerNames):
            settings.ALLOWED_HOSTS.add_source(host_header_names)
