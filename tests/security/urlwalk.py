"""Every URL pattern of the server, with sample arguments that point into account A."""

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

SKIPPED_PREFIXES = ()


@dataclass(frozen=True)
class Route:
    """One URL pattern: its route text, its name (namespaced) and its argument names."""

    route: str
    name: str
    arguments: tuple[str, ...]


def _text(pattern) -> str:
    """A pattern as route text; regular expressions (DRF routers) become <name> routes."""
    if isinstance(pattern, RegexPattern):
        text = pattern._regex.removeprefix("^").removesuffix("$")
        text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", text)
        return text.replace("\\.", ".")
    return str(pattern)


def _walk(patterns, prefix="", namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = namespace
            if p.namespace:
                ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
            yield from _walk(p.url_patterns, prefix + _text(p.pattern), ns)
        elif isinstance(p, URLPattern):
            route = prefix + _text(p.pattern)
            name = p.name or route
            if p.name and namespace:
                name = f"{namespace}:{p.name}"
            yield Route(route, name, tuple(re.findall(r"<(?:\w+:)?(\w+)>", route)))


def all_routes() -> list[Route]:
    """Every route of the URLconf (first pattern wins for duplicate names)."""
    seen, routes = set(), []
    for route in _walk(get_resolver().url_patterns):
        if route.route.startswith(SKIPPED_PREFIXES) or route.name in seen:
            continue
        if "format" in route.arguments:  # DRF's .json/.api suffix variants of a route
            continue
        seen.add(route.name)
        routes.append(route)
    return routes


def _path(route: Route, values: dict) -> str:
    text = route.route
    for arg in route.arguments:
        text = re.sub(rf"<(?:\w+:)?{arg}>", str(values[arg]), text)
    return "/" + text


def sample_url(route: Route, fixtures) -> str:
    """The route filled with arguments that name objects of account A (or harmless values)."""
    per_name = fixtures.sample_arguments.get(route.name, {})
    values = {}
    for arg in route.arguments:
        if arg in per_name:
            values[arg] = per_name[arg]
        elif arg in fixtures.default_arguments:
            values[arg] = fixtures.default_arguments[arg]
        else:
            values[arg] = fixtures.account_a.pk
    return _path(route, values)


def uid(user) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))


def outcome(response, login_url="/login/") -> str:
    """The answer, as the designed-answer table writes it."""
    code = response.status_code
    if 200 <= code < 300:
        return "ok"
    if code in (301, 302, 303, 307, 308):
        location = response.get("Location", "")
        return "login" if location.startswith(login_url) else "redirect"
    if code in (401, 403):
        return "deny"
    return {400: "bad", 404: "404", 405: "405"}.get(code, str(code))
