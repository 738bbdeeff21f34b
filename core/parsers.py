"""Input parsing every app shares: JSON as the server accepts it."""

import json

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class RefusedJSON(ValueError):
    """JSON the server does not accept; str() says why."""


def _refuse_constant(name):
    raise RefusedJSON(f"{name} is not a number JSON allows")


def loads(text: str | bytes):
    """json.loads that refuses NaN and Infinity, NUL characters and nesting too deep to
    parse; every refusal is a RefusedJSON (a ValueError) naming the reason."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise RefusedJSON("the JSON is nested too deeply") from None
    except RefusedJSON:
        raise
    except ValueError as exc:
        raise RefusedJSON(f"not valid JSON: {exc}") from None
    if _holds_nul(value):
        raise RefusedJSON("NUL characters (\\u0000) are not accepted")
    return value


def _holds_nul(value) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with the server's rules (see loads): a 400, never a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", "utf-8")
        try:
            return loads(stream.read().decode(encoding))
        except (RefusedJSON, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
