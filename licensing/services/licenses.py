"""The Licenses tab's figures and what a synchronization uploads."""

from django.db import connection, transaction
from django.db.models import Sum

from accounts.models import LocalAccount, PurchasedLicense

from ..catalog import license_info
from ..choices import InstanceStatus
from ..models import (
    LicenseCounter,
    ProductInstance,
)
from .common import CACHE_SECONDS, cached
from .rum import pending_rum_reports

LICENSE_ROWS_SQL = (
    "SELECT COALESCE(p.tag, c.tag), p.name, p.billing, p.quantity, c.in_use FROM"
    " (SELECT tag, name, billing, quantity FROM accounts_purchasedlicense"
    "  WHERE virtual_account_id = %s) p"
    " FULL OUTER JOIN (SELECT tag, SUM(in_use) AS in_use FROM licensing_licensecounter"
    "  WHERE virtual_account_id = %s GROUP BY tag) c ON c.tag = p.tag"
)


def license_names() -> dict[str, str]:
    """Each license's name as CSC's catalog last sent it (the most recent synchronization of
    any account), read at most every CACHE_SECONDS per process."""

    def load():
        rows = PurchasedLicense.objects.order_by("tag", "-synchronized").distinct("tag")
        return dict(rows.values_list("tag", "name"))

    return cached("license_names", CACHE_SECONDS, load)


def license_name(tag: str) -> str:
    """One name per license everywhere: CSC's, else the server's own catalogue's."""
    return license_names().get(tag) or license_info(tag).name


def license_rows(virtual_account) -> list[dict]:
    """The Licenses tab of a local virtual account: Purchased, In Use, Substitution, Balance.

    Reads only the per-license counters and purchased rows (a handful per account), never
    the usage rows. Substitution: inside a family a higher tier covers a lower tier's
    shortfall; the lower tier shows +n, the covering tier −n.
    """
    va_id = getattr(virtual_account, "pk", virtual_account)
    rows: dict[str, dict] = {}
    names = license_names()
    with connection.cursor() as cursor:
        cursor.execute(LICENSE_ROWS_SQL, [va_id, va_id])
        found = cursor.fetchall()
    for tag, name, billing, purchased, in_use in found:
        if purchased is None and not in_use:
            continue
        info = license_info(tag, name or "")
        rows[tag] = {
            "tag": tag,
            "name": names.get(tag) or name or info.name,
            "billing": billing or info.billing,
            "purchased": purchased or 0,
            "in_use": in_use or 0,
            "family": info.family,
            "tier": info.tier,
        }
    for row in rows.values():
        row["substitution"] = 0
    families: dict[str, list[dict]] = {}
    for row in rows.values():
        families.setdefault(row["family"], []).append(row)
    for members in families.values():
        members.sort(key=lambda r: r["tier"])
        for i, low in enumerate(members):
            short = low["in_use"] - low["purchased"]
            for high in members[i + 1 :]:
                if short <= 0:
                    break
                spare = high["purchased"] - high["in_use"] + high["substitution"]
                take = min(short, max(spare, 0))
                if take:
                    low["substitution"] += take
                    high["substitution"] -= take
                    short -= take
    for row in rows.values():
        row["balance"] = row["purchased"] - row["in_use"] + row["substitution"]
        row["alert"] = "Insufficient Licenses" if row["balance"] < 0 else ""
        # what may move to another virtual account without leaving this one short
        row["transferable"] = max(min(row["purchased"], row["balance"]), 0)
    return sorted(rows.values(), key=lambda r: r["name"].lower())


def account_license_rows(account) -> list[dict]:
    """The whole local account's licenses: each license's figures summed over its virtual
    accounts, with the virtual accounts' own figures beside them."""
    totals: dict[str, dict] = {}
    for va in account.virtual_accounts.all():
        for row in license_rows(va):
            total = totals.setdefault(
                row["tag"],
                {
                    "tag": row["tag"],
                    "name": row["name"],
                    "billing": row["billing"],
                    "purchased": 0,
                    "in_use": 0,
                    "balance": 0,
                    "virtual_accounts": [],
                },
            )
            for key in ("purchased", "in_use", "balance"):
                total[key] += row[key]
            total["virtual_accounts"].append({"virtual_account": va.name, **row})
    return sorted(totals.values(), key=lambda r: r["name"].lower())


def sync_report(account: LocalAccount, *, since=None) -> dict:
    """What a synchronization uploads for a local account: its registered product instances
    and the In Use count of each license, summed over its virtual accounts. With `since`
    (a standard synchronization) only the instances contacted, moved or registered since
    then, and the names of those that left (deregistered or removed) since then."""
    registered = ProductInstance.objects.filter(
        virtual_account__account=account, status=InstanceStatus.REGISTERED
    )
    removed = []
    if since is not None:
        registered = registered.filter(last_contact__gte=since)
        removed = sorted(
            set(
                ProductInstance.objects.filter(virtual_account__account=account)
                .exclude(status=InstanceStatus.REGISTERED)
                .filter(last_contact__gte=since)
                .values_list("name", flat=True)
            )
            - set(registered.values_list("name", flat=True))
        )
    instances = [
        {
            "name": pi.name,
            "product_type": pi.product_type,
            "udi_pid": pi.udi_pid,
            "udi_sn": pi.udi_sn,
            "virtual_account": pi.virtual_account.name,
            "last_contact": pi.last_contact.isoformat(),
        }
        for pi in registered.select_related("virtual_account").order_by(
            "virtual_account__name", "name", "pk"
        )
    ]
    usage = (
        LicenseCounter.objects.filter(virtual_account__account=account)
        .values("tag")
        .annotate(count=Sum("in_use"))
        .order_by("tag")
    )
    return {
        "rum_reports": pending_rum_reports(account),
        "type": "full" if since is None else "standard",
        "product_instances": instances,
        "removed": removed,
        "usage": [{"tag": row["tag"], "count": int(row["count"])} for row in usage],
    }


def recount_licenses(virtual_account) -> int:
    """Rebuild the In Use counters of a virtual account from its usage rows (repair tool)."""
    va_id = getattr(virtual_account, "pk", virtual_account)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM licensing_licensecounter WHERE virtual_account_id = %s", [va_id]
        )
        cursor.execute(
            "INSERT INTO licensing_licensecounter (virtual_account_id, tag, in_use) "
            "SELECT i.virtual_account_id, u.tag, SUM(u.count) FROM licensing_licenseusage u "
            "JOIN licensing_productinstance i ON i.id = u.instance_id "
            "WHERE i.virtual_account_id = %s AND i.status = 'registered' "
            "GROUP BY i.virtual_account_id, u.tag",
            [va_id],
        )
        return cursor.rowcount
