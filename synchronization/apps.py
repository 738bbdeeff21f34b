from django.apps import AppConfig


class SynchronizationConfig(AppConfig):
    """Synchronization of local accounts with Cisco Software Central: network (on demand and
    scheduled) and manual (files), and the product-certificate re-issue step."""

    name = "synchronization"
    verbose_name = "Synchronization"
