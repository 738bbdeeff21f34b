"""The Reports tab's CSV reports and Activity's exports: the header and rows of each kind,
for one local virtual account or the whole local account, within an optional date range."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from core.models import Event

from .choices import InstanceStatus, TransactionKind
from .models import LicenseTransaction, LicenseUsage, ProductInstance
from .services import LicensingError, license_name, license_rows

TIME = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Scope:
    """What a report covers: a local account, one of its virtual accounts or all of them
    (`virtual_account` None), and the days from `start` to `end` (both included, either open)."""

    account: object
    virtual_account: object = None
    start: dt.date | None = None
    end: dt.date | None = None

    @property
    def virtual_accounts(self) -> list:
        if self.virtual_account is not None:
            return [self.virtual_account]
        return list(self.account.virtual_accounts.all())

    def within(self, field: str) -> Q:
        """`field` (a time) inside the date range, the days taken in the workspace's zone."""
        match = Q()
        if self.start:
            match &= Q(**{f"{field}__gte": _midnight(self.start)})
        if self.end:
            match &= Q(**{f"{field}__lt": _midnight(self.end + dt.timedelta(days=1))})
        return match

    @property
    def label(self) -> str:
        where = self.virtual_account.name if self.virtual_account else "all"
        days = "-".join(f"{d:%Y%m%d}" if d else "" for d in (self.start, self.end)).strip("-")
        return "-".join(part for part in (self.account.name, where, days) if part)


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _day(value: str, name: str) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise LicensingError(f"{name} must be a date such as 2026-12-31.") from None


def scope_from(params, account, virtual_account) -> Scope:
    """The scope a request asks for: ?scope=account for every virtual account, ?start= and
    ?end= (YYYY-MM-DD) for a date range; a clear error for anything else."""
    whole = params.get("scope", "") == "account"
    start, end = _day(params.get("start"), "From"), _day(params.get("end"), "To")
    if start and end and start > end:
        raise LicensingError("From must not be after To.")
    return Scope(account, None if whole else virtual_account, start, end)


def licenses(scope: Scope):
    """The Licenses tab of each virtual account in scope (the figures of now)."""
    header = ["Local Virtual Account", "License", "Entitlement Tag", "Billing", "Purchased"]
    header += ["In Use", "Substitution", "Balance", "Alerts"]
    rows = (
        [va.name, r["name"], r["tag"], r["billing"], r["purchased"], r["in_use"]]
        + [r["substitution"], r["balance"], r["alert"]]
        for va in scope.virtual_accounts
        for r in license_rows(va)
    )
    return header, rows


def instances_in(scope: Scope):
    """The registered product instances in scope, last in contact within the dates."""
    found = ProductInstance.objects.filter(
        virtual_account__in=scope.virtual_accounts, status=InstanceStatus.REGISTERED
    )
    return found.filter(scope.within("last_contact"))


def product_instances(scope: Scope):
    """Registered product instances in scope that were last in contact within the range."""
    header = ["Local Virtual Account", "Name", "Product Type", "UDI PID", "UDI SN", "Hostname"]
    header += ["Registered", "Last Contact", "Alerts"]
    rows = (
        [i.virtual_account.name, i.name, i.product_type, i.udi_pid, i.udi_sn, i.hostname]
        + [timezone.localtime(i.registered).strftime(TIME)]
        + [timezone.localtime(i.last_contact).strftime(TIME)]
        + ["Out of Compliance" if i.out_of_compliance else ""]
        for i in instances_in(scope)
        .select_related("virtual_account")
        .order_by("virtual_account__name", "name", "pk")
        .iterator(chunk_size=2000)
    )
    return header, rows


def usage(scope: Scope):
    """Each license each of those product instances uses."""
    header = ["Local Virtual Account", "Product Instance", "License", "Entitlement Tag", "Count"]
    header += ["Status", "Last Contact"]
    rows = (
        [va_name, instance, license_name(tag), tag, count, status]
        + [timezone.localtime(contact).strftime(TIME)]
        for va_name, instance, tag, count, status, contact in LicenseUsage.objects.filter(
            instance__in=instances_in(scope)
        )
        .order_by("instance__virtual_account__name", "instance__name", "tag")
        .values_list(
            "instance__virtual_account__name",
            "instance__name",
            "tag",
            "count",
            "status",
            "instance__last_contact",
        )
        .iterator(chunk_size=2000)
    )
    return header, rows


def transactions(scope: Scope, *, kind: str = "", search: str = ""):
    """License Transactions (Activity) of the account, or those to or from one virtual
    account, newest first."""
    found = LicenseTransaction.objects.filter(account=scope.account).filter(scope.within("created"))
    if scope.virtual_account is not None:
        name = scope.virtual_account.name
        found = found.filter(Q(source=name) | Q(target=name))
    if kind in TransactionKind.values:
        found = found.filter(kind=kind)
    if search:
        match = Q()
        for field in ("license_name", "tag", "instance_name", "username", "source", "target"):
            match |= Q(**{f"{field}__icontains": search})
        found = found.filter(match)
    return found


def transactions_csv(found):
    header = ["Time", "Type", "License", "Entitlement Tag", "Quantity", "From", "To"]
    header += ["Product Instance", "User"]
    rows = (
        [timezone.localtime(t.created).strftime(TIME), t.get_kind_display(), t.license_name]
        + [t.tag, t.quantity, t.source, t.target, t.instance_name, t.username]
        for t in found.iterator(chunk_size=2000)
    )
    return header, rows


def events(scope: Scope, *, search: str = ""):
    """The account's Event Log within the range, newest first."""
    found = Event.objects.filter(account=scope.account).filter(scope.within("created"))
    if search:
        found = found.filter(Q(message__icontains=search) | Q(username__icontains=search))
    return found


REPORTS = {
    "licenses": ("Licenses", licenses),
    "product-instances": ("Product Instances", product_instances),
    "usage": ("License Usage", usage),
    "license-transactions": (
        "License Transactions",
        lambda scope: transactions_csv(transactions(scope)),
    ),
}
