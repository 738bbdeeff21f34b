from django.apps import AppConfig


class SecurityConfig(AppConfig):
    """Host Common Name, product and browser certificates, access hardening."""

    name = "security"
    verbose_name = "Security"
