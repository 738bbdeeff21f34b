"""Ground-floor services: the event log (record_event), Settings → Email's SMTP server and
the log level chosen at run time."""

import base64
import hashlib
import logging
import smtplib
import time

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, send_mail
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import DatabaseError, transaction

from .choices import EventCategory, EventResult, LogLevel, MailSecurity
from .models import Event, LogSetting, MailServer

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


def _fernet(purpose: str = "mail-password") -> Fernet:
    # SECRET_KEY is the same on both nodes of a cluster, so either can read the password.
    key = hashlib.sha256(f"ssm-{purpose}:".encode() + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal_secret(purpose: str, value: str) -> str:
    """A stored secret (a password the server must send somewhere), encrypted with a key
    derived from SECRET_KEY for this purpose."""
    return _fernet(purpose).encrypt(value.encode()).decode() if value else ""


def open_secret(purpose: str, token: str, *, where: str) -> str:
    """The stored secret again; `where` names the page to enter it anew if it cannot be read
    (SECRET_KEY changed)."""
    if not token:
        return ""
    try:
        return _fernet(purpose).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValidationError(
            f"The stored password cannot be read with this server's SECRET_KEY: enter it again "
            f"in {where}."
        ) from None


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


# --- the log level, chosen at run time ------------------------------------------------------

LOG_LEVEL_CHECK_SECONDS = 5  # how soon every process follows a new choice
_log_level_checked = [-LOG_LEVEL_CHECK_SECONDS]


def log_level() -> str:
    """The log level chosen in Support Center → Logs (else LOG_LEVEL of the environment)."""
    row = LogSetting.objects.filter(pk=SINGLETON).values_list("level", flat=True).first()
    return row or settings.LOG_LEVEL


def set_log_level(level: str, *, user=None) -> str:
    """Choose the log level of every process of the server (each follows within a few
    seconds: the web server at its next request, the worker at its next task)."""
    level = str(level).upper()
    if level not in LogLevel.values:
        raise ValidationError(f"Choose a log level among {', '.join(LogLevel.values)}.")
    with transaction.atomic():
        previous = log_level()
        LogSetting.objects.update_or_create(pk=SINGLETON, defaults={"level": level})
        record_event(
            EventCategory.SYSTEM,
            "log_level_changed",
            f"Log level changed from {previous} to {level}",
            user=user,
        )
    apply_log_level(force=True)
    return level


def apply_log_level(*, force: bool = False) -> None:
    """Give this process's root logger the chosen level; reads it at most every few seconds
    (a database that does not answer leaves the level as it is)."""
    now = time.monotonic()
    if not force and now - _log_level_checked[0] < LOG_LEVEL_CHECK_SECONDS:
        return
    _log_level_checked[0] = now
    try:
        level = log_level()
    except DatabaseError:
        return
    logging.getLogger().setLevel(level)
