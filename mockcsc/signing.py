"""Signed envelopes exchanged with on-prem servers (HMAC-SHA256 over canonical JSON)."""

import hashlib
import hmac
import json
import secrets

FORMAT = "ssm-csc/1"


class BadEnvelope(Exception):
    """The message is malformed or its signature does not verify."""


def canonical(payload) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def sign(payload, secret: str) -> str:
    return hmac.new(secret.encode(), canonical(payload), hashlib.sha256).hexdigest()


def envelope(kind: str, payload: dict, secret: str, *, bad_signature=False) -> dict:
    """Sign a payload; with bad_signature the signature is made with a throw-away key."""
    payload = dict(payload, kind=kind, format=FORMAT)
    key = secrets.token_urlsafe(16) if bad_signature else secret
    return {"format": FORMAT, "kind": kind, "payload": payload, "signature": sign(payload, key)}


def peek(data) -> dict:
    """The unverified payload, to find which registration signed it."""
    if not isinstance(data, dict) or not isinstance(data.get("payload"), dict):
        raise BadEnvelope("The message is not a signed envelope.")
    return data["payload"]


def verify(data, kind: str, secret: str) -> dict:
    payload = peek(data)
    if payload.get("kind") != kind or payload.get("format") != FORMAT:
        raise BadEnvelope(f"Expected a {kind} message.")
    given = data.get("signature")
    if not isinstance(given, str) or not hmac.compare_digest(given, sign(payload, secret)):
        raise BadEnvelope("The signature of the message does not verify.")
    return payload
