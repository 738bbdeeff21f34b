"""What the HA services share."""

import datetime as dt
import logging

from core.choices import EventCategory, EventResult
from core.models import Event
from core.services import record_event

logger = logging.getLogger("highavailability.services")

HA = EventCategory.HIGH_AVAILABILITY
PROMOTED_ROLES = {"Promoted", "Master"}
UNPROMOTED_ROLES = {"Unpromoted", "Slave"}
# A running job that logged nothing for this long was interrupted (its node went away).
JOB_STALE_AFTER = dt.timedelta(minutes=10)


def ha_event(action: str, message: str, result=EventResult.INFO, **data) -> Event:
    """One event-log entry of the High Availability category."""
    return record_event(HA, action, message, result=result, **data)
