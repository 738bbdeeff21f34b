"""The host names this server answers to (Django's ALLOWED_HOSTS): the names it is configured
with, plus names it learns while running: the Host Common Name set in Security and the node's
current addresses (the VIP among them while this node is active)."""

import socket
import threading
import time
from collections.abc import Callable, Iterable

import psutil

REFRESH_SECONDS = 5.0


def loopback_names() -> list[str]:
    """How a client on this machine reaches the server."""
    return ["localhost", "127.0.0.1", "[::1]"]


def this_host_names() -> list[str]:
    """This machine's host name (no DNS lookup: settings load on nodes without a resolver)."""
    return [socket.gethostname().lower()]


def interface_addresses() -> list[str]:
    """Every address on this node's interfaces (IPv6 in brackets, as in a Host header)."""
    found = []
    for addresses in psutil.net_if_addrs().values():
        for a in addresses:
            if a.family == socket.AF_INET:
                found.append(a.address)
            elif a.family == socket.AF_INET6:
                found.append(f"[{a.address.split('%', 1)[0]}]")
    return found


class ServerNames(list):
    """ALLOWED_HOSTS that also yields the names of its sources, refreshed every few seconds.

    The fixed names are the list's items; iterating (which is how Django's host validation
    reads ALLOWED_HOSTS) yields them and then the sources' current names. A source that fails
    (the database is down, say) keeps its last answer."""

    def __init__(self, fixed: Iterable[str], sources: Iterable[Callable[[], Iterable[str]]] = ()):
        super().__init__(fixed)
        self._sources = list(sources)
        self._lock = threading.Lock()
        self._learned: tuple[str, ...] = ()
        self._expires = 0.0

    def add_source(self, source: Callable[[], Iterable[str]]) -> None:
        """Also answer to what `source()` returns."""
        with self._lock:
            self._sources.append(source)
            self._expires = 0.0

    def __iter__(self):
        yield from super().__iter__()
        yield from self._current()

    def _current(self) -> tuple[str, ...]:
        now = time.monotonic()
        if now < self._expires:
            return self._learned
        with self._lock:
            if now >= self._expires:
                names = []
                for source in self._sources:
                    try:
                        names.extend(str(n).lower() for n in source() if n)
                    except Exception:  # noqa: BLE001 - the database may be down: keep the last
                        names.extend(self._learned)
                self._learned = tuple(dict.fromkeys(names))
                self._expires = now + REFRESH_SECONDS
            return self._learned
