"""Where a request's time goes, as a Server-Timing header (W3C Server Timing).

Opt-in (SERVER_TIMING=true): the registration benchmark turns it on to split a
registration's latency into the database connection (connect or health check), the SQL
statements (an autocommitted statement includes its commit's wait for the synchronous
standby), the rest of the application (parsing, signing, JSON) and, by difference with what
the client measured, the time outside the application (TLS, nginx, the app server's queue).
"""

import time
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, connection


class RequestTiming:
    """Milliseconds spent connecting and in SQL during one request, and its total."""

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


@contextmanager
def server_timing():
    """Time the request inside it; yields a RequestTiming, or None when SERVER_TIMING is off."""
    if not getattr(settings, "SERVER_TIMING", False):
        yield None
        return
    timing = RequestTiming()
    started = time.perf_counter()
    # What Django does before the first statement, done here to be timed: a kept
    # connection's health check, or a new connection (with its authentication).
    try:
        connection.close_if_health_check_failed()
        connection.ensure_connection()
    except DatabaseError:
        pass  # the request's first statement fails again, and the view answers for it
    timing.connect = time.perf_counter() - started
    with connection.execute_wrapper(timing):
        yield timing
