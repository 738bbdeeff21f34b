"""Settings → Cisco Connectivity: the URL of Cisco Software Central and the HTTP proxy every
call to it goes through, and a test that names the step that failed."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from core.choices import EventCategory, EventResult
from core.services import record_event, seal_secret

from .. import csc_client
from ..csc_client import CscError
from ..models import CiscoConnection

STEP_TIMEOUT = 5.0


def save_cisco_connection(
    *, url="", proxy_host="", proxy_port=None, proxy_username="", proxy_password=None, by_user
) -> CiscoConnection:
    """Set how the server reaches CSC. No proxy host: a direct connection (the proxy's other
    fields are cleared). A password of None keeps the stored one; no user name, no password."""
    row = csc_client.connection()
    row.url = url.strip().rstrip("/")
    row.proxy_host = proxy_host.strip().strip("[]")
    if row.proxy_host and not proxy_port:
        raise ValidationError({"proxy_port": "Give the proxy's port (for example 3128)."})
    if not row.proxy_host and (proxy_port or proxy_username):
        raise ValidationError({"proxy_host": "Give the proxy's host, or clear its other fields."})
    row.proxy_port = proxy_port if row.proxy_host else None
    row.proxy_username = proxy_username.strip() if row.proxy_host else ""
    if not row.proxy_username:
        row.proxy_password_encrypted = ""
    elif proxy_password:
        row.proxy_password_encrypted = seal_secret(csc_client.PROXY_PASSWORD, proxy_password)
    elif not row.proxy_password_encrypted:
        raise ValidationError({"proxy_password": "Give the proxy user's password."})
    row.full_clean()
    via = (
        f" through the proxy {row.proxy_host}:{row.proxy_port}"
        + (f" as {row.proxy_username}" if row.proxy_username else "")
        if row.proxy_host
        else ", directly (no proxy)"
    )
    with transaction.atomic():
        row.save()
        record_event(
            EventCategory.SYSTEM,
            "cisco_connection_changed",
            f"Cisco Software Central reached at {csc_client.base_url(row)}{via}.",
            user=by_user,
        )
    return row


@dataclass
class Step:
    """One step of the connection test: what was tried, whether it worked, what was seen."""

    name: str
    ok: bool
    detail: str


def _resolve(host: str, what: str) -> Step:
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError) as exc:
        return Step("DNS", False, f"The {what}'s host name {host} does not resolve ({exc}).")
    return Step("DNS", True, f"{host} is {', '.join(sorted(addresses))}")


def _reach_proxy(row: CiscoConnection) -> Step:
    where = f"{row.proxy_host}:{row.proxy_port}"
    try:
        with socket.create_connection((row.proxy_host, row.proxy_port), timeout=STEP_TIMEOUT):
            return Step("Proxy", True, f"The proxy at {where} accepts connections")
    except TimeoutError:
        return Step("Proxy", False, f"The proxy at {where} did not answer within 5 s.")
    except OSError as exc:
        return Step(
            "Proxy",
            False,
            f"The proxy at {where} refused the connection ({exc.strerror or exc}): check its "
            "host and port, and that it runs.",
        )


def _ask_csc(row: CiscoConnection) -> Step:
    name = "TLS and Cisco Software Central"
    try:
        response = csc_client.request("GET", "/api/v1/ping", row=row, timeout=STEP_TIMEOUT)
    except requests.exceptions.ProxyError as exc:
        return Step("Proxy", False, csc_client.proxy_problem(exc, row))
    except requests.exceptions.SSLError as exc:
        return Step(
            "TLS",
            False,
            f"The certificate of Cisco Software Central could not be verified ({exc}); "
            f"the server trusts the CA in {settings.CSC_CA_FILE}.",
        )
    except requests.exceptions.Timeout:
        return Step(name, False, "Cisco Software Central did not answer within 5 s.")
    except (OSError, CscError) as exc:
        return Step(name, False, f"Cisco Software Central is unreachable ({exc}).")
    if response.status_code != 200:
        return Step(
            "Cisco Software Central",
            False,
            f"Cisco Software Central answered HTTP {response.status_code}: check the URL.",
        )
    return Step(name, True, "Certificate verified; Cisco Software Central answered")


def check_cisco_connection(*, by_user) -> list[Step]:
    """Try each step in turn (DNS, the proxy, TLS and CSC's answer) and stop at the first
    that fails; the outcome is an event."""
    row = csc_client.connection()
    url = csc_client.base_url(row)
    steps: list[Step] = []
    if row.proxy_host:
        steps.append(_resolve(row.proxy_host, "proxy"))
        if steps[-1].ok:
            steps.append(_reach_proxy(row))
    else:
        steps.append(_resolve(urlsplit(url).hostname or "", "Cisco Software Central"))
    if all(step.ok for step in steps):
        steps.append(_ask_csc(row))
    failed = next((step for step in steps if not step.ok), None)
    record_event(
        EventCategory.SYSTEM,
        "cisco_connection_tested",
        f"Connection test to {url}: "
        + (f"{failed.name} failed: {failed.detail}" if failed else "succeeded."),
        user=by_user,
        result=EventResult.FAILURE if failed else EventResult.SUCCESS,
    )
    return steps
