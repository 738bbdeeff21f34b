"""The usage a product reports and the In Use counters it feeds, kept exact in the same
transaction (the Licenses tab never sums usage rows)."""

from django.db import connection
from django.utils import timezone

from ..choices import InstanceStatus
from ..models import (
    LicenseCounter,
    LicenseUsage,
    ProductInstance,
)

# This connection's row of a counter, and the upsert that adds to it (also used inside
# licensing.services.registration's one-statement re-registration).
SHARD_SQL = f"pg_backend_pid() %% {LicenseCounter.SHARDS}"
ADD_TO_COUNTER_SQL = (
    " ON CONFLICT (virtual_account_id, tag, shard)"
    " DO UPDATE SET in_use = licensing_licensecounter.in_use + EXCLUDED.in_use"
)
COUNTER_SQL = (
    "INSERT INTO licensing_licensecounter (virtual_account_id, tag, shard, in_use)"  # noqa: S608 - constant text
    f" VALUES (%s, %s, {SHARD_SQL}, %s){ADD_TO_COUNTER_SQL}"
)


def add_to_counters(virtual_account_id: int, deltas: dict[str, int]) -> None:
    """Add deltas to this connection's shard of the In Use counters, creating them as needed;
    sorted to avoid deadlocks."""
    with connection.cursor() as cursor:
        for tag in sorted(deltas):
            delta = deltas[tag]
            if delta == 0:
                continue
            cursor.execute(COUNTER_SQL, [virtual_account_id, tag, delta])


def set_usage(instance: ProductInstance, counts, *, replace: bool) -> dict[str, int]:
    """Set the instance's usage of each tag (all other tags to 0 when replace); returns deltas.

    The caller holds the instance's row lock, so the usage rows cannot change under us.
    """
    existing = {u.tag: u for u in LicenseUsage.objects.filter(instance=instance)}
    wanted = dict(counts)
    if replace:
        for tag in existing:
            wanted.setdefault(tag, 0)
    deltas = {}
    for tag, count in sorted(wanted.items()):
        row = existing.get(tag)
        old = row.count if row else 0
        if count == 0:
            if row is not None:
                row.delete()
        elif row is None:
            LicenseUsage.objects.create(instance=instance, tag=tag, count=count)
        elif old != count:
            LicenseUsage.objects.filter(pk=row.pk).update(count=count, updated=timezone.now())
        if count != old:
            deltas[tag] = count - old
    add_to_counters(instance.virtual_account_id, deltas)
    return deltas


def release(instance: ProductInstance, status: InstanceStatus) -> None:
    """Release all the instance's licenses and take it out of the list."""
    set_usage(instance, [], replace=True)
    now = timezone.now()  # when it left: a standard synchronization reports it
    ProductInstance.objects.filter(pk=instance.pk).update(status=status, last_contact=now)
    instance.status, instance.last_contact = status, now
