"""The product's e-mail backend: Settings → Email's SMTP server, or the log without one."""

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.console import EmailBackend as ConsoleBackend

from .services import mail_connection, mail_server, sender


class EmailBackend(BaseEmailBackend):
    """Sends through the SMTP server set in Settings → Email (its From address replacing the
    default one); writes the messages to the log while none is set."""

    def send_messages(self, email_messages):
        server = mail_server()
        connection = mail_connection(server)
        if connection is None:
            return ConsoleBackend(fail_silently=self.fail_silently).send_messages(email_messages)
        connection.fail_silently = self.fail_silently
        for message in email_messages:
            if message.from_email == settings.DEFAULT_FROM_EMAIL:
                message.from_email = sender(server)
        return connection.send_messages(email_messages)
