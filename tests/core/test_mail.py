"""Settings → Email: notification e-mails through a real SMTP server (aiosmtpd on loopback)."""

import io
import logging
from contextlib import redirect_stdout

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.test import TestCase, override_settings
from django.urls import reverse

from core import services
from core.models import Event, MailServer
from tests.support.ports import free_port
from tests.support.smtp import Mailbox


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"mailer" and auth_data.password == b"s3cret-Pass"
    return AuthResult(success=ok, handled=False, auth_data=auth_data.login)


@override_settings(EMAIL_BACKEND="core.mail.EmailBackend")
class MailServerTests(TestCase):
    def setUp(self):
        chatty = logging.getLogger("mail.log")  # aiosmtpd's per-connection log
        self.addCleanup(chatty.setLevel, chatty.level)
        chatty.setLevel(logging.WARNING)
        self.mailbox = Mailbox()
        self.port = free_port()
        controller = Controller(
            self.mailbox,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticator,
            auth_require_tls=False,
        )
        controller.start()
        self.addCleanup(controller.stop)
        self.admin = get_user_model().objects.create_superuser("admin", password="x-Secret-42")

    def configure(self, password="s3cret-Pass", **overrides):
        values = {
            "host": "127.0.0.1",
            "port": self.port,
            "security": "none",
            "username": "mailer",
            "password": password,
            "from_address": "ssm@example.com",
            **overrides,
        }
        return services.save_mail_server(**values, user=self.admin)

    def test_notifications_go_through_the_server_as_its_user(self):
        server = self.configure()
        self.assertNotIn("s3cret", server.password_encrypted)
        send_mail("Account approved", "Body", settings.DEFAULT_FROM_EMAIL, ["ops@example.com"])
        [(sender, recipients, content, user)] = self.mailbox.messages
        self.assertEqual(
            (sender, recipients, user), ("ssm@example.com", ["ops@example.com"], "mailer")
        )
        self.assertIn(b"Subject: Account approved", content)
        event = Event.objects.get(action="mail_server_changed")
        self.assertIn(f"127.0.0.1:{self.port}", event.message)

    def test_password_kept_on_save_and_dropped_with_the_user_name(self):
        self.configure()
        stored = MailServer.objects.get().password_encrypted
        self.configure(password="")
        self.assertEqual(MailServer.objects.get().password_encrypted, stored)
        services.send_test_email("ops@example.com")
        self.assertEqual(self.mailbox.messages[-1][3], "mailer")
        self.configure(username="")
        self.assertEqual(MailServer.objects.get().password_encrypted, "")

    def test_test_email_and_what_a_failure_says(self):
        self.configure()
        services.send_test_email("ops@example.com", user=self.admin)
        self.assertEqual(len(self.mailbox.messages), 1)
        self.assertTrue(Event.objects.filter(action="test_email_sent").exists())

        self.configure(password="wrong")
        with self.assertRaisesMessage(ValidationError, "Check the SMTP server, port"):
            services.send_test_email("ops@example.com", user=self.admin)
        self.configure(port=free_port())  # nothing listens there
        with self.assertRaisesMessage(ValidationError, "could not be sent through 127.0.0.1"):
            services.send_test_email("ops@example.com")
        self.assertEqual(len(self.mailbox.messages), 1)
        self.assertEqual(Event.objects.filter(action="test_email_failed").count(), 2)

    def test_without_a_server_mail_is_written_to_the_log(self):
        out = io.StringIO()
        with redirect_stdout(out):
            send_mail("Account approved", "Body", settings.DEFAULT_FROM_EMAIL, ["ops@example.com"])
        self.assertIn("Subject: Account approved", out.getvalue())
        self.assertEqual(self.mailbox.messages, [])
        with self.assertRaisesMessage(ValidationError, "No SMTP server is set"):
            services.send_test_email("ops@example.com")

    def test_settings_page(self):
        self.client.force_login(self.admin)
        url = reverse("settings")
        form = {"host": "127.0.0.1", "port": self.port, "security": "none",
                "username": "mailer", "password": "s3cret-Pass", "from_address": ""}  # fmt: skip
        self.assertRedirects(self.client.post(url, form), url)
        response = self.client.get(url)
        self.assertContains(response, "A password is stored.")
        self.assertNotContains(response, "s3cret")
        self.assertRedirects(self.client.post(url, {"to": "ops@example.com"}), url)
        self.assertEqual(len(self.mailbox.messages), 1)
        # bad input: a 400 that says what is wrong, nothing written
        response = self.client.post(url, {**form, "port": 70000, "host": "other.example.com"})
        self.assertContains(response, "less than or equal to 65535", status_code=400)
        self.assertEqual(MailServer.objects.get().host, "127.0.0.1")
        response = self.client.post(url, {"to": "not-an-address"})
        self.assertContains(response, "Enter a valid email address", status_code=400)
        self.assertEqual(len(self.mailbox.messages), 1)
