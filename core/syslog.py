"""Settings → Syslog: every event-log entry forwarded to remote syslog servers as RFC 5424
messages, over UDP, TCP or TLS (TCP and TLS framed by octet counting, RFC 6587).

The event log is the queue: each server keeps the id of the last event it was sent, and a
periodic task (core.forward_events, every SYSLOG_FORWARD_INTERVAL seconds) sends what came
after it. A request never waits for a syslog server; while one is down its events wait in
the database (on either HA node: the cursor is replicated) and go when it is back. Events
are sent once they are SYSLOG_SETTLE seconds old, so that an event whose transaction
committed after a later one's is not skipped.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import ssl
import time

from cryptography import x509
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from .choices import EventCategory, EventResult, SyslogSeverity, SyslogTransport
from .models import Event, SyslogServer
from .services import record_event
from .validators import is_host

APP_NAME = "ssm-onprem"
SD_ID = "ssm@32473"  # 32473: the enterprise number RFC 5612 reserves for documentation
BOM = "\ufeff"
TIMEOUT = 5.0
BATCH = 1000
UDP_LIMIT = 8192  # bytes of one datagram (longer messages are cut)

SEVERITY = {
    EventResult.FAILURE: SyslogSeverity.ERROR,
    EventResult.NONCOMPLIANT: SyslogSeverity.WARNING,
    EventResult.SUCCESS: SyslogSeverity.NOTICE,
    EventResult.INFO: SyslogSeverity.INFORMATIONAL,
}


def severity(event: Event) -> int:
    return SEVERITY.get(event.result, SyslogSeverity.NOTICE)


def _printable(text: str, limit: int) -> str:
    """A header field: printable US-ASCII without spaces, "-" when empty."""
    cleaned = "".join(c for c in text if 33 <= ord(c) <= 126)[:limit]
    return cleaned or "-"


def _param(value) -> str:
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")
    return text.replace("\x00", "")


def format_message(
    *, facility: int, level: int, when: dt.datetime, msgid: str, params: dict, text: str
) -> bytes:
    """One RFC 5424 message: header, one structured-data element, the UTF-8 text."""
    stamp = when.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    data = " ".join(f'{k}="{_param(v)}"' for k, v in params.items() if v not in (None, ""))
    header = (
        f"<{facility * 8 + level}>1 {stamp} {_printable(socket.gethostname(), 255)} "
        f"{APP_NAME} {os.getpid()} {_printable(msgid, 32)}"
    )
    body = text.replace("\x00", "")
    return f"{header} [{SD_ID} {data}] {BOM}{body}".encode()


def event_message(event: Event, facility: int) -> bytes:
    return format_message(
        facility=facility,
        level=severity(event),
        when=event.created,
        msgid=event.action,
        params={
            "id": event.pk,
            "category": event.category,
            "result": event.result,
            "user": event.username,
            "account": event.account_id,
        },
        text=event.message,
    )


def _connect(server: SyslogServer) -> socket.socket:
    if server.transport == SyslogTransport.UDP:
        family = socket.getaddrinfo(server.host, server.port, type=socket.SOCK_DGRAM)[0]
        sock = socket.socket(family[0], socket.SOCK_DGRAM)
        sock.settimeout(TIMEOUT)
        sock.connect(family[4])
        return sock
    sock = socket.create_connection((server.host, server.port), timeout=TIMEOUT)
    if server.transport == SyslogTransport.TLS:
        context = ssl.create_default_context(cadata=server.ca_certificate or None)
        try:
            return context.wrap_socket(sock, server_hostname=server.host)
        except BaseException:
            sock.close()
            raise
    return sock


def send(server: SyslogServer, messages: list[bytes]) -> None:
    """Send the messages in one connection; OSError (ssl.SSLError included) when it fails."""
    with _connect(server) as sock:
        for message in messages:
            if server.transport == SyslogTransport.UDP:
                sock.send(message[:UDP_LIMIT])
            else:
                sock.sendall(f"{len(message)} ".encode() + message)


def problem(server: SyslogServer, exc: Exception) -> str:
    """What failed, for the page and the server's last error."""
    where = f"{server.host}:{server.port} ({server.get_transport_display()})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS: the certificate of {where} could not be verified ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS with {where} failed ({exc.reason or exc})"
    if isinstance(exc, socket.gaierror):
        return f"The host name {server.host} does not resolve (DNS)"
    if isinstance(exc, ConnectionRefusedError):
        return f"{where} refused the connection: is the syslog server listening there?"
    if isinstance(exc, TimeoutError):
        return f"{where} did not answer within {TIMEOUT:g} s"
    return f"Sending to {where} failed ({exc})"


def forward_events(*, budget: float | None = None) -> int:
    """Send each server the events after its cursor (old enough to be settled); returns how
    many were sent. A server another worker is serving now is skipped."""
    budget = settings.SYSLOG_FORWARD_INTERVAL if budget is None else budget
    settled = timezone.now() - dt.timedelta(seconds=settings.SYSLOG_SETTLE)
    end = time.monotonic() + budget
    sent = 0
    for pk in SyslogServer.objects.values_list("pk", flat=True):
        while True:
            with transaction.atomic():
                server = SyslogServer.objects.select_for_update(skip_locked=True).filter(pk=pk)
                server = server.first()
                if server is None:
                    break
                events = list(
                    Event.objects.filter(
                        pk__gt=server.last_event_id, created__lte=settled
                    ).order_by("pk")[:BATCH]
                )
                wanted = [e for e in events if severity(e) <= server.severity]
                try:
                    if wanted:
                        send(server, [event_message(e, server.facility) for e in wanted])
                except OSError as exc:
                    server.last_error = f"{timezone.now():%Y-%m-%d %H:%M:%S} UTC: "
                    server.last_error = (server.last_error + problem(server, exc))[:300]
                    server.save(update_fields=["last_error"])
                    break
                if events:
                    server.last_event_id = events[-1].pk
                    server.last_error = ""
                    if wanted:
                        server.last_sent = timezone.now()
                    server.save(update_fields=["last_event_id", "last_error", "last_sent"])
                sent += len(wanted)
            if len(events) < BATCH or time.monotonic() > end:
                break
    return sent


def add_syslog_server(
    *, host, port, transport, facility, severity, ca_certificate="", by_user
) -> SyslogServer:
    """Forward the events from now on to a new syslog server."""
    host = host.strip().strip("[]")
    if not is_host(host):
        raise ValidationError({"host": "Give only the host name or address (no scheme, no path)."})
    ca_certificate = ca_certificate.strip()
    if ca_certificate:
        try:
            x509.load_pem_x509_certificates(ca_certificate.encode())
        except ValueError:
            raise ValidationError({"ca_certificate": "This is not a PEM certificate."}) from None
        if transport != SyslogTransport.TLS:
            raise ValidationError({"ca_certificate": "A CA certificate is for TLS only."})
    if SyslogServer.objects.filter(host=host, port=port, transport=transport).exists():
        raise ValidationError({"host": "This syslog server is in the list already."})
    server = SyslogServer(
        host=host,
        port=port,
        transport=transport,
        facility=facility,
        severity=severity,
        ca_certificate=ca_certificate,
        last_event_id=Event.objects.aggregate(last=Max("pk"))["last"] or 0,
    )
    server.full_clean(validate_constraints=False)  # checked above; the database has the last word
    try:
        with transaction.atomic():
            server.save()
            record_event(
                EventCategory.SYSTEM,
                "syslog_server_added",
                f"Events forwarded to the syslog server {server} (facility "
                f"{server.get_facility_display()}, {server.get_severity_display()} and above).",
                user=by_user,
            )
    except IntegrityError:
        raise ValidationError({"host": "This syslog server is in the list already."}) from None
    return server


def remove_syslog_server(server: SyslogServer, *, by_user) -> None:
    """Stop forwarding events to a syslog server."""
    with transaction.atomic():
        SyslogServer.objects.filter(pk=server.pk).delete()
        record_event(
            EventCategory.SYSTEM,
            "syslog_server_removed",
            f"Events no longer forwarded to the syslog server {server}.",
            user=by_user,
        )


def send_test_message(server: SyslogServer, *, by_user) -> None:
    """Send one test message now; ValidationError says what failed. Audited either way."""
    text = f"Test message from the license server {socket.gethostname()}"
    message = format_message(
        facility=server.facility,
        level=SyslogSeverity.NOTICE,
        when=timezone.now(),
        msgid="syslog_test",
        params={"user": getattr(by_user, "username", "")},
        text=text,
    )
    try:
        send(server, [message])
    except OSError as exc:
        failure = problem(server, exc)
        record_event(
            EventCategory.SYSTEM,
            "syslog_test",
            f"Test message to {server} failed: {failure}",
            user=by_user,
            result=EventResult.FAILURE,
        )
        raise ValidationError(failure) from None
    record_event(
        EventCategory.SYSTEM, "syslog_test", f"Test message sent to {server}.", user=by_user
    )
