"""The Security event log's record of who signs in and out: every log-in, log-out and failed
log-in, with the source address (the lockout's own events are in lockout.py)."""

from core.choices import EventCategory, EventResult
from core.services import record_event

from .lockout import client_address, lockout_username


def _address(request) -> str:
    return (client_address(request) if request is not None else None) or "an unknown address"


def record_log_in(sender, request=None, user=None, **kwargs) -> None:
    """Django's user_logged_in signal: "User X logged in from ADDRESS"."""
    address = _address(request)
    record_event(
        EventCategory.SECURITY,
        "logged_in",
        f"User {user.username} logged in from {address}.",
        user=user,
        address=address,
    )


def record_log_out(sender, request=None, user=None, **kwargs) -> None:
    """Django's user_logged_out signal (user is None when nobody was signed in)."""
    if user is None:
        return
    address = _address(request)
    record_event(
        EventCategory.SECURITY,
        "logged_out",
        f"User {user.username} logged out from {address}.",
        user=user,
        address=address,
    )


def record_failed_log_in(sender, credentials=None, request=None, **kwargs) -> None:
    """Django's user_login_failed signal: a wrong password, an unknown or inactive user, or a
    user name that is locked (then the refusal says so)."""
    name = lockout_username(request, credentials) or "(no user name)"
    address = _address(request)
    locked = bool(getattr(request, "axes_locked_out", False))
    record_event(
        EventCategory.SECURITY,
        "log_in_locked" if locked else "log_in_failed",
        f"Failed log-in for {name} from {address}"
        + (": the user name is locked." if locked else "."),
        result=EventResult.FAILURE,
        username=name,
        address=address,
    )
