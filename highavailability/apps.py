from django.apps import AppConfig


class HighAvailabilityConfig(AppConfig):
    """The two-node cluster: nodes, heartbeat, VIP, replication and its console commands."""

    name = "highavailability"
    verbose_name = "High Availability"
