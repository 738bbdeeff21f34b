"""The Transport Gateway endpoints products talk to (Smart Call Home, Smart Transport, CSLU).

They take no session and no CSRF token: products authenticate with a registration token
(register) and then with signatures by their ID key. See docs/transport-gateway.md.
"""

import functools
import logging
import re
import xml.etree.ElementTree as ET

from django.db import DatabaseError, IntegrityError
from django.http import JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.models import LocalAccount
from core.parsers import RefusedJSON, loads
from core.timing import server_timing

from . import services
from .envelope import (
    MAX_BODY_BYTES,
    TEXT_RE,
    EnvelopeError,
    parse,
    require_utf8,
    rum_signed_bytes,
)

log = logging.getLogger(__name__)
MAX_RUM_REPORTS = 100


def _failure(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"status": "FAILED", "error": {"code": code, "message": message}}, status=status
    )


def _read_body(request) -> bytes:
    length = request.META.get("CONTENT_LENGTH") or "0"
    try:
        if int(length) > MAX_BODY_BYTES:
            raise EnvelopeError(413, "too_large", f"body is larger than {MAX_BODY_BYTES} bytes")
    except ValueError:
        raise EnvelopeError(400, "bad_length", "Content-Length is not a number") from None
    return request.read(MAX_BODY_BYTES + 1)


@csrf_exempt
@require_POST
def device_request(request):
    """POST a Transport Gateway envelope; the answer is JSON with status SUCCESS or FAILED."""
    with server_timing() as timing:
        response = _device_request(request)
    if timing is not None:
        response["Server-Timing"] = timing.header()
    return response


def _device_request(request):
    try:
        message = parse(_read_body(request))
        # The name the product addressed, unvalidated: a product still configured with a
        # previous Host Common Name must get the 409 that names the new one, not a 400.
        # It is only compared with the server's names, never put in an answer or a link.
        message.host = request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", "")
        answer = services.handle_message(message)
    except EnvelopeError as exc:
        return _failure(exc.status, exc.code, exc.message)
    except IntegrityError:
        return _failure(409, "conflict", "a concurrent request changed this product; retry")
    except DatabaseError:
        log.exception("database error in the Transport Gateway")
        return _failure(503, "unavailable", "the server cannot store the request now; retry")
    return JsonResponse({"status": "SUCCESS", "type": message.type.value, **answer})


def _rum_reports(body: bytes) -> list[dict]:
    """The RUM reports of a CSLU post: XML <smartLicense><RUMReport> or JSON."""
    text = body.decode("utf-8", errors="strict").strip()
    raw_reports: list = []
    if text.startswith("<"):
        if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
            raise EnvelopeError(400, "malformed_xml", "DOCTYPE and entities are not accepted")
        try:
            root = ET.fromstring(text)  # noqa: S314 - no DOCTYPE/entities, size-limited
        except ET.ParseError:
            raise EnvelopeError(400, "malformed_xml", "body is not well-formed XML") from None
        if root.tag != "smartLicense":
            raise EnvelopeError(400, "malformed_xml", "root element must be smartLicense")
        for element in root.iter("RUMReport"):
            try:
                raw_reports.append(loads(element.text or ""))
            except RefusedJSON as exc:
                raise EnvelopeError(400, "malformed_json", f"RUMReport: {exc}") from None
    else:
        try:
            data = loads(text)
        except RefusedJSON as exc:
            raise EnvelopeError(400, "malformed_json", f"body is not JSON or XML: {exc}") from None
        if isinstance(data, dict) and "RUMReport" in data:
            data = data["RUMReport"]
        raw_reports = data if isinstance(data, list) else [data]
    if not raw_reports:
        raise EnvelopeError(400, "no_reports", "no RUMReport found")
    if len(raw_reports) > MAX_RUM_REPORTS:
        raise EnvelopeError(413, "too_many_reports", f"at most {MAX_RUM_REPORTS} reports")
    require_utf8(raw_reports)
    return [_rum_report(r) for r in raw_reports]


def _string(value, name: str, max_length: int = 100) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise EnvelopeError(400, "invalid_report", f"{name} must be a string of 1-{max_length}")
    if not TEXT_RE.fullmatch(value):
        raise EnvelopeError(400, "invalid_report", f"{name} contains characters not allowed")
    return value


def _rum_report(report) -> dict:
    if isinstance(report, str):
        try:
            report = loads(report)
        except RefusedJSON as exc:
            raise EnvelopeError(400, "malformed_json", f"RUMReport: {exc}") from None
    if not isinstance(report, dict):
        raise EnvelopeError(400, "invalid_report", "a RUM report must be an object")
    metadata = report.get("metadata")
    if not isinstance(metadata, dict):
        raise EnvelopeError(400, "invalid_report", "metadata must be an object")
    udi = metadata.get("udi") if isinstance(metadata.get("udi"), dict) else {}
    tag = metadata.get("entitlement_tag")
    if tag is not None:
        tag = _string(tag, "entitlement_tag", 200)
        if not re.fullmatch(r"[A-Za-z0-9._,:+/-]+", tag):
            raise EnvelopeError(400, "invalid_report", "entitlement_tag is malformed")
    count = None
    measurements = report.get("meas_report") or []
    if not isinstance(measurements, list):
        raise EnvelopeError(400, "invalid_report", "meas_report must be a list")
    for meas_report in measurements:
        meas = meas_report.get("meas") if isinstance(meas_report, dict) else None
        if not isinstance(meas, list):
            raise EnvelopeError(400, "invalid_report", "meas_report[].meas must be a list")
        for sample in meas:
            value = sample.get("value") if isinstance(sample, dict) else None
            raw = value.get("value") if isinstance(value, dict) else None
            try:
                count = int(str(raw))
            except ValueError:
                raise EnvelopeError(
                    400, "invalid_report", "a measurement value is not a count"
                ) from None
            if not 0 <= count <= 1_000_000:
                raise EnvelopeError(400, "invalid_report", "a measurement count is out of range")
    signature = report.get("signature")
    if signature is not None:
        value = signature.get("value") if isinstance(signature, dict) else None
        if not isinstance(value, str) or not 0 < len(value) <= 1024:
            raise EnvelopeError(400, "invalid_report", "signature.value must be a base64 string")
        signature = value
    return {
        "report_id": _string(report.get("report_id"), "report_id", 64),
        "signature": signature,
        "signed_bytes": rum_signed_bytes(report),
        "pid": _string(udi.get("pid"), "metadata.udi.pid"),
        "sn": _string(udi.get("sn"), "metadata.udi.sn"),
        "tag": tag or "",
        "count": count,
        "payload": report,
    }


@csrf_exempt
@require_POST
def cslu_report(request, tenant: str):
    """POST Smart Licensing Using Policy RUM reports for a local account; answers what was
    received and CSC's acknowledgements of the product's earlier reports (ACK)."""
    name, sep, suffix = tenant.rpartition("-")
    account = LocalAccount.objects.filter(name=name).first() if sep and suffix == "1" else None
    try:
        reports = _rum_reports(_read_body(request))
        # A URL naming no local account is answered as an account with no registered product
        # and the default preferences would be: it does not tell which names exist.
        received, acks = services.receive_rum_reports(account, reports)
    except EnvelopeError as exc:
        return _failure(exc.status, exc.code, exc.message)
    except UnicodeDecodeError:
        return _failure(400, "bad_encoding", "body is not UTF-8")
    except IntegrityError:
        return _failure(409, "conflict", "a concurrent request stored this report; retry")
    return JsonResponse({"status": "SUCCESS", "smartLicense": {"received": received, "ACK": acks}})


@functools.lru_cache(maxsize=256)
def _route(path: str):
    """The gateway view of a path and its keyword arguments, or None (resolved once)."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return (match.func, match.kwargs) if match.func in (device_request, cslu_report) else None


class TransportGatewayMiddleware:
    """Products' requests go straight to the gateway views, without the browser middleware.

    Placed after SecurityMiddleware: sessions, CSRF, authentication, messages, CSP and the
    other page middleware have nothing to do for a product's JSON post, and skipping them
    is a large part of a registration's cost.
    """

    PREFIXES = ("/Transportgateway/", "/SmartTransport", "/cslu/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(self.PREFIXES):
            route = _route(request.path_info)
            if route is not None:
                return route[0](request, **route[1])
        return self.get_response(request)
