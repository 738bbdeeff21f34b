"""Request-wide behaviour of the ground floor."""

from .services import apply_log_level


class LogLevelMiddleware:
    """Each web process follows the log level chosen at run time (checked every few seconds)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        apply_log_level()
        return self.get_response(request)
