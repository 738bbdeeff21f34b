from django.apps import AppConfig


class LicensingConfig(AppConfig):
    """Registration tokens, product instances, licenses and the Transport Gateway."""

    name = "licensing"
    verbose_name = "Smart Licensing"
