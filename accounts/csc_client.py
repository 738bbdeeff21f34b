"""The one client our server uses to reach Cisco Software Central (CSC) over HTTPS.

Every call verifies the server certificate against settings.CSC_CA_FILE, is bounded by
settings.CSC_TIMEOUT and raises a CscError subclass whose message is fit for an operator.
Signed calls carry an envelope {"payload": ..., "signature": HMAC-SHA256(secret, payload)}
and the answer's envelope is checked the same way before anything is returned.
"""

import hashlib
import hmac
import json
import re
import secrets
from urllib.parse import quote

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.services import open_secret

from .models import CiscoConnection

FORMAT = "ssm-csc/1"
PROXY_PASSWORD = "cisco-proxy-password"  # seal_secret's purpose for the proxy password
SETTINGS_PAGE = "Settings → Cisco Connectivity"


class CscError(Exception):
    """Synchronization with Cisco Software Central failed; str() is the operator's alert."""


class CscUnavailable(CscError):
    """CSC could not be reached (connection refused, DNS, TLS handshake)."""


class CscTimeout(CscError):
    """CSC did not answer in time."""


class CscServerError(CscError):
    """CSC answered with a server error (5xx) or an unreadable answer."""


class CscBadSignature(CscError):
    """An answer or file did not carry a valid signature, or was meant for another server."""


class CscRefused(CscError):
    """CSC refused the request (4xx) and said why."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


def canonical(payload) -> bytes:
    """The exact bytes a signature covers."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def sign(payload, secret: str) -> str:
    """HMAC-SHA256 of the canonical payload, hex."""
    return hmac.new(secret.encode(), canonical(payload), hashlib.sha256).hexdigest()


def envelope(kind: str, payload: dict, secret: str) -> dict:
    """A signed envelope of one kind (sync-request, sync-response, ...)."""
    payload = dict(payload, kind=kind, format=FORMAT)
    return {"format": FORMAT, "kind": kind, "payload": payload, "signature": sign(payload, secret)}


def open_envelope(data, kind: str, secret: str, *, registration_id: str, server_id: str) -> dict:
    """The payload of a signed envelope after every check; CscBadSignature otherwise."""
    if not isinstance(data, dict) or not isinstance(data.get("payload"), dict):
        raise CscBadSignature("The file or answer is not a Cisco Software Central message.")
    payload = data["payload"]
    if payload.get("format") != FORMAT or payload.get("kind") != kind:
        raise CscBadSignature(
            f"Expected a {kind} message but got {payload.get('kind') or 'something else'}."
        )
    if payload.get("registration_id") != registration_id or payload.get("server_id") != server_id:
        raise CscBadSignature(
            "The message was issued for another local account or another server; it was refused."
        )
    given = data.get("signature")
    if not isinstance(given, str) or not hmac.compare_digest(given, sign(payload, secret)):
        raise CscBadSignature(
            "The message from Cisco Software Central failed its signature check; "
            "nothing was applied."
        )
    return payload


def connection() -> CiscoConnection:
    """The Settings page's choices (an unsaved default when none were made)."""
    return CiscoConnection.objects.filter(pk=1).first() or CiscoConnection(pk=1)


def base_url(row: CiscoConnection) -> str:
    return (row.url or settings.CSC_URL).rstrip("/")


def proxy_url(row: CiscoConnection) -> str:
    """http://[user:password@]host:port, or "" for a direct connection."""
    if not row.proxy_host:
        return ""
    auth = ""
    if row.proxy_username:
        try:
            password = open_secret(
                PROXY_PASSWORD, row.proxy_password_encrypted, where=SETTINGS_PAGE
            )
        except ValidationError as exc:
            raise CscUnavailable(exc.messages[0]) from None
        auth = f"{quote(row.proxy_username, safe='')}:{quote(password, safe='')}@"
    host = f"[{row.proxy_host}]" if ":" in row.proxy_host else row.proxy_host
    return f"http://{auth}{host}:{row.proxy_port}"


def request(method: str, path: str, *, timeout, row: CiscoConnection | None = None, **kwargs):
    """One HTTPS request to CSC as the Settings page says (URL, proxy), its CA verified."""
    row = row or connection()
    proxy = proxy_url(row)
    return requests.request(
        method,
        base_url(row) + path,
        proxies={"https": proxy, "http": proxy} if proxy else None,
        verify=settings.CSC_CA_FILE,
        timeout=timeout,
        **kwargs,
    )


def proxy_problem(exc: Exception, row: CiscoConnection) -> str:
    """What went wrong with the proxy, in an operator's words, with the way out."""
    text, where = str(exc), f"{row.proxy_host}:{row.proxy_port}"
    tunnel = re.search(r"Tunnel connection failed: (\d{3})\s*([^'\")]*)", text)
    if tunnel and tunnel.group(1) in ("401", "407"):  # tinyproxy answers 401
        return (
            f"The proxy at {where} refused the credentials (HTTP {tunnel.group(1)} "
            f"{tunnel.group(2).strip()}): check the proxy user name and password in "
            f"{SETTINGS_PAGE}."
        )
    if tunnel:
        return (
            f"The proxy at {where} could not open a connection to Cisco Software Central "
            f"(HTTP {tunnel.group(1)} {tunnel.group(2).strip()}): check the Cisco Software "
            "Central URL and the proxy's rules."
        )
    if "Connection refused" in text:
        return (
            f"The proxy at {where} refused the connection: check its host and port in "
            f"{SETTINGS_PAGE}, and that it runs."
        )
    if "resolution" in text or "not known" in text:
        return f"The proxy's host name {row.proxy_host} does not resolve (DNS): check it."
    return f"The proxy at {where} failed ({_short(exc)})."


def _post(method: str, path: str, body: dict) -> dict:
    timeout = settings.CSC_TIMEOUT
    row = connection()
    try:
        response = request(method, path, row=row, json=body, timeout=(min(timeout, 5.0), timeout))
    except requests.exceptions.ProxyError as exc:
        raise CscUnavailable(proxy_problem(exc, row)) from None
    except requests.exceptions.SSLError as exc:
        raise CscUnavailable(
            f"The certificate of Cisco Software Central could not be verified ({_short(exc)})."
        ) from None
    except requests.exceptions.Timeout:
        raise CscTimeout(
            f"Cisco Software Central did not answer within {timeout:g} seconds."
        ) from None
    except requests.exceptions.RequestException as exc:
        raise CscUnavailable(f"Cisco Software Central is unreachable ({_short(exc)}).") from None
    except OSError as exc:  # requests' own check of the CA file (CSC_CA_FILE) is an OSError
        raise CscUnavailable(
            f"The CA certificate to verify Cisco Software Central is not readable ({exc}); "
            "set CSC_CA_FILE to the CA of CSC's TLS certificate"
        ) from None
    if response.status_code >= 500:
        raise CscServerError(
            f"Cisco Software Central failed to process the request (HTTP {response.status_code})."
        )
    try:
        data = response.json()
    except ValueError:
        raise CscServerError(
            f"Cisco Software Central sent an unreadable answer (HTTP {response.status_code})."
        ) from None
    if response.status_code >= 400:
        detail = data.get("detail") if isinstance(data, dict) else None
        raise CscRefused(
            detail or f"Cisco Software Central refused the request (HTTP {response.status_code}).",
            status=response.status_code,
        )
    return data


def _short(exc) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "certificate verify failed"):
        if marker in text:
            return marker
    return text[:120]


def register(*, smart_account, virtual_account, local_account, satellite_name, server_id) -> dict:
    """Register a local account with a Cisco virtual account.

    Returns {"registration_id", "secret", "account_state"}. A virtual account that is
    already bound to another local account raises CscRefused with CSC's reason.
    """
    data = _post(
        "POST",
        "/api/v1/registrations",
        {
            "smart_account": smart_account,
            "virtual_account": virtual_account,
            "local_account": local_account,
            "satellite_name": satellite_name,
            "server_id": str(server_id),
        },
    )
    if not isinstance(data, dict) or not data.get("registration_id") or not data.get("secret"):
        raise CscServerError("Cisco Software Central sent an incomplete registration answer.")
    return data


def _signed_call(account, server_id, path, kind, payload, answer_kind, method="POST") -> dict:
    nonce = secrets.token_hex(16)
    payload = dict(
        payload,
        registration_id=account.csc_registration_id,
        server_id=str(server_id),
        nonce=nonce,
        timestamp=timezone.now().isoformat(),
    )
    data = _post(method, path, envelope(kind, payload, account.csc_secret))
    answer = open_envelope(
        data,
        answer_kind,
        account.csc_secret,
        registration_id=account.csc_registration_id,
        server_id=str(server_id),
    )
    if answer.get("nonce") != nonce:
        raise CscBadSignature("The answer from Cisco Software Central does not match the request.")
    return answer


def build_sync_request(
    account, server_id, report: dict, nonce: str | None = None, product_ca_csr: str = ""
) -> dict:
    """The signed sync-request envelope (sent over HTTPS, or saved as the manual sync file).

    With product_ca_csr the answer also carries the re-issued product CA certificate
    ("product_ca_certificate", "product_ca_chain").
    """
    payload = {
        "registration_id": account.csc_registration_id,
        "server_id": str(server_id),
        "nonce": nonce or secrets.token_hex(16),
        "timestamp": timezone.now().isoformat(),
        "local_account": account.name,
        "type": report.get("type", "full"),  # standard: what changed, and "removed"
        "product_instances": report.get("product_instances", []),
        "removed": report.get("removed", []),
        "usage": report.get("usage", []),
        # Smart Licensing Using Policy: RUM reports awaiting CSC's acknowledgement
        "rum_reports": report.get("rum_reports", []),
    }
    if product_ca_csr:
        payload["product_ca_csr"] = product_ca_csr
    return envelope("sync-request", payload, account.csc_secret)


def synchronize(account, server_id, report: dict) -> dict:
    """Upload product instances and usage; return CSC's checked sync-response payload.

    The payload holds "entitlements" (name, tag, billing, quantity, product_type),
    "account_state", "synchronized_at" and "rum_acks" (the RUM reports CSC acknowledged).
    """
    request = build_sync_request(account, server_id, report)
    data = _post(
        "POST", f"/api/v1/registrations/{account.csc_registration_id}/synchronize", request
    )
    answer = open_envelope(
        data,
        "sync-response",
        account.csc_secret,
        registration_id=account.csc_registration_id,
        server_id=str(server_id),
    )
    if answer.get("nonce") != request["payload"]["nonce"]:
        raise CscBadSignature("The answer from Cisco Software Central does not match the request.")
    return answer


def deregister(account, server_id) -> dict:
    """Remove the account's registration and its product instances from CSC."""
    return _signed_call(
        account,
        server_id,
        f"/api/v1/registrations/{account.csc_registration_id}/deregister",
        "deregister-request",
        {},
        "deregister-response",
    )


def sign_product_ca_csr(account, csr_pem: str, server_id) -> dict:
    """Have CSC sign the server's product CA certificate request.

    Returns {"certificate": PEM, "chain": [PEM, ...]} where chain holds CSC's CA
    certificates (issuer first). `account` is any registered local account.
    """
    answer = _signed_call(
        account,
        server_id,
        f"/api/v1/registrations/{account.csc_registration_id}/sign-csr",
        "sign-csr-request",
        {"csr": csr_pem},
        "sign-csr-response",
    )
    if not isinstance(answer.get("certificate"), str) or not isinstance(answer.get("chain"), list):
        raise CscServerError("Cisco Software Central sent an incomplete certificate answer.")
    return {"certificate": answer["certificate"], "chain": answer["chain"]}


def classic_licenses(account, server_id) -> list[dict]:
    """The account's classic (PAK) licenses CSC can still convert to Smart Licensing:
    [{"pak", "name", "tag", "product_type", "quantity"}]."""
    answer = _signed_call(
        account,
        server_id,
        f"/api/v1/registrations/{account.csc_registration_id}/classic-licenses",
        "classic-licenses-request",
        {},
        "classic-licenses-response",
    )
    rows = answer.get("classic_licenses")
    if not isinstance(rows, list) or not all(
        isinstance(r, dict)
        and isinstance(r.get("pak"), str)
        and isinstance(r.get("tag"), str)
        and isinstance(r.get("quantity"), int)
        for r in rows
    ):
        raise CscServerError("Cisco Software Central sent an unreadable list of classic licenses.")
    return rows


def convert_classic_license(account, server_id, *, pak: str, tag: str, quantity: int) -> dict:
    """Convert a quantity of a PAK's license in CSC; {"converted", "left"}. Beyond what the
    PAK has left CSC refuses (CscRefused with its reason)."""
    answer = _signed_call(
        account,
        server_id,
        f"/api/v1/registrations/{account.csc_registration_id}/convert",
        "convert-request",
        {"pak": pak, "tag": tag, "quantity": quantity},
        "convert-response",
    )
    if not isinstance(answer.get("converted"), int):
        raise CscServerError("Cisco Software Central sent an incomplete conversion answer.")
    return answer


def ping() -> bool:
    """True when CSC answers its health check."""
    try:
        response = request("GET", "/api/v1/ping", timeout=settings.CSC_TIMEOUT)
    except (OSError, CscError):  # requests' errors and an unreadable CSC_CA_FILE
        return False
    return response.status_code == 200
