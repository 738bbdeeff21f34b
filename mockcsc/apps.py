from django.apps import AppConfig


class MockCscConfig(AppConfig):
    """The mock Cisco Software Central: smart accounts, entitlements, registrations."""

    name = "mockcsc"
    verbose_name = "Cisco Software Central (mock)"
