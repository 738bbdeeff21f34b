"""Product registration through the Transport Gateway: the hot path, one statement where it can."""

import datetime as dt
import json
import uuid
from dataclasses import dataclass

import psycopg
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from accounts.choices import AccountStatus
from accounts.models import LocalAccount
from core import timing
from core.choices import EventCategory, EventResult
from core.services import record_event
from security import services as security

from .. import pki
from ..envelope import EnvelopeError, Message
from ..models import (
    ProductCA,
)
from .ca import (
    ca_key,
    cached_ca,
    cached_chain,
    cached_host_common_name,
)
from .common import (
    CACHE_SECONDS,
    RENEW_AFTER_DAYS,
    cached,
)
from .usage import ADD_TO_COUNTER_SQL, SHARD_SQL, add_to_counters


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
# A registration in one statement, committed on its own, when the token has no maximum
# number of uses: the token's state checked (not locked: a share lock taken by every
# registration made them queue on the token's row); the UDI's registered instance locked and,
# when it is in the token's virtual account (a re-registration: after a Host Common Name
# change or a long outage, every product does this), retired with its licenses released from
# this connection's In Use counters; the new instance created with its event row. Nothing is
# created when the UDI is registered in another virtual account (the general path,
# _register_in_transaction, decides). The instance is inserted only once the retiring UPDATE
# has run to completion (the counts of `r` and `old` are read first), so the partial unique
# index sees the retired row as gone. It answers the token's state, so a refusal names the
# reason.
REGISTER_SQL = (
    f"WITH t AS ({TOKEN_STATE}),"  # noqa: S608 - constant text
    " ok AS (SELECT id FROM t WHERE live AND current AND active),"
    " old AS (SELECT i.id, i.virtual_account_id FROM licensing_productinstance i"
    " WHERE i.udi_pid = %(pid)s AND i.udi_sn = %(sn)s AND i.status = 'registered'"
    " AND EXISTS (SELECT FROM ok) FOR UPDATE OF i),"
    " r AS (UPDATE licensing_productinstance p SET status = 'deregistered' FROM old"
    " WHERE p.id = old.id AND old.virtual_account_id = %(va)s RETURNING p.id),"
    " u AS (DELETE FROM licensing_licenseusage WHERE instance_id IN (SELECT id FROM r)"
    " RETURNING tag, count),"
    " c AS (INSERT INTO licensing_licensecounter (virtual_account_id, tag, shard, in_use)"
    f" SELECT %(va)s, tag, {SHARD_SQL}, -SUM(count) FROM u GROUP BY tag ORDER BY tag"
    f"{ADD_TO_COUNTER_SQL}),"
    " i AS (INSERT INTO licensing_productinstance (uuid, virtual_account_id, name, udi_pid,"
    " udi_sn, hostname, product_type, software_version, token_id, status, certificate_serial,"
    " certificate_pem, certificate_expires, out_of_compliance, registered, last_contact)"
    " SELECT %(uuid)s, %(va)s, %(name)s, %(pid)s, %(sn)s, %(hostname)s, %(product_type)s,"
    " %(version)s, ok.id, 'registered', %(serial)s, %(cert)s, %(expires)s, false, %(now)s,"
    " %(now)s FROM ok WHERE (SELECT count(*) FROM r) = (SELECT count(*) FROM old)"
    " RETURNING id),"
    " e AS (INSERT INTO accounts_event (created, category, action, message, result, username,"
    " data, account_id) SELECT %(now)s, %(category)s, 'product_registered', %(event)s"
    " || CASE WHEN EXISTS (SELECT FROM r) THEN ' (re-registration)' ELSE '' END,"
    " %(result)s, %(username)s, %(data)s::jsonb, %(account)s FROM i)"
    " SELECT (SELECT id FROM i), t.live, t.current, t.active FROM (SELECT) AS one"
    " LEFT JOIN t ON true"
)
# The registered instance of a UDI (at most one), locked, with where it lives.
REGISTERED_SQL = (
    "SELECT i.id, i.virtual_account_id, va.account_id FROM licensing_productinstance i"
    " JOIN accounts_virtualaccount va ON va.id = i.virtual_account_id"
    " WHERE i.udi_pid = %(pid)s AND i.udi_sn = %(sn)s AND i.status = 'registered'"
    " FOR UPDATE OF i"
)
RETIRE_SQL = "UPDATE licensing_productinstance SET status = 'deregistered' WHERE id = %s"
# The retired instance's licenses, released in one statement (the In Use counters follow).
RELEASE_SQL = "DELETE FROM licensing_licenseusage WHERE instance_id = %s RETURNING tag, count"
# A token with a maximum number of uses is locked first so that concurrent registrations
# count exactly. (Two statements: the count must see the rows committed while this one
# waited for the lock.) Any other token is share-locked: registrations with it run side by
# side, and a revocation waits for those that found it usable.
LOCK_TOKEN_SQL = f"{TOKEN_STATE} FOR UPDATE OF t"
SHARE_TOKEN_SQL = f"{TOKEN_STATE} FOR SHARE OF t"
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


def refuse_inactive_account(status: str) -> None:
    """A product of an account that is not active: deactivated here by a system
    administrator, or not active in Cisco Software Central."""
    if status == AccountStatus.DEACTIVATED:
        raise EnvelopeError(
            403,
            "account_deactivated",
            "the local account is deactivated: a system administrator of this server must "
            "reactivate it",
        )
    raise EnvelopeError(403, "account_inactive", "the local account is not active")


def _refuse_unusable(live: bool | None, current: bool, active: bool, status: str = "") -> None:
    """Refuse a token that is unknown (live None), revoked, expired, or whose account is not
    active."""
    if live is None:
        raise EnvelopeError(403, "invalid_token", "registration token is not valid")
    if not live:
        raise EnvelopeError(403, "token_revoked", "registration token is revoked")
    if not current:
        raise EnvelopeError(403, "token_expired", "registration token is expired")
    if not active:
        refuse_inactive_account(status)


def _read_token(value: str) -> tuple:

    row = _first_statement(TOKEN_SQL, [security.SINGLETON, value])
    if row is None:
        raise EnvelopeError(403, "invalid_token", "registration token is not valid")
    return row


def _token_for_registration(value: str) -> _Token:
    """A usable token's facts and the Host Common Name, read at most every CACHE_SECONDS.

    Its state may change in between (revoked, expired, account deactivated): the registering
    statement checks that again, so a stale entry never registers a product.
    """

    row = cached(f"token:{value}", CACHE_SECONDS, lambda: _read_token(value))
    token_id, va_id, account_id, account_status, revoked, expires, max_uses, name, previous = row
    _refuse_unusable(
        revoked is None, expires > timezone.now(), account_status == "active", account_status
    )
    if name is None:
        name, previous = cached("default_hcn", CACHE_SECONDS, security.default_host_common_name), ""
    return _Token(token_id, va_id, account_id, max_uses, (name, previous))


def _prepared(sql: str, params) -> tuple | None:
    """The first row of a hot statement, prepared once per connection (server-side binding).

    Parsing and planning cost PostgreSQL more than running these statements.
    """
    connection.ensure_connection()
    with (
        timing.statement(),
        connection.wrap_database_errors,
        psycopg.Cursor(connection.connection) as cursor,
    ):
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

    flagged = cached("resynchronization", CACHE_SECONDS, security.resynchronization_account_ids)
    if token.account_id in flagged:
        refusal = security.resynchronization_refusal(token.account_id)
        raise EnvelopeError(409, refusal.code, refusal.message)


def _check_addressed_name(host: str | None, names: tuple[str, str]) -> None:
    """Refused when the product still uses the Host Common Name this server had before."""

    try:
        security.check_registration_name(host, names=names)
    except security.RegistrationRefused as refusal:
        raise EnvelopeError(409, refusal.code, refusal.message) from None


def check_ca_name(ca: ProductCA, current: str | None = None) -> None:
    current = current or cached_host_common_name()
    if ca.host_common_name != current:
        raise EnvelopeError(
            409,
            "host_common_name_changed",
            f"the product certificate is issued for {ca.host_common_name}, not {current}; "
            "synchronize the local account so it is re-issued",
        )


def certificate_body(cert, ca: ProductCA, cert_pem: str | None = None) -> dict:
    return {
        "certificate": cert_pem or pki.pem(cert),
        "chain": cached_chain(ca),
        "serialNumber": format(cert.serial_number, "x"),
        "notAfter": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "renewAfter": (cert.not_valid_before_utc + dt.timedelta(days=RENEW_AFTER_DAYS)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
    }


def register_product(message: Message) -> dict:
    """Register a product: token + CSR → ID certificate; the product instance is created.

    The hot path of the Transport Gateway: one read, then one statement (REGISTER_SQL), for a
    first registration and a re-registration in the same virtual account alike.
    """
    body = message.body
    token = _token_for_registration(body["token"])
    try:
        csr = pki.load_csr(body["csr"])
    except pki.CertificateError as exc:
        raise EnvelopeError(400, "invalid_csr", str(exc)) from None
    ca = cached_ca()
    check_ca_name(ca, token.names[0])
    _check_addressed_name(message.host, token.names)
    _check_account_synchronized(token)
    cert = pki.issue_id_certificate(csr, ca_key(ca), ca.certificate_pem, body["pid"], body["sn"])
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
        try:
            created, *state = _first_statement(REGISTER_SQL, values | event)
        except IntegrityError:
            # a concurrent registration of the UDI committed first: the general path locks
            # and retires what that one registered (in a transaction, the error stands)
            if connection.in_atomic_block:
                raise
            created, state = None, (True, True, True)
        _refuse_unusable(*state)
    if created is None:
        _register_in_transaction(token, values, force=body["force"])
    body = certificate_body(cert, ca, values["cert"])
    return {"instance": str(instance_uuid), "name": name, **body}


def _register_in_transaction(token: _Token, values: dict, *, force: bool = False) -> None:
    """Lock the token and check it, retire a registered instance of the UDI, count a limited
    token's uses, and create.

    A UDI registered in another virtual account is not taken over unless the product says
    "force" (409 already_registered otherwise, naming nothing of the other account); a forced
    move is recorded in both accounts.
    """
    released: dict[str, int] = {}
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(SHARE_TOKEN_SQL if token.max_uses is None else LOCK_TOKEN_SQL, values)
            row = cursor.fetchone()
            _refuse_unusable(*(row[1:] if row else (None, False, False)))
            cursor.execute(REGISTERED_SQL, values)
            registered = cursor.fetchone()
            moved = registered is not None and registered[1] != token.virtual_account_id
            if moved and not force:
                raise EnvelopeError(
                    409,
                    "already_registered",
                    "this UDI is registered in another virtual account: deregister it there, "
                    "or register with force to move it here",
                )
            if token.max_uses is not None:
                cursor.execute(COUNT_USES_SQL, [token.id])
                if cursor.fetchone()[0] >= token.max_uses:
                    raise EnvelopeError(403, "token_exhausted", "registration token is exhausted")
            if registered is not None:
                cursor.execute(RETIRE_SQL, [registered[0]])
                cursor.execute(RELEASE_SQL, [registered[0]])
                for tag, count in cursor.fetchall():
                    released[tag] = released.get(tag, 0) - count
            cursor.execute(INSERT_SQL, values)
        if moved:
            record_event(
                EventCategory.LICENSING,
                "product_moved_out",
                f"Product instance {values['name']} registered again in another account with "
                "force: it is no longer registered here",
                account=LocalAccount(pk=registered[2]),
                username=values["hostname"] or values["name"],
                virtual_account=registered[1],
            )
        record_event(
            EventCategory.LICENSING,
            "product_registered",
            f"Product instance {values['name']} registered"
            + (" (moved here with force)" if moved else " (re-registration)" if registered else ""),
            account=LocalAccount(pk=token.account_id),
            username=values["hostname"] or values["name"],
            virtual_account=token.virtual_account_id,
            instance=str(values["uuid"]),
        )
        if released:
            # Last: every registration in the virtual account updates these rows, and each
            # holds them until its commit (the wait for the synchronous standby included).
            add_to_counters(registered[1], released)
