"""The Host Common Name: what products are configured with to reach this server, the URLs
built from it, and what a change of it asks of every local account (re-synchronization)."""

import ipaddress
import re
import socket

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.choices import AccountStatus
from accounts.models import LocalAccount
from core.choices import EventCategory
from core.services import record_event

from ..models import (
    HostCommonName,
    ResynchronizationRequired,
)
from .common import SINGLETON


def default_host_common_name() -> str:
    """HOST_COMMON_NAME from the environment, else this server's primary address."""
    configured = settings.HOST_COMMON_NAME
    if configured:
        return configured.strip().lower()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent; this picks the outgoing address
            return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"


def host_common_name() -> str:
    """The current Host Common Name: what products are configured with to reach this server."""
    row = HostCommonName.objects.filter(pk=SINGLETON).only("name").first()
    return row.name if row else default_host_common_name()


def host_header_names() -> list[str]:
    """The Host Common Name set in Security as a Host header carries it (the server answers
    to it: see core.hosts)."""
    name = HostCommonName.objects.filter(pk=SINGLETON).values_list("name", flat=True).first()
    if not name:
        return []
    return [f"[{name}]" if ":" in name else name]


def product_url_port() -> int:
    """The HTTPS port products reach this server on (omitted from URLs when it is 443)."""
    return settings.PRODUCT_URL_PORT


def web_host(common_name: str | None = None) -> str:
    """host[:port] of this server's HTTPS address under the Host Common Name: what e-mailed
    links and product URLs are built from (never the Host header of a request)."""
    name = common_name or host_common_name()
    host = f"[{name}]" if ":" in name else name
    port = product_url_port()
    return host if port == 443 else f"{host}:{port}"


def _base_url(common_name: str) -> str:
    return f"https://{web_host(common_name)}"


def product_urls(account_name: str, common_name: str | None = None) -> dict[str, str]:
    """The three URLs a product of this local account is configured with."""
    base = _base_url(common_name or host_common_name())
    return {
        "smart_call_home": f"{base}/Transportgateway/services/DeviceRequestHandler",
        "smart_transport": f"{base}/SmartTransport",
        "cslu": f"{base}/cslu/v1/pi/{account_name}-1",
    }


_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def dual_stack() -> bool:
    """True when the server is deployed with both IPv4 and IPv6 (then the name must be an FQDN)."""
    return settings.NETWORK_DUAL_STACK


def validate_host_common_name(value: str, *, dual: bool | None = None) -> str:
    """The name normalised (lower case, no dot at the end), or a ValidationError saying why not."""
    name = (value or "").strip().lower().rstrip(".")
    if not name:
        raise ValidationError(
            "Enter the Host Common Name: an IP address or a fully qualified domain name."
        )
    dual = dual_stack() if dual is None else dual
    try:
        address = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        if dual:
            raise ValidationError(
                "This server is deployed dual-stack (IPv4 and IPv6): the Host Common Name "
                "must be a fully qualified domain name that resolves to both addresses, "
                "not an IP address."
            )
        if address.is_unspecified or address.is_multicast:
            raise ValidationError(f"{address} is not an address products can reach.")
        return str(address)
    labels = name.split(".")
    if (
        len(name) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValidationError(
            f"“{value.strip()}” is neither an IP address nor a fully qualified domain name "
            "(for example 10.1.1.10 or ssm.example.com)."
        )
    return name


def set_host_common_name(value: str, *, by_user=None) -> HostCommonName:
    """Change the Host Common Name; every local account then needs a re-synchronization."""
    name = validate_host_common_name(value)
    with transaction.atomic():
        row = HostCommonName.objects.select_for_update().filter(pk=SINGLETON).first()
        old = row.name if row else default_host_common_name()
        if name == old:
            return row or HostCommonName.objects.create(pk=SINGLETON, name=name, changed_by=by_user)
        if row is None:
            row = HostCommonName(pk=SINGLETON)
        row.previous, row.name, row.changed_by = old, name, by_user
        row.save()
        flagged = _flag_accounts_for_resynchronization(name)
        record_event(
            EventCategory.SECURITY,
            "host_common_name_changed",
            f"Host Common Name changed from {old} to {name}; "
            f"{flagged} local account(s) require re-synchronization.",
            user=by_user,
            previous=old,
            new=name,
        )
    return row


class RegistrationRefused(Exception):
    """A product registration this server refuses; `code` and the message go to the product."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _flag_accounts_for_resynchronization(name: str) -> int:
    accounts = LocalAccount.objects.exclude(status=AccountStatus.DELETING)
    for account in accounts:
        ResynchronizationRequired.objects.update_or_create(
            account=account, defaults={"common_name": name}
        )
    return accounts.count()


def resynchronization_required(account) -> bool:
    """True until this account has synchronized since the Host Common Name changed."""
    return ResynchronizationRequired.objects.filter(account=account).exists()


def accounts_requiring_resynchronization():
    """The local accounts still flagged "re-synchronization required"."""
    return LocalAccount.objects.filter(resynchronization__isnull=False).order_by("name")


def resynchronization_account_ids() -> frozenset[int]:
    """Ids of the local accounts flagged "re-synchronization required" (cheap to cache)."""
    return frozenset(ResynchronizationRequired.objects.values_list("account_id", flat=True))


def resynchronization_refusal(account_id: int) -> RegistrationRefused:
    """The refusal a product gets when its account has not synchronized since the change."""
    name = LocalAccount.objects.filter(pk=account_id).values_list("name", flat=True).first()
    return RegistrationRefused(
        "resynchronization_required",
        f"The Host Common Name changed to {host_common_name()}: synchronize local account "
        f"{name} with Cisco Software Central so the product certificate is re-issued, then "
        "register again.",
    )


def clear_resynchronization(account, name: str) -> None:
    """The account synchronized for the Host Common Name `name`: its flag goes, with an event."""
    deleted, _ = ResynchronizationRequired.objects.filter(account=account).delete()
    if deleted:
        record_event(
            EventCategory.SECURITY,
            "product_certificate_resynchronized",
            f"Local account {account.name} synchronized: the product certificate is issued for "
            f"the Host Common Name {name}.",
            account=account,
        )


def _host_only(host: str) -> str:
    host = (host or "").strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def check_registration_name(host: str | None, account=None, *, names=None) -> None:
    """Refuse a product registration addressed to a name this server cannot yet answer for.

    `host` is the name the product used (the Host header; None: the Host Common Name);
    `account` is the token's local account; `names` the (current, previous) Host Common
    Name when the caller has read them already. Raises RegistrationRefused with a message
    for the product's operator.
    """
    if names is None:
        row = HostCommonName.objects.filter(pk=SINGLETON).first()
        names = (row.name, row.previous) if row else (default_host_common_name(), "")
    current, previous = names
    name = current if host is None else _host_only(host)
    if previous and name == previous and name != current:
        urls = product_urls(account.name if account else "<account>", current)
        raise RegistrationRefused(
            "host_common_name_changed",
            f"This server's Host Common Name is now {current}; configure the product with "
            f"{urls['smart_call_home']} and register again.",
        )
    if name == current and account is not None and resynchronization_required(account):
        raise resynchronization_refusal(account.pk)
