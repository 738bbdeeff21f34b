"""What the licensing services share: their limits, their error and a per-process cache."""

import time

from django.conf import settings

AUTHORIZATION_DAYS = 30
RENEW_AFTER_DAYS = 180
TOKEN_MIN_DAYS, TOKEN_MAX_DAYS = 1, 365
MAX_TOKEN_USES = 2**31 - 1  # the largest count the database stores
ACCESS_TOKEN_SECONDS = 3600


class LicensingError(ValueError):
    """A refused request from the UI or the API, with a message for the operator."""


CACHE_SECONDS = 2.0
_values: dict = {}


def cached(name, ttl, load):
    """A per-process value refreshed every ttl seconds (hot path of the gateway)."""
    entry = _values.get(name)
    now = time.monotonic()
    if settings.TESTING:  # each test has its own rows
        ttl = 0
    if entry is None or now - entry[0] > ttl:
        entry = (now, load())
        _values[name] = entry
    return entry[1]


def clear_cache() -> None:
    """Forget every cached value (after the product CA changed)."""
    _values.clear()
