"""The Transport Gateway envelope: parsing and validation, without touching the database.

An envelope is a JSON object ``{"message": "<JSON text>", "signature": "<base64>"}``.
The message text is what the product signs (SHA-256, with its ID key); register is the
only message sent unsigned. See docs/transport-gateway.md.
"""

import json
import re
import time
import uuid
from dataclasses import dataclass, field

from .choices import MessageType

MAX_BODY_BYTES = 64 * 1024
CLOCK_SKEW_SECONDS = 300
MAX_ENTITLEMENTS = 50
MAX_COUNT = 1_000_000
NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
TAG_RE = re.compile(r"^[A-Za-z0-9._,:+/-]{1,200}$")
TEXT_RE = re.compile(r"^[^\x00-\x1f\x7f]*$")
# UDI PID and serial number go into the ID certificate's subject (PrintableString).
UDI_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ()+,./:=?-]{0,63}$")


def rum_signed_bytes(report: dict) -> bytes:
    """What a product signs in a RUM report: the report without its "signature", as compact
    JSON with sorted keys (UTF-8)."""
    unsigned = {k: v for k, v in report.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class EnvelopeError(Exception):
    """A refused message: an HTTP status, a machine-readable code and a reason."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Message:
    """A parsed, well-formed message; signature not yet verified."""

    type: MessageType
    timestamp: int
    nonce: str
    raw: bytes
    signature: str | None
    body: dict = field(default_factory=dict)
    instance: uuid.UUID | None = None
    host: str | None = None  # the name the product addressed (Host header)


def require_utf8(value) -> None:
    """Refuse JSON whose strings cannot be stored as UTF-8 (lone surrogate escapes)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise EnvelopeError(400, "bad_encoding", "strings must be valid Unicode") from None


def _text(body, key, *, required=True, max_length=100, pattern=TEXT_RE) -> str:
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise EnvelopeError(400, "invalid_field", f"{key} must be a non-empty string")
    if len(value) > max_length:
        raise EnvelopeError(400, "invalid_field", f"{key} is longer than {max_length} characters")
    if not pattern.fullmatch(value):
        raise EnvelopeError(400, "invalid_field", f"{key} contains characters not allowed")
    return value.strip()


def _counts(body, key) -> list[tuple[str, int]]:
    items = body.get(key)
    if not isinstance(items, list) or len(items) > MAX_ENTITLEMENTS:
        raise EnvelopeError(
            400, "invalid_field", f"{key} must be a list of at most {MAX_ENTITLEMENTS} items"
        )
    result: dict[str, int] = {}
    for item in items:
        if not isinstance(item, dict):
            raise EnvelopeError(400, "invalid_field", f"each {key} item must be an object")
        tag = item.get("tag")
        count = item.get("count")
        if not isinstance(tag, str) or not TAG_RE.fullmatch(tag):
            raise EnvelopeError(400, "invalid_field", f"{key}: tag is missing or malformed")
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COUNT:
            raise EnvelopeError(
                400, "invalid_field", f"{key}: count must be an integer 0..{MAX_COUNT}"
            )
        if tag in result:
            raise EnvelopeError(400, "invalid_field", f"{key}: tag {tag} appears twice")
        result[tag] = count
    return sorted(result.items())


def parse(body: bytes, *, now: float | None = None) -> Message:
    """Parse and validate an envelope; raise EnvelopeError with the reason otherwise."""
    if len(body) > MAX_BODY_BYTES:
        raise EnvelopeError(413, "too_large", f"body is larger than {MAX_BODY_BYTES} bytes")
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise EnvelopeError(400, "malformed_json", "body is not valid JSON") from None
    if not isinstance(envelope, dict):
        raise EnvelopeError(400, "malformed_envelope", "envelope must be a JSON object")
    text = envelope.get("message")
    if not isinstance(text, str):
        raise EnvelopeError(400, "malformed_envelope", "message must be a string of JSON")
    signature = envelope.get("signature")
    if signature is not None and (not isinstance(signature, str) or len(signature) > 2048):
        raise EnvelopeError(400, "malformed_envelope", "signature must be a base64 string")
    try:
        raw = text.encode("utf-8")
        message = json.loads(text)
    except (ValueError, UnicodeError, RecursionError):
        raise EnvelopeError(400, "malformed_json", "message is not valid JSON") from None
    if not isinstance(message, dict):
        raise EnvelopeError(400, "malformed_message", "message must be a JSON object")
    require_utf8(message)
    try:
        kind = MessageType(message.get("type"))
    except ValueError:
        raise EnvelopeError(
            400, "unknown_type", f"unknown message type {str(message.get('type'))[:40]!r}"
        ) from None
    timestamp = message.get("timestamp")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or abs(timestamp) > 2**53:
        raise EnvelopeError(400, "invalid_field", "timestamp must be an integer (Unix seconds)")
    now = time.time() if now is None else now
    if abs(now - timestamp) > CLOCK_SKEW_SECONDS:
        raise EnvelopeError(
            401, "stale_timestamp", f"timestamp is more than {CLOCK_SKEW_SECONDS} s from now"
        )
    nonce = message.get("nonce")
    if not isinstance(nonce, str) or not NONCE_RE.fullmatch(nonce):
        raise EnvelopeError(400, "invalid_field", "nonce must be 16-64 characters [A-Za-z0-9_-]")
    parsed = Message(type=kind, timestamp=timestamp, nonce=nonce, raw=raw, signature=signature)
    if kind == MessageType.REGISTER:
        udi = message.get("udi")
        if not isinstance(udi, dict):
            raise EnvelopeError(400, "invalid_field", "udi must be an object with pid and sn")
        parsed.body = {
            "token": _text(message, "token", max_length=128),
            "pid": _text(udi, "pid", max_length=64, pattern=UDI_RE),
            "sn": _text(udi, "sn", max_length=64, pattern=UDI_RE),
            "hostname": _text(message, "hostname", required=False, max_length=255),
            "product_type": _text(message, "productType", max_length=64),
            "software_version": _text(message, "softwareVersion", required=False, max_length=64),
            "csr": _csr(message),
            # "register ... force": take the UDI over from wherever it is registered
            "force": message.get("force") is True,
        }
        return parsed
    if signature is None:
        raise EnvelopeError(401, "unsigned", f"{kind.value} must be signed with the ID key")
    try:
        parsed.instance = uuid.UUID(str(message.get("instance")))
    except ValueError:
        raise EnvelopeError(400, "invalid_field", "instance must be the instance UUID") from None
    if kind == MessageType.RENEW:
        parsed.body = {"csr": _csr(message)}
    elif kind == MessageType.AUTHORIZE:
        parsed.body = {"entitlements": _counts(message, "entitlements")}
    elif kind == MessageType.REPORT_USAGE:
        parsed.body = {"usage": _counts(message, "usage")}
    return parsed


def _csr(message) -> str:
    csr = message.get("csr")
    if not isinstance(csr, str) or len(csr) > 16 * 1024:
        raise EnvelopeError(400, "invalid_field", "csr must be a PEM string")
    return csr
