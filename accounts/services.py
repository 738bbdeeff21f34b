"""State changes of the accounts app. Every change that matters goes through here."""

from .choices import EventCategory, EventResult
from .models import Event


def record_event(category, action, message, *, user=None, result=EventResult.SUCCESS, **data):
    """Write one event-log row; call it inside the transaction of the change it describes."""
    username = getattr(user, "username", "") or data.pop("username", "") or "system"
    return Event.objects.create(
        category=EventCategory(category),
        action=action,
        message=message,
        result=EventResult(result),
        user=user if getattr(user, "pk", None) else None,
        username=username,
        data=data,
    )
