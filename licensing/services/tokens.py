"""Registration tokens: created and revoked from the workspace and the API."""

import datetime as dt
import secrets

from django.db import transaction
from django.utils import timezone

from accounts.models import VirtualAccount
from core.choices import EventCategory
from core.services import record_event

from ..models import (
    RegistrationToken,
)
from .common import (
    MAX_TOKEN_USES,
    TOKEN_MAX_DAYS,
    TOKEN_MIN_DAYS,
    LicensingError,
)


def create_token(
    virtual_account: VirtualAccount,
    *,
    description: str = "",
    expires_after_days: int = 30,
    export_controlled: bool = False,
    max_uses: int | None = None,
    user=None,
) -> RegistrationToken:
    """Create a Product Instance Registration Token for a local virtual account."""
    if (
        isinstance(expires_after_days, bool)
        or not isinstance(expires_after_days, int)
        or not TOKEN_MIN_DAYS <= expires_after_days <= TOKEN_MAX_DAYS
    ):
        raise LicensingError(
            f"Expire After must be between {TOKEN_MIN_DAYS} and {TOKEN_MAX_DAYS} days."
        )
    if max_uses is not None and (
        not isinstance(max_uses, int) or not 1 <= max_uses <= MAX_TOKEN_USES
    ):
        raise LicensingError(f"Max. Number of Uses must be a number from 1 to {MAX_TOKEN_USES}.")
    description = (description or "").strip()
    if len(description) > 200:
        raise LicensingError("Description must be at most 200 characters.")
    with transaction.atomic():
        token = RegistrationToken.objects.create(
            virtual_account=virtual_account,
            token=secrets.token_urlsafe(48),
            description=description,
            expires=timezone.now() + dt.timedelta(days=expires_after_days),
            export_controlled=bool(export_controlled),
            max_uses=max_uses,
            created_by=user if getattr(user, "pk", None) else None,
            created_by_name=getattr(user, "username", "") or "API",
        )
        record_event(
            EventCategory.LICENSING,
            "token_created",
            f"Registration token {token.short_token} created in {virtual_account.name}"
            f" (expires after {expires_after_days} days)",
            user=user,
            account=virtual_account.account,
            virtual_account=virtual_account.pk,
            token=token.pk,
        )
    return token


def revoke_token(token: RegistrationToken, *, user=None, username="") -> RegistrationToken:
    """Revoke a token; products can no longer register with it. `username` names an API
    client in the event when there is no user."""
    with transaction.atomic():
        updated = RegistrationToken.objects.filter(pk=token.pk, revoked__isnull=True).update(
            revoked=timezone.now()
        )
        if not updated:
            raise LicensingError("The token is already revoked.")
        record_event(
            EventCategory.LICENSING,
            "token_revoked",
            f"Registration token {token.short_token} revoked",
            user=user,
            username=username,
            account=token.virtual_account.account,
            virtual_account=token.virtual_account_id,
            token=token.pk,
        )
    token.refresh_from_db()
    return token
