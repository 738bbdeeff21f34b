"""Request-wide rules: NUL bytes are never input, signed-in answers are never cached, and an
expired password can only be changed until it is."""

from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import patch_cache_control

from accounts.services import one_time_password_in_use

from . import services


class PasswordExpiryMiddleware:
    """Send a signed-in user whose password has expired, or who logged in with a one-time
    password, to the password change page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith("/static/"):
            allowed = {
                reverse("password_change"),
                reverse("password_change_done"),
                reverse("logout"),
            }
            if request.path in allowed:
                return self.get_response(request)
            if one_time_password_in_use(user):
                reason, why = "one_time", "is a one-time password an administrator set"
            elif services.password_expired(user):
                reason, why = "expired", "has expired"
            else:
                return self.get_response(request)
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"detail": f"Your password {why}; change it in the web interface."},
                    status=403,
                )
            return redirect(f"{reverse('password_change')}?{reason}=1")
        return self.get_response(request)


class RejectNulBytesMiddleware:
    """A NUL byte in the path, the query string or a submitted form is refused with 400.

    No name, search or identifier of the product contains one, PostgreSQL cannot store one,
    and a NUL that reached a query would end in a server error.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            return _bad_request(request)
        if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            for key, values in request.POST.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    return _bad_request(request)
        return self.get_response(request)


def _bad_request(request):
    message = "NUL bytes are not accepted in a request."
    if request.path.startswith(("/api/", "/oauth/")):
        return JsonResponse({"detail": message}, status=400)
    return HttpResponseBadRequest(message)


class NoStoreMiddleware:
    """Nothing the application answers is kept by a browser or a proxy: pages and API
    answers hold secrets (an API client's secret shown once, tokens, logs, reports).
    Static files are served before this (whitenoise) and keep their own caching."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        patch_cache_control(response, no_store=True, private=True)
        return response
