from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The ground floor: the event log, the badge colours of status enums, the product's
    version and its e-mail. Every other app may import from here; core imports none of them."""

    name = "core"
    verbose_name = "Core"
