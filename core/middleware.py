"""Request-wide behaviour of the ground floor."""

from django.utils import timezone

from .services import apply_log_level
from .timekeeping import workspace_time_zone


class LogLevelMiddleware:
    """Each web process follows the log level chosen at run time (checked every few seconds)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        apply_log_level()
        return self.get_response(request)


class TimeZoneMiddleware:
    """Pages show times in the time zone chosen in Settings → Time."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timezone.activate(workspace_time_zone())
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
