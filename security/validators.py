"""Password validators of the Account Password policy (listed in AUTH_PASSWORD_VALIDATORS)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError

from . import services


class PasswordPolicyValidator:
    """Minimum length and no reuse of the last N passwords, from the stored policy.

    Django calls `password_changed` whenever a user's password is saved (own change,
    administrator, reset link, createsuperuser), so the history misses no path.
    """

    def validate(self, password, user=None):
        policy = services.password_policy()
        if len(password) < policy.min_length:
            raise ValidationError(
                f"This password is too short. It must contain at least {policy.min_length} "
                "characters.",
                code="password_too_short",
            )
        if user is None or not getattr(user, "pk", None) or not policy.history:
            return
        previous = list(user.password_history.values_list("encoded", flat=True)[: policy.history])
        current = get_user_model().objects.filter(pk=user.pk).values_list("password", flat=True)
        for encoded in [*current, *previous]:
            if encoded and check_password(password, encoded):
                raise ValidationError(
                    f"This password was used recently; choose one that is not among your last "
                    f"{policy.history} passwords.",
                    code="password_reused",
                )

    def password_changed(self, password, user=None):
        if user is not None:
            services.remember_password(user)

    def get_help_text(self):
        policy = services.password_policy()
        return (
            f"At least {policy.min_length} characters, not one of your last "
            f"{policy.history} passwords."
        )
