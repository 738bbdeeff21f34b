"""Builders for licensing tests: accounts with purchased licenses, tokens, devices."""

from django.db.models import Sum
from django.test import Client as DjangoClient
from django.utils import timezone

from accounts.models import PurchasedLicense
from licensing import services
from licensing.catalog import BY_TAG
from licensing.models import LicenseCounter
from licensing.simulator import Client, Device

PI_BASE = "regid.2017-03.com.cisco.PI_BASE,3.0"
PI_LIFECYCLE = "regid.2017-03.com.cisco.PI_LIFECYCLE,3.0"
UCM_BASIC = "regid.2016-07.com.cisco.UCM_Basic,14.0"
UCM_ENHANCED = "regid.2016-07.com.cisco.UCM_Enhanced,14.0"
UCM_ENHANCED_PLUS = "regid.2016-07.com.cisco.UCM_EnhancedPlus,14.0"


def purchase(virtual_account, tag, quantity):
    """A purchased-license row as synchronization with CSC writes it."""
    info = BY_TAG[tag]
    return PurchasedLicense.objects.update_or_create(
        virtual_account=virtual_account,
        tag=tag,
        defaults={
            "account": virtual_account.account,
            "name": info.name,
            "quantity": quantity,
            "product_type": info.product_type,
            "synchronized": timezone.now(),
        },
    )[0]


def gateway_client(path="/Transportgateway/services/DeviceRequestHandler", **kwargs) -> Client:
    """A simulator client that posts through Django's test client (no network)."""
    django_client = DjangoClient()

    def transport(url_path, body):
        response = django_client.post(url_path, data=body, content_type="application/json")
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, {"raw": response.content[:200]}

    return Client(transport=transport, path=path, **kwargs)


def token_for(virtual_account, **kwargs):
    return services.create_token(virtual_account, description="test", **kwargs)


def registered(virtual_account, name="pi37", client=None, token=None) -> Device:
    """A named device registered in the virtual account."""
    client = client or gateway_client()
    device = Device.named(name) if name in ("pi37", "cucm-pub-30") else Device(sn=name)
    client.register(device, (token or token_for(virtual_account)).token)
    return device


def in_use(tag=None, virtual_account=None) -> int:
    """In Use summed over the counters' shards: of a license, a virtual account, or both."""
    rows = LicenseCounter.objects.all()
    if tag is not None:
        rows = rows.filter(tag=tag)
    if virtual_account is not None:
        rows = rows.filter(virtual_account=virtual_account)
    return rows.aggregate(total=Sum("in_use"))["total"] or 0


def in_use_by_tag() -> dict[str, int]:
    """In Use of every license, summed over virtual accounts and shards."""
    rows = LicenseCounter.objects.values("tag").annotate(total=Sum("in_use"))
    return {row["tag"]: row["total"] for row in rows}
