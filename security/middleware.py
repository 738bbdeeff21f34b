"""An expired password can only be changed until it is."""

from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from . import services


class PasswordExpiryMiddleware:
    """Send a signed-in user whose password has expired to the password change page."""

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
            if request.path not in allowed and services.password_expired(user):
                if request.path.startswith("/api/"):
                    return JsonResponse(
                        {"detail": "Your password has expired; change it in the web interface."},
                        status=403,
                    )
                return redirect(f"{reverse('password_change')}?expired=1")
        return self.get_response(request)
