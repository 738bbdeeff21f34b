"""API Toolkit: API clients and their OAuth access tokens."""

import datetime as dt
import hashlib
import hmac
import secrets

from django.db import transaction
from django.utils import timezone

from core.choices import EventCategory, EventResult
from core.services import record_event

from ..choices import ApiScope
from ..models import (
    ApiAccessToken,
    ApiClient,
    ApiClientGrant,
)
from .common import (
    ACCESS_TOKEN_SECONDS,
    LicensingError,
)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_client(name: str, accounts, *, read_only=(), user=None) -> tuple[ApiClient, str]:
    """Create an OAuth2 API client that may change `accounts` and only read `read_only`;
    returns (client, secret), the secret shown once."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise LicensingError("Name is required (at most 100 characters).")
    if ApiClient.objects.filter(name__iexact=name, revoked__isnull=True).exists():
        raise LicensingError(f"An API client named {name} exists already: choose another name.")
    writable, readable = list(accounts), list(read_only)
    if not writable and not readable:
        raise LicensingError("Grant the client at least one local account.")
    both = sorted({a.name for a in writable} & {a.name for a in readable})
    if both:
        raise LicensingError(
            f"{', '.join(both)}: grant each account once, read only or read and write."
        )
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        client = ApiClient.objects.create(
            name=name,
            client_id=secrets.token_hex(16),
            secret_hash=_hash(secret),
            created_by=user if getattr(user, "pk", None) else None,
        )
        ApiClientGrant.objects.bulk_create(
            [ApiClientGrant(client=client, account=a, scope=ApiScope.WRITE) for a in writable]
            + [ApiClientGrant(client=client, account=a, scope=ApiScope.READ) for a in readable]
        )
        granted = [f"{a.name} (read and write)" for a in writable]
        granted += [f"{a.name} (read only)" for a in readable]
        record_event(
            EventCategory.SECURITY,
            "api_client_created",
            f"API client {name} created for {', '.join(granted)}",
            user=user,
            client=client.client_id,
        )
    return client, secret


def revoke_api_client(client: ApiClient, *, user=None) -> None:
    """Revoke an API client and every access token it holds."""
    with transaction.atomic():
        if not ApiClient.objects.filter(pk=client.pk, revoked__isnull=True).update(
            revoked=timezone.now()
        ):
            raise LicensingError("The API client is already revoked.")
        ApiAccessToken.objects.filter(client=client).delete()
        record_event(
            EventCategory.SECURITY,
            "api_client_revoked",
            f"API client {client.name} revoked",
            user=user,
            client=client.client_id,
        )


def issue_access_token(client_id: str, client_secret: str) -> tuple[str, int]:
    """OAuth2 client credentials grant: a bearer token and its lifetime in seconds."""
    client = ApiClient.objects.filter(client_id=client_id, revoked__isnull=True).first()
    if client is None or not hmac.compare_digest(client.secret_hash, _hash(client_secret)):
        raise LicensingError("invalid_client")
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        ApiAccessToken.objects.filter(client=client, expires__lt=timezone.now()).delete()
        ApiAccessToken.objects.create(
            client=client,
            token_hash=_hash(raw),
            expires=timezone.now() + dt.timedelta(seconds=ACCESS_TOKEN_SECONDS),
        )
        record_event(
            EventCategory.SECURITY,
            "api_token_issued",
            f"Access token issued to API client {client.name}",
            result=EventResult.INFO,
            username=f"api:{client.name}",
            client=client.client_id,
        )
    return raw, ACCESS_TOKEN_SECONDS


def client_for_access_token(raw: str) -> ApiClient | None:
    """The API client holding this unexpired bearer token, or None."""
    token = (
        ApiAccessToken.objects.select_related("client")
        .filter(token_hash=_hash(raw), expires__gt=timezone.now(), client__revoked__isnull=True)
        .first()
    )
    return token.client if token else None
