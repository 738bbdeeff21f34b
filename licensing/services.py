"""State changes of the licensing app. Views, the Transport Gateway, the API and commands
call these functions; each validates, writes inside one transaction and records the event."""

import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass

import psycopg
from cryptography import x509
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import LocalAccount, VirtualAccount
from core.choices import EventCategory, EventResult
from core.services import record_event

from . import pki
from .catalog import license_info
from .choices import AuthorizationStatus, InstanceStatus, MessageType, ReportState
from .envelope import CLOCK_SKEW_SECONDS, EnvelopeError, Message
from .models import (
    ApiAccessToken,
    ApiClient,
    LicenseCounter,
    LicenseUsage,
    ProductCA,
    ProductInstance,
    RegistrationToken,
    RumReport,
    UsedNonce,
)

AUTHORIZATION_DAYS = 30
RENEW_AFTER_DAYS = 180
TOKEN_MIN_DAYS, TOKEN_MAX_DAYS = 1, 365
ACCESS_TOKEN_SECONDS = 3600


class LicensingError(ValueError):
    """A refused request from the UI or the API, with a message for the operator."""


# ---------------------------------------------------------------------------
# The product CA


def _ca_password() -> bytes:
    return pki.encryption_password(settings.PRODUCT_CA_ENCRYPTION_KEY)


_ca_cache: dict = {}
_ca_lock = threading.Lock()


def host_common_name() -> str:
    """The Host Common Name products are configured with."""
    from security.services import host_common_name as current

    return current()


CACHE_SECONDS = 2.0
_cached: dict = {}


def _cache(name, ttl, load):
    """A per-process value refreshed every ttl seconds (hot path of the gateway)."""
    entry = _cached.get(name)
    now = time.monotonic()
    if settings.TESTING:  # each test has its own rows
        ttl = 0
    if entry is None or now - entry[0] > ttl:
        entry = (now, load())
        _cached[name] = entry
    return entry[1]


def _cached_ca() -> ProductCA:
    return _cache("ca", CACHE_SECONDS, product_ca)


def _cached_host_common_name() -> str:
    return _cache("hcn", CACHE_SECONDS, host_common_name)


def _cached_chain(ca: ProductCA) -> list[str]:
    key = f"chain:{ca.pk}:{ca.updated}"
    return _cache(key, 3600, lambda: product_ca_chain(ca))


def product_ca() -> ProductCA:
    """The active product CA, created (self-signed, for the Host Common Name) on first use."""
    ca = ProductCA.objects.filter(active=True).first()
    if ca is not None:
        return ca
    name = host_common_name()
    key_pem, cert_pem = pki.new_ca(name, _ca_password())
    with transaction.atomic():
        if ProductCA.objects.filter(active=True).exists():
            return ProductCA.objects.get(active=True)
        try:
            with transaction.atomic():
                ca = ProductCA.objects.create(
                    host_common_name=name, key_pem_encrypted=key_pem, certificate_pem=cert_pem
                )
        except IntegrityError:  # another process created it first
            return ProductCA.objects.get(active=True)
        record_event(
            EventCategory.LICENSING,
            "product_ca_created",
            f"Product CA created for Host Common Name {name}",
        )
    return ca


def _ca_key(ca: ProductCA):
    """The CA's private key, decrypted once per process and CA version."""
    cache_key = (ca.pk, ca.updated, ca.key_pem_encrypted[-64:])
    key = _ca_cache.get(cache_key)
    if key is None:
        with _ca_lock:
            key = pki.load_key(ca.key_pem_encrypted, _ca_password())
            _ca_cache.clear()
            _ca_cache[cache_key] = key
    return key


def product_ca_chain(ca: ProductCA | None = None) -> list[str]:
    """The PEM certificates a product needs above its ID certificate: CA, then its issuers."""
    ca = ca or product_ca()
    chain = [ca.certificate_pem.strip() + "\n"]
    chain += [pki.pem(c) for c in pki.split_pem_chain(ca.chain_pem)]
    return chain


def product_ca_csr(common_name: str) -> str:
    """A CSR for the product CA's key, for CSC to re-issue the CA for a Host Common Name."""
    ca = product_ca()
    key = _ca_key(ca)
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Smart Software Manager On-Prem"),
                    x509.NameAttribute(NameOID.COMMON_NAME, f"Product CA {common_name}"[:64]),
                ]
            )
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def install_product_ca_certificate(cert_pem: str, chain_pem: str = "", *, host_common_name=None):
    """Install a CA certificate (re-issued by CSC) for the current CA key, with its issuers."""
    ca = product_ca()
    certs = pki.split_pem_chain(cert_pem)
    if len(certs) != 1:
        raise LicensingError("Expected exactly one CA certificate.")
    cert = certs[0]
    key = _ca_key(ca)
    from cryptography.hazmat.primitives import serialization

    def spki(k):
        return k.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    if spki(cert.public_key()) != spki(key.public_key()):
        raise LicensingError("The certificate is not for the product CA's key.")
    chain = pki.split_pem_chain(chain_pem)
    if chain:
        try:
            pki.verify_chain(cert, chain)
        except pki.CertificateError as exc:
            raise LicensingError(f"The chain does not verify: {exc}") from None
    name = host_common_name or _name_of_ca(cert) or ca.host_common_name
    _cached.clear()
    with transaction.atomic():
        ProductCA.objects.filter(pk=ca.pk).update(
            certificate_pem=pki.pem(cert),
            chain_pem="".join(pki.pem(c) for c in chain),
            host_common_name=name,
            updated=timezone.now(),
        )
        record_event(
            EventCategory.LICENSING,
            "product_ca_installed",
            f"Product CA certificate installed for Host Common Name {name}",
        )
    return ProductCA.objects.get(pk=ca.pk)


def _name_of_ca(cert) -> str:
    from cryptography.x509.oid import NameOID

    values = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = values[0].value if values else ""
    return value.removeprefix("Product CA ").strip() if value.startswith("Product CA ") else ""


# ---------------------------------------------------------------------------
# Registration tokens


def create_token(
    virtual_account: VirtualAccount,
    *,
    description: str = "",
    expires_after_days: int = 30,
    export_controlled: bool = False,
    max_uses: int | None = None,
    user=None,
) -> RegistrationToken:
    """Create a Product Instance Registration Token for a local virtual account."""
    if (
        isinstance(expires_after_days, bool)
        or not isinstance(expires_after_days, int)
        or not TOKEN_MIN_DAYS <= expires_after_days <= TOKEN_MAX_DAYS
    ):
        raise LicensingError(
            f"Expire After must be between {TOKEN_MIN_DAYS} and {TOKEN_MAX_DAYS} days."
        )
    if max_uses is not None and (not isinstance(max_uses, int) or max_uses < 1):
        raise LicensingError("Max. Number of Uses must be a positive number.")
    description = (description or "").strip()
    if len(description) > 200:
        raise LicensingError("Description must be at most 200 characters.")
    with transaction.atomic():
        token = RegistrationToken.objects.create(
            virtual_account=virtual_account,
            token=secrets.token_urlsafe(48),
            description=description,
            expires=timezone.now() + dt.timedelta(days=expires_after_days),
            export_controlled=bool(export_controlled),
            max_uses=max_uses,
            created_by=user if getattr(user, "pk", None) else None,
            created_by_name=getattr(user, "username", "") or "API",
        )
        record_event(
            EventCategory.LICENSING,
            "token_created",
            f"Registration token {token.short_token} created in {virtual_account.name}"
            f" (expires after {expires_after_days} days)",
            user=user,
            account=virtual_account.account,
            virtual_account=virtual_account.pk,
            token=token.pk,
        )
    return token


def revoke_token(token: RegistrationToken, *, user=None) -> RegistrationToken:
    """Revoke a token; products can no longer register with it."""
    with transaction.atomic():
        updated = RegistrationToken.objects.filter(pk=token.pk, revoked__isnull=True).update(
            revoked=timezone.now()
        )
        if not updated:
            raise LicensingError("The token is already revoked.")
        record_event(
            EventCategory.LICENSING,
            "token_revoked",
            f"Registration token {token.short_token} revoked",
            user=user,
            account=token.virtual_account.account,
            virtual_account=token.virtual_account_id,
            token=token.pk,
        )
    token.refresh_from_db()
    return token


# ---------------------------------------------------------------------------
# The Transport Gateway


def instance_name(pid: str, sn: str) -> str:
    """The Product Instances tab's Name of a UDI."""
    return f"UDI_PID:{pid}; UDI_SN:{sn}"


# The token, its account's status and the Host Common Name (current, previous): one read,
# kept CACHE_SECONDS per process; the registering statement checks the token's state again.
TOKEN_SQL = (
    "SELECT t.id, t.virtual_account_id, va.account_id, a.status, t.revoked, t.expires,"
    " t.max_uses, h.name, h.previous FROM licensing_registrationtoken t"
    " JOIN accounts_virtualaccount va ON va.id = t.virtual_account_id"
    " JOIN accounts_localaccount a ON a.id = va.account_id"
    " LEFT JOIN security_hostcommonname h ON h.id = %s WHERE t.token = %s"
)
# The state of a token now: not revoked, not expired, its local account active.
TOKEN_STATE = (
    "SELECT t.id, t.revoked IS NULL AS live, t.expires > %(now)s AS current,"
    " a.status = 'active' AS active FROM licensing_registrationtoken t"
    " JOIN accounts_virtualaccount va ON va.id = t.virtual_account_id"
    " JOIN accounts_localaccount a ON a.id = va.account_id WHERE t.id = %(token)s"
)
# A registration in one statement, committed on its own: the instance is created only if
# the token is usable now and no instance of the UDI is registered, with its event row;
# it answers the token's state, so a refusal names the reason.
# A re-registration, or a token with a maximum number of uses, takes a transaction instead.
REGISTER_SQL = (
    f"WITH t AS ({TOKEN_STATE}),"  # noqa: S608 - constant text
    " ok AS (SELECT id FROM t WHERE live AND current AND active),"
    " old AS (SELECT id FROM licensing_productinstance WHERE udi_pid = %(pid)s"
    " AND udi_sn = %(sn)s AND status = 'registered'),"
    " i AS (INSERT INTO licensing_productinstance (uuid, virtual_account_id, name, udi_pid,"
    " udi_sn, hostname, product_type, software_version, token_id, status, certificate_serial,"
    " certificate_pem, certificate_expires, out_of_compliance, registered, last_contact)"
    " SELECT %(uuid)s, %(va)s, %(name)s, %(pid)s, %(sn)s, %(hostname)s, %(product_type)s,"
    " %(version)s, ok.id, 'registered', %(serial)s, %(cert)s, %(expires)s, false, %(now)s,"
    " %(now)s FROM ok WHERE NOT EXISTS (SELECT FROM old) RETURNING id),"
    " e AS (INSERT INTO accounts_event (created, category, action, message, result, username,"
    " data, account_id) SELECT %(now)s, %(category)s, 'product_registered', %(event)s,"
    " %(result)s, %(username)s, %(data)s::jsonb, %(account)s FROM i)"
    " SELECT (SELECT id FROM i), t.live, t.current, t.active FROM (SELECT) AS one"
    " LEFT JOIN t ON true"
)
RETIRE_SQL = (
    "UPDATE licensing_productinstance SET status = 'deregistered'"
    " WHERE udi_pid = %(pid)s AND udi_sn = %(sn)s AND status = 'registered' RETURNING id"
)
# A token with a maximum number of uses is locked first so that concurrent registrations
# count exactly. (Two statements: the count must see the rows committed while this one
# waited for the lock.)
LOCK_TOKEN_SQL = f"{TOKEN_STATE} FOR UPDATE OF t"
COUNT_USES_SQL = "SELECT count(*) FROM licensing_productinstance WHERE token_id = %s"
INSERT_SQL = (
    "INSERT INTO licensing_productinstance (uuid, virtual_account_id, name, udi_pid, udi_sn,"
    " hostname, product_type, software_version, token_id, status, certificate_serial,"
    " certificate_pem, certificate_expires, out_of_compliance, registered, last_contact)"
    " VALUES (%(uuid)s, %(va)s, %(name)s, %(pid)s, %(sn)s, %(hostname)s, %(product_type)s,"
    " %(version)s, %(token)s, 'registered', %(serial)s, %(cert)s, %(expires)s, false,"
    " %(now)s, %(now)s)"
)


@dataclass
class _Token:
    id: int
    virtual_account_id: int
    account_id: int
    max_uses: int | None
    names: tuple[str, str]  # the Host Common Name: current, previous


def _refuse_unusable(live: bool | None, current: bool, active: bool) -> None:
    """Refuse a token that is unknown (live None), revoked, expired, or whose account is not
    active."""
    if live is None:
        raise EnvelopeError(403, "invalid_token", "registration token is not valid")
    if not live:
        raise EnvelopeError(403, "token_revoked", "registration token is revoked")
    if not current:
        raise EnvelopeError(403, "token_expired", "registration token is expired")
    if not active:
        raise EnvelopeError(403, "account_inactive", "the local account is not active")


def _read_token(value: str) -> tuple:
    from security.services import SINGLETON

    row = _first_statement(TOKEN_SQL, [SINGLETON, value])
    if row is None:
        raise EnvelopeError(403, "invalid_token", "registration token is not valid")
    return row


def _token_for_registration(value: str) -> _Token:
    """A usable token's facts and the Host Common Name, read at most every CACHE_SECONDS.

    Its state may change in between (revoked, expired, account deactivated): the registering
    statement checks that again, so a stale entry never registers a product.
    """
    from security.services import default_host_common_name

    row = _cache(f"token:{value}", CACHE_SECONDS, lambda: _read_token(value))
    token_id, va_id, account_id, account_status, revoked, expires, max_uses, name, previous = row
    _refuse_unusable(revoked is None, expires > timezone.now(), account_status == "active")
    if name is None:
        name, previous = _cache("default_hcn", CACHE_SECONDS, default_host_common_name), ""
    return _Token(token_id, va_id, account_id, max_uses, (name, previous))


def _prepared(sql: str, params) -> tuple | None:
    """The first row of a hot statement, prepared once per connection (server-side binding).

    Parsing and planning cost PostgreSQL more than running these statements.
    """
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        try:
            cursor.execute(sql, params, prepare=True)
        except psycopg.errors.FeatureNotSupported:
            # "cached plan must not change result type": a migration changed a table under
            # the prepared statement; forget the connection's prepared statements.
            if connection.in_atomic_block:
                raise
            connection.connection.execute("DEALLOCATE ALL")
            cursor.execute(sql, params, prepare=True)
        return cursor.fetchone()


def _first_statement(sql: str, params) -> tuple | None:
    """The first row of the request's first statement, which is also the connection check.

    Instead of Django's health check (its own round trip before a request's first query),
    the statement is sent again on a new connection when the reused one turns out dead
    (it did not run; should a registration have run, its retry finds the UDI registered
    and answers 409, and the product registers again).
    """
    lazy = (
        connection.health_check_enabled
        and not connection.health_check_done
        and connection.connection is not None
        and not connection.in_atomic_block
    )
    if lazy:
        connection.health_check_done = True
    try:
        return _prepared(sql, params)
    except (OperationalError, InterfaceError):
        if not lazy:
            raise
    connection.close()
    return _prepared(sql, params)


def _check_account_synchronized(token: _Token) -> None:
    """Refused until the token's account has synchronized since the Host Common Name changed."""
    from security import services as security

    flagged = _cache("resynchronization", CACHE_SECONDS, security.resynchronization_account_ids)
    if token.account_id in flagged:
        refusal = security.resynchronization_refusal(token.account_id)
        raise EnvelopeError(409, refusal.code, refusal.message)


def _check_addressed_name(host: str | None, names: tuple[str, str]) -> None:
    """Refused when the product still uses the Host Common Name this server had before."""
    from security import services as security

    try:
        security.check_registration_name(host, names=names)
    except security.RegistrationRefused as refusal:
        raise EnvelopeError(409, refusal.code, refusal.message) from None


def _check_ca_name(ca: ProductCA, current: str | None = None) -> None:
    current = current or _cached_host_common_name()
    if ca.host_common_name != current:
        raise EnvelopeError(
            409,
            "host_common_name_changed",
            f"the product certificate is issued for {ca.host_common_name}, not {current}; "
            "synchronize the local account so it is re-issued",
        )


def _certificate_body(cert, ca: ProductCA, cert_pem: str | None = None) -> dict:
    return {
        "certificate": cert_pem or pki.pem(cert),
        "chain": _cached_chain(ca),
        "serialNumber": format(cert.serial_number, "x"),
        "notAfter": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "renewAfter": (cert.not_valid_before_utc + dt.timedelta(days=RENEW_AFTER_DAYS)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
    }


def register_product(message: Message) -> dict:
    """Register a product: token + CSR → ID certificate; the product instance is created.

    The hot path of the Transport Gateway: one read, then one statement (REGISTER_SQL).
    """
    body = message.body
    token = _token_for_registration(body["token"])
    try:
        csr = pki.load_csr(body["csr"])
    except pki.CertificateError as exc:
        raise EnvelopeError(400, "invalid_csr", str(exc)) from None
    ca = _cached_ca()
    _check_ca_name(ca, token.names[0])
    _check_addressed_name(message.host, token.names)
    _check_account_synchronized(token)
    cert = pki.issue_id_certificate(csr, _ca_key(ca), ca.certificate_pem, body["pid"], body["sn"])
    now = timezone.now()
    name = instance_name(body["pid"], body["sn"])
    instance_uuid = uuid.uuid4()
    values = {
        "token": token.id,
        "now": now,
        "uuid": instance_uuid,
        "va": token.virtual_account_id,
        "name": name,
        "pid": body["pid"],
        "sn": body["sn"],
        "hostname": body["hostname"],
        "product_type": body["product_type"],
        "version": body["software_version"],
        "serial": format(cert.serial_number, "x"),
        "cert": pki.pem(cert),
        "expires": cert.not_valid_after_utc,
    }
    created = None
    if token.max_uses is None:
        event = {
            "category": EventCategory.LICENSING.value,
            "result": EventResult.SUCCESS.value,
            "event": f"Product instance {name} registered",
            "username": body["hostname"] or name,
            "data": json.dumps(
                {"virtual_account": token.virtual_account_id, "instance": str(instance_uuid)}
            ),
            "account": token.account_id,
        }
        created, *state = _first_statement(REGISTER_SQL, values | event)
        _refuse_unusable(*state)
    if created is None:
        _register_in_transaction(token, values)
    body = _certificate_body(cert, ca, values["cert"])
    return {"instance": str(instance_uuid), "name": name, **body}


def _register_in_transaction(token: _Token, values: dict) -> None:
    """Lock the token and check it, retire a registered instance of the UDI, count a limited
    token's uses, and create."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(LOCK_TOKEN_SQL, values)
            row = cursor.fetchone()
            _refuse_unusable(*(row[1:] if row else (None, False, False)))
            if token.max_uses is not None:
                cursor.execute(COUNT_USES_SQL, [token.id])
                if cursor.fetchone()[0] >= token.max_uses:
                    raise EnvelopeError(403, "token_exhausted", "registration token is exhausted")
            cursor.execute(RETIRE_SQL, values)
            retired = [row[0] for row in cursor.fetchall()]
            if retired:
                for old in ProductInstance.objects.filter(pk__in=retired):
                    _set_usage(old, [], replace=True)
            cursor.execute(INSERT_SQL, values)
        record_event(
            EventCategory.LICENSING,
            "product_registered",
            f"Product instance {values['name']} registered"
            + (" (re-registration)" if retired else ""),
            account=LocalAccount(pk=token.account_id),
            username=values["hostname"] or values["name"],
            virtual_account=token.virtual_account_id,
            instance=str(values["uuid"]),
        )


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
    try:
        with transaction.atomic():
            UsedNonce.objects.create(instance=instance, nonce=message.nonce)
    except IntegrityError:
        raise EnvelopeError(409, "replay", "this nonce was already used") from None
    return instance


def _counter_add(virtual_account_id: int, deltas: dict[str, int]) -> None:
    """Add deltas to In Use counters, creating them as needed; sorted to avoid deadlocks."""
    with connection.cursor() as cursor:
        for tag in sorted(deltas):
            delta = deltas[tag]
            if delta == 0:
                continue
            cursor.execute(
                "INSERT INTO licensing_licensecounter (virtual_account_id, tag, in_use) "
                "VALUES (%s, %s, %s) ON CONFLICT (virtual_account_id, tag) "
                "DO UPDATE SET in_use = licensing_licensecounter.in_use + EXCLUDED.in_use",
                [virtual_account_id, tag, delta],
            )


def _set_usage(instance: ProductInstance, counts, *, replace: bool) -> dict[str, int]:
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
    _counter_add(instance.virtual_account_id, deltas)
    return deltas


def _release(instance: ProductInstance, status: InstanceStatus) -> None:
    """Release all the instance's licenses and take it out of the list."""
    _set_usage(instance, [], replace=True)
    ProductInstance.objects.filter(pk=instance.pk).update(status=status)
    instance.status = status


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
            _check_ca_name(ca)
            cert = pki.issue_id_certificate(
                csr, _ca_key(ca), ca.certificate_pem, instance.udi_pid, instance.udi_sn
            )
            ProductInstance.objects.filter(pk=instance.pk).update(
                certificate_serial=format(cert.serial_number, "x"),
                certificate_pem=pki.pem(cert),
                certificate_expires=cert.not_valid_after_utc,
                last_contact=now,
            )
            body = _certificate_body(cert, ca)
            action, text = "certificate_renewed", "ID certificate renewed"
        elif message.type in (MessageType.AUTHORIZE, MessageType.REPORT_USAGE):
            authorize = message.type == MessageType.AUTHORIZE
            counts = message.body["entitlements" if authorize else "usage"]
            _set_usage(instance, counts, replace=authorize)
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
            text = ("Authorization: " if authorize else "Usage reported: ") + (summary or "none")
        else:
            _release(instance, InstanceStatus.DEREGISTERED)
            body = {}
            action, text = "product_deregistered", "Product instance deregistered"
        record_event(
            EventCategory.LICENSING,
            action,
            f"{instance.name}: {text}",
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


# ---------------------------------------------------------------------------
# Licenses


LICENSE_ROWS_SQL = (
    "SELECT COALESCE(p.tag, c.tag), p.name, p.billing, p.quantity, c.in_use FROM"
    " (SELECT tag, name, billing, quantity FROM accounts_purchasedlicense"
    "  WHERE virtual_account_id = %s) p"
    " FULL OUTER JOIN (SELECT tag, in_use FROM licensing_licensecounter"
    "  WHERE virtual_account_id = %s) c ON c.tag = p.tag"
)


def license_rows(virtual_account) -> list[dict]:
    """The Licenses tab of a local virtual account: Purchased, In Use, Substitution, Balance.

    Reads only the per-license counters and purchased rows (a handful per account), never
    the usage rows. Substitution: inside a family a higher tier covers a lower tier's
    shortfall; the lower tier shows +n, the covering tier −n.
    """
    va_id = getattr(virtual_account, "pk", virtual_account)
    rows: dict[str, dict] = {}
    with connection.cursor() as cursor:
        cursor.execute(LICENSE_ROWS_SQL, [va_id, va_id])
        found = cursor.fetchall()
    for tag, name, billing, purchased, in_use in found:
        if purchased is None and not in_use:
            continue
        info = license_info(tag, name or "")
        rows[tag] = {
            "tag": tag,
            "name": name or info.name,
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
    return sorted(rows.values(), key=lambda r: r["name"].lower())


def sync_report(account: LocalAccount) -> dict:
    """What a synchronization uploads for a local account: its registered product instances
    and the In Use count of each license, summed over its virtual accounts."""
    instances = [
        {
            "name": pi.name,
            "product_type": pi.product_type,
            "udi_pid": pi.udi_pid,
            "udi_sn": pi.udi_sn,
            "virtual_account": pi.virtual_account.name,
            "last_contact": pi.last_contact.isoformat(),
        }
        for pi in ProductInstance.objects.filter(
            virtual_account__account=account, status=InstanceStatus.REGISTERED
        )
        .select_related("virtual_account")
        .order_by("virtual_account__name", "name", "pk")
    ]
    usage = (
        LicenseCounter.objects.filter(virtual_account__account=account)
        .values("tag")
        .annotate(count=Sum("in_use"))
        .order_by("tag")
    )
    return {
        "product_instances": instances,
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


# ---------------------------------------------------------------------------
# Product instances from the UI/API


def remove_instance(instance: ProductInstance, *, user=None) -> None:
    """Remove a product instance: its licenses are released and it leaves the list."""
    with transaction.atomic():
        locked = (
            ProductInstance.objects.select_for_update()
            .filter(pk=instance.pk, status=InstanceStatus.REGISTERED)
            .first()
        )
        if locked is None:
            raise LicensingError("The product instance is no longer registered.")
        _release(locked, InstanceStatus.REMOVED)
        record_event(
            EventCategory.LICENSING,
            "product_removed",
            f"Product instance {locked.name} removed",
            user=user,
            account=instance.virtual_account.account,
            virtual_account=locked.virtual_account_id,
            instance=str(locked.uuid),
        )


def transfer_instance(instance: ProductInstance, target: VirtualAccount, *, user=None) -> None:
    """Move a product instance and its license usage to another local virtual account."""
    if target.account_id != instance.virtual_account.account_id:
        raise LicensingError("A product instance can only move within its local account.")
    if target.pk == instance.virtual_account_id:
        raise LicensingError("The product instance is already in that virtual account.")
    with transaction.atomic():
        locked = (
            ProductInstance.objects.select_for_update()
            .filter(pk=instance.pk, status=InstanceStatus.REGISTERED)
            .first()
        )
        if locked is None:
            raise LicensingError("The product instance is no longer registered.")
        usage = dict(LicenseUsage.objects.filter(instance=locked).values_list("tag", "count"))
        source = locked.virtual_account_id
        _counter_add(source, {t: -c for t, c in usage.items()})
        _counter_add(target.pk, usage)
        ProductInstance.objects.filter(pk=locked.pk).update(virtual_account=target)
        record_event(
            EventCategory.LICENSING,
            "product_transferred",
            f"Product instance {locked.name} transferred to {target.name}",
            user=user,
            account=target.account,
            virtual_account=target.pk,
            source_virtual_account=source,
            instance=str(locked.uuid),
        )


# ---------------------------------------------------------------------------
# Smart Licensing Using Policy (CSLU)


def receive_rum_reports(virtual_account, reports: list[dict]) -> list[dict]:
    """Store RUM reports (OPEN), apply their usage (CLOSED) and acknowledge them (ACK)."""
    acks = []
    with transaction.atomic():
        for report in reports:
            now = timezone.now()
            row, created = RumReport.objects.get_or_create(
                virtual_account=virtual_account,
                udi_pid=report["pid"],
                udi_sn=report["sn"],
                report_id=report["report_id"],
                defaults={
                    "tag": report["tag"],
                    "count": report["count"],
                    "payload": report["payload"],
                    "received": now,
                },
            )
            if created:
                instance = (
                    ProductInstance.objects.select_for_update()
                    .filter(
                        virtual_account=virtual_account,
                        udi_pid=report["pid"],
                        udi_sn=report["sn"],
                        status=InstanceStatus.REGISTERED,
                    )
                    .first()
                )
                if instance is not None and report["tag"] and report["count"] is not None:
                    _set_usage(instance, [(report["tag"], report["count"])], replace=False)
                    ProductInstance.objects.filter(pk=instance.pk).update(last_contact=now)
                RumReport.objects.filter(pk=row.pk).update(state=ReportState.CLOSED, closed=now)
                record_event(
                    EventCategory.LICENSING,
                    "rum_report_received",
                    f"RUM report {row.report_id} from {instance_name(row.udi_pid, row.udi_sn)}"
                    + (f": {row.tag} × {row.count}" if row.tag else ""),
                    account=virtual_account.account,
                    username=row.udi_sn or "product",
                    virtual_account=virtual_account.pk,
                )
            RumReport.objects.filter(pk=row.pk).update(
                state=ReportState.ACK, acknowledged=timezone.now()
            )
            acks.append({"report_id": row.report_id, "status": ReportState.ACK.value})
    return acks


# ---------------------------------------------------------------------------
# API Toolkit


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_client(name: str, accounts, *, user=None) -> tuple[ApiClient, str]:
    """Create an OAuth2 API client granted the given accounts; returns (client, secret)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise LicensingError("Name is required (at most 100 characters).")
    accounts = list(accounts)
    if not accounts:
        raise LicensingError("Grant the client at least one local account.")
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        client = ApiClient.objects.create(
            name=name,
            client_id=secrets.token_hex(16),
            secret_hash=_hash(secret),
            created_by=user if getattr(user, "pk", None) else None,
        )
        client.accounts.set(accounts)
        record_event(
            EventCategory.SECURITY,
            "api_client_created",
            f"API client {name} created for {', '.join(a.name for a in accounts)}",
            user=user,
            client=client.client_id,
        )
    return client, secret


def revoke_api_client(client: ApiClient, *, user=None) -> None:
    """Revoke an API client and every access token it holds."""
    with transaction.atomic():
        if not ApiClient.objects.filter(pk=client.pk, revoked__isnull=True).update(
            revoked=timezone.now()
        ):
            raise LicensingError("The API client is already revoked.")
        ApiAccessToken.objects.filter(client=client).delete()
        record_event(
            EventCategory.SECURITY,
            "api_client_revoked",
            f"API client {client.name} revoked",
            user=user,
            client=client.client_id,
        )


def issue_access_token(client_id: str, client_secret: str) -> tuple[str, int]:
    """OAuth2 client credentials grant: a bearer token and its lifetime in seconds."""
    client = ApiClient.objects.filter(client_id=client_id, revoked__isnull=True).first()
    if client is None or not hmac.compare_digest(client.secret_hash, _hash(client_secret)):
        raise LicensingError("invalid_client")
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        ApiAccessToken.objects.filter(client=client, expires__lt=timezone.now()).delete()
        ApiAccessToken.objects.create(
            client=client,
            token_hash=_hash(raw),
            expires=timezone.now() + dt.timedelta(seconds=ACCESS_TOKEN_SECONDS),
        )
        record_event(
            EventCategory.SECURITY,
            "api_token_issued",
            f"Access token issued to API client {client.name}",
            result=EventResult.INFO,
            username=f"api:{client.name}",
            client=client.client_id,
        )
    return raw, ACCESS_TOKEN_SECONDS


def client_for_access_token(raw: str) -> ApiClient | None:
    """The API client holding this unexpired bearer token, or None."""
    token = (
        ApiAccessToken.objects.select_related("client")
        .filter(token_hash=_hash(raw), expires__gt=timezone.now(), client__revoked__isnull=True)
        .first()
    )
    return token.client if token else None
