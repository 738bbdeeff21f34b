"""Signed messages of registered products: usage, renewal, deregistration, and the dispatch of
every Transport Gateway message."""

import datetime as dt

from cryptography import x509
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.choices import AccountStatus
from core.choices import EventCategory, EventResult
from core.services import record_event

from .. import pki
from ..choices import AuthorizationStatus, InstanceStatus, MessageType
from ..envelope import CLOCK_SKEW_SECONDS, EnvelopeError, Message
from ..models import (
    LicenseUsage,
    ProductInstance,
    UsedNonce,
)
from .ca import (
    ca_key,
    product_ca,
)
from .common import (
    AUTHORIZATION_DAYS,
)
from .licenses import license_rows
from .registration import (
    certificate_body,
    check_ca_name,
    refuse_inactive_account,
    register_product,
)
from .usage import release, set_usage

_cert_cache: dict[str, object] = {}


def _instance_certificate(instance: ProductInstance):
    cert = _cert_cache.get(instance.certificate_serial)
    if cert is None:
        cert = x509.load_pem_x509_certificate(instance.certificate_pem.encode())
        if len(_cert_cache) > 10000:
            _cert_cache.clear()
        _cert_cache[instance.certificate_serial] = cert
    return cert


def _authenticate(message: Message) -> ProductInstance:
    """The registered instance that signed this message, locked; refuses replays."""
    instance = (
        ProductInstance.objects.select_for_update()
        .select_related("virtual_account__account")
        .filter(uuid=message.instance, status=InstanceStatus.REGISTERED)
        .first()
    )
    if instance is None:
        raise EnvelopeError(401, "unknown_instance", "no registered product instance with that id")
    if instance.certificate_expires <= timezone.now():
        raise EnvelopeError(401, "certificate_expired", "the ID certificate has expired")
    cert = _instance_certificate(instance)
    if not pki.verify(cert.public_key(), message.raw, message.signature or ""):
        raise EnvelopeError(
            401, "bad_signature", "signature does not verify with the ID certificate"
        )
    if instance.virtual_account.account.status == AccountStatus.DEACTIVATED:
        refuse_inactive_account(AccountStatus.DEACTIVATED)
    try:
        with transaction.atomic():
            UsedNonce.objects.create(instance=instance, nonce=message.nonce)
    except IntegrityError:
        raise EnvelopeError(409, "replay", "this nonce was already used") from None
    return instance


def _balances(virtual_account) -> dict[str, dict]:
    return {row["tag"]: row for row in license_rows(virtual_account)}


def handle_signed(message: Message) -> dict:
    """Renew, authorize, report usage or deregister for a product that signed the message."""
    with transaction.atomic():
        instance = _authenticate(message)
        now = timezone.now()
        va = instance.virtual_account
        if message.type == MessageType.RENEW:
            try:
                csr = pki.load_csr(message.body["csr"])
            except pki.CertificateError as exc:
                raise EnvelopeError(400, "invalid_csr", str(exc)) from None
            ca = product_ca()
            check_ca_name(ca)
            cert = pki.issue_id_certificate(
                csr, ca_key(ca), ca.certificate_pem, instance.udi_pid, instance.udi_sn
            )
            ProductInstance.objects.filter(pk=instance.pk).update(
                certificate_serial=format(cert.serial_number, "x"),
                certificate_pem=pki.pem(cert),
                certificate_expires=cert.not_valid_after_utc,
                last_contact=now,
            )
            body = certificate_body(cert, ca)
            action, text = "certificate_renewed", "ID certificate renewed"
            result = EventResult.SUCCESS
        elif message.type in (MessageType.AUTHORIZE, MessageType.REPORT_USAGE):
            authorize = message.type == MessageType.AUTHORIZE
            counts = message.body["entitlements" if authorize else "usage"]
            set_usage(instance, counts, replace=authorize)
            balances = _balances(va)
            answers = []
            for tag, count in counts:
                ok = count == 0 or balances.get(tag, {}).get("balance", -1) >= 0
                status = (
                    AuthorizationStatus.AUTHORIZED if ok else AuthorizationStatus.OUT_OF_COMPLIANCE
                )
                answers.append({"tag": tag, "count": count, "status": status.value})
            LicenseUsage.objects.filter(instance=instance).exclude(
                tag__in=[a["tag"] for a in answers if a["status"] == "AUTHORIZED"]
            ).filter(tag__in=[t for t, _ in counts]).update(
                status=AuthorizationStatus.OUT_OF_COMPLIANCE
            )
            LicenseUsage.objects.filter(
                instance=instance,
                tag__in=[a["tag"] for a in answers if a["status"] == "AUTHORIZED"],
            ).update(status=AuthorizationStatus.AUTHORIZED)
            out = any(a["status"] != "AUTHORIZED" for a in answers)
            fields = {"last_contact": now, "out_of_compliance": out}
            expires = now + dt.timedelta(days=AUTHORIZATION_DAYS)
            if authorize:
                fields["authorization_expires"] = expires
            ProductInstance.objects.filter(pk=instance.pk).update(**fields)
            body = {"entitlements": answers}
            if authorize:
                body["authorizationExpires"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
            summary = ", ".join(f"{a['tag']} × {a['count']} {a['status']}" for a in answers)
            action = "authorization_requested" if authorize else "usage_reported"
            result = EventResult.NONCOMPLIANT if out else EventResult.SUCCESS
            text = ("Authorization: " if authorize else "Usage reported: ") + (summary or "none")
        else:
            release(instance, InstanceStatus.DEREGISTERED)
            body = {}
            action, text = "product_deregistered", "Product instance deregistered"
            result = EventResult.SUCCESS
        record_event(
            EventCategory.LICENSING,
            action,
            f"{instance.name}: {text}",
            result=result,
            account=va.account,
            username=instance.hostname or instance.name,
            virtual_account=va.pk,
            instance=str(instance.uuid),
        )
    return {"instance": str(instance.uuid), **body}


def handle_message(message: Message) -> dict:
    """Dispatch a parsed envelope to register or to the signed-message handler; the answer."""
    if message.type == MessageType.REGISTER:
        return register_product(message)
    return handle_signed(message)


def purge_used_nonces() -> int:
    """Forget nonces older than the timestamp window (they are refused as stale anyway)."""
    cutoff = timezone.now() - dt.timedelta(seconds=2 * CLOCK_SKEW_SECONDS)
    deleted, _ = UsedNonce.objects.filter(created__lt=cutoff).delete()
    return deleted
