"""Ground-floor services: the event log (record_event) and Settings → Email's SMTP server."""

import base64
import hashlib
import logging
import smtplib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, send_mail
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import transaction

from .choices import EventCategory, EventResult, MailSecurity
from .models import Event, MailServer

log = logging.getLogger(__name__)

SINGLETON = 1
SMTP_TIMEOUT = 10  # seconds; a notification waits at most this long for the server


def record_event(
    category, action, message, *, user=None, result=EventResult.SUCCESS, account=None, **data
):
    """Write one event-log row; call it inside the transaction of the change it describes.

    `account` (a LocalAccount) files the event under that account as well.
    """
    username = getattr(user, "username", "") or data.pop("username", "") or "system"
    return Event.objects.create(
        account=account if getattr(account, "pk", None) else None,
        category=EventCategory(category),
        action=action,
        message=message,
        result=EventResult(result),
        user=user if getattr(user, "pk", None) else None,
        username=username,
        data=data,
    )


def _fernet() -> Fernet:
    # SECRET_KEY is the same on both nodes of a cluster, so either can read the password.
    key = hashlib.sha256(b"ssm-mail-password:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def mail_server() -> MailServer:
    """The SMTP settings (a blank, unsaved row until they are first saved)."""
    return MailServer.objects.filter(pk=SINGLETON).first() or MailServer(pk=SINGLETON)


def _password(server: MailServer) -> str:
    if not server.password_encrypted:
        return ""
    try:
        return _fernet().decrypt(server.password_encrypted.encode()).decode()
    except InvalidToken:
        raise ValidationError(
            "The stored SMTP password cannot be read with this server's SECRET_KEY: "
            "enter the password again in Settings → Email."
        ) from None


def save_mail_server(
    *, host, port, security, username="", password=None, from_address="", user=None
) -> MailServer:
    """Set the SMTP server (an empty host: e-mails go to the log). A password of None keeps
    the stored one; a server without a user name keeps no password."""
    server = mail_server()
    server.host, server.port, server.security = host.strip(), port, security
    server.username, server.from_address = username.strip(), from_address.strip()
    if not server.username:
        server.password_encrypted = ""
    elif password:
        server.password_encrypted = _fernet().encrypt(password.encode()).decode()
    server.full_clean()
    if server.host:
        message = (
            f"Email server set to {server.host}:{server.port}, security "
            f"{MailSecurity(server.security).label}"
            + (f", user {server.username}" if server.username else "")
            + "."
        )
    else:
        message = "Email server removed: notification e-mails are written to the log."
    with transaction.atomic():
        server.save()
        record_event(EventCategory.SYSTEM, "mail_server_changed", message, user=user)
    return server


def mail_connection(server: MailServer | None = None) -> SMTPBackend | None:
    """A connection to the configured SMTP server, or None when no server is set."""
    server = server or mail_server()
    if not server.host:
        return None
    return SMTPBackend(
        host=server.host,
        port=server.port,
        username=server.username or None,
        password=_password(server) or None,
        use_tls=server.security == MailSecurity.STARTTLS,
        use_ssl=server.security == MailSecurity.TLS,
        timeout=SMTP_TIMEOUT,
    )


def sender(server: MailServer | None = None) -> str:
    """The From address of the product's e-mails."""
    return (server or mail_server()).from_address or settings.DEFAULT_FROM_EMAIL


def send_test_email(to: str, *, user=None) -> None:
    """Send a test e-mail through the configured server; a failure says what went wrong."""
    server = mail_server()
    if not server.host:
        raise ValidationError("No SMTP server is set: save one first.")
    where = f"{server.host}:{server.port}"
    message = EmailMessage(
        "Test e-mail from Smart Software Manager On-Prem",
        f"This message went through the SMTP server {where}.",
        sender(server),
        [to],
        connection=mail_connection(server),
    )
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        reason = str(exc) or type(exc).__name__
        record_event(
            EventCategory.SYSTEM,
            "test_email_failed",
            f"Test e-mail to {to} through {where} failed: {reason}",
            user=user,
            result=EventResult.FAILURE,
        )
        raise ValidationError(
            f"The test e-mail could not be sent through {where}: {reason}. "
            "Check the SMTP server, port, security and credentials."
        ) from None
    record_event(
        EventCategory.SYSTEM, "test_email_sent", f"Test e-mail sent to {to} through {where}.",
        user=user,
    )  # fmt: skip


def mail_on_commit(address: str, subject: str, body: str):
    """Send a notification once the transaction commits; mail is best effort."""

    def send():
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
        except Exception:  # the change stands and is in the event log
            log.exception("Could not send the notification %r", subject)

    transaction.on_commit(send)


def format_time(value) -> str:
    """A time as the workspace shows it (2021-Jun-20 18:39:00), or "never"."""
    return value.strftime("%Y-%b-%d %H:%M:%S") if value else "never"
