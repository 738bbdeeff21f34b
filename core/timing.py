"""Where a request's time goes, as a Server-Timing header (W3C Server Timing).

Opt-in (SERVER_TIMING=true): the registration benchmark turns it on to split a
registration's latency into a new database connection, the SQL statements, Django's and the
prepared ones (an autocommitted statement includes its commit's wait for the synchronous
standby), the rest of the application (parsing, signing, JSON) and, by difference with what
the client measured, the time outside the application (TLS, nginx, the app server's queue).
"""

import time
from contextlib import contextmanager, suppress
from contextvars import ContextVar

from django.conf import settings
from django.db import DatabaseError, connection


class RequestTiming:
    """Seconds spent connecting and in SQL during one request; header() gives milliseconds."""

    def __init__(self):
        self.connect = 0.0
        self.sql = 0.0
        self.statements = 0
        self.started = time.perf_counter()

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.sql += time.perf_counter() - started
            self.statements += 1

    def header(self) -> str:
        """The Server-Timing value: app (total), connect, sql (with the statement count)."""
        total = time.perf_counter() - self.started
        return (
            f"app;dur={total * 1000:.2f}, connect;dur={self.connect * 1000:.2f}, "
            f'sql;dur={self.sql * 1000:.2f};desc="{self.statements}"'
        )


_current: ContextVar[RequestTiming | None] = ContextVar("server_timing", default=None)


@contextmanager
def statement():
    """Count a statement run outside Django's cursors (a prepared one) into the request's SQL."""
    timing = _current.get()
    if timing is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        timing.sql += time.perf_counter() - started
        timing.statements += 1


@contextmanager
def server_timing():
    """Time the request inside it; yields a RequestTiming, or None when SERVER_TIMING is off."""
    if not getattr(settings, "SERVER_TIMING", False):
        yield None
        return
    timing = RequestTiming()
    started = time.perf_counter()
    # A new connection (with its authentication) when none is kept; a kept one is checked
    # by the request's first statement (licensing.services.registration), timed as SQL.
    with suppress(DatabaseError):  # the first statement fails again; the view answers
        connection.ensure_connection()
    timing.connect = time.perf_counter() - started
    token = _current.set(timing)
    try:
        with connection.execute_wrapper(timing):
            yield timing
    finally:
        _current.reset(token)
