"""Polling with a deadline: the tests' only way to wait for another process."""

import time


def wait_for(predicate, seconds=30.0, message="condition"):
    """The predicate's first truthy value, checked every 0.1 s; AssertionError at the deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"Timed out waiting for {message}")
