"""Log-in with lockout after repeated failures (every log-in form goes through here)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from . import services


class LockoutModelBackend(ModelBackend):
    """Django's user/password check, refused while the user name is locked out."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        if services.is_locked_out(username):
            get_user_model()().set_password(password)  # same time as a real check
            return None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            services.record_login_failure(username)
        else:
            services.record_login_success(username)
        return user
