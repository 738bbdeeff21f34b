from django.apps import AppConfig


class SynchronizationConfig(AppConfig):
    """Synchronization of local accounts with Cisco Software Central: network (on demand and
    scheduled) and manual (files), and the product-certificate re-issue step."""

    name = "synchronization"
    verbose_name = "Synchronization"

    def ready(self):
        from accounts.signals import local_account_approved

        from .services import queue_first_synchronization

        local_account_approved.connect(
            queue_first_synchronization, dispatch_uid="synchronization.first"
        )
