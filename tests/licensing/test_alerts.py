"""Alerts of the License Workspace: each kind, dismissal, Preferences, and the e-mails they
send through a real SMTP server (aiosmtpd on loopback) at once and as a daily digest."""

import datetime as dt
import logging

from aiosmtpd.controller import Controller
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import TestCase, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.choices import AccountRole
from accounts.models import LocalAccount, VirtualAccount
from core import services as core_services
from licensing import services
from licensing.models import AlertPreferences, ProductInstance
from tests.support.personas import grant, make_account, make_user
from tests.support.ports import free_port
from tests.support.smtp import Mailbox

from .support import PI_BASE, gateway_client, purchase, registered


def kinds(account, **kwargs) -> list[str]:
    return sorted(a.kind.value for a in services.account_alerts(account, **kwargs))


class AlertKindsTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.account = make_account("TEST")
        cls.va = cls.account.default_virtual_account
        cls.admin = make_user("ann")
        grant(cls.admin, cls.account, AccountRole.ACCOUNT_ADMIN)
        cls.user = make_user("alice")
        grant(cls.user, cls.account, AccountRole.ACCOUNT_USER)

    def setUp(self):
        LocalAccount.objects.filter(pk=self.account.pk).update(
            last_synchronized=timezone.now(), last_sync_ok=True
        )
        self.account.refresh_from_db()

    def test_each_kind_appears_when_its_condition_holds(self):
        self.assertEqual(kinds(self.account), [])
        purchase(self.va, PI_BASE, 1)
        client = gateway_client()
        device = registered(self.va, "pi37", client)
        client.authorize(device, [(PI_BASE, 2)])
        services.create_token(self.va, description="soon", expires_after_days=3)
        services.create_token(self.va, description="later", expires_after_days=30)
        self.assertEqual(kinds(self.account), ["insufficient_licenses", "token_expiring"])
        later = timezone.now() + dt.timedelta(days=31)
        # a month on: the product has not reported, the sync is overdue
        found = kinds(self.account, now=later)
        self.assertIn("not_reporting", found)
        self.assertIn("sync_overdue", found)
        ProductInstance.objects.update(certificate_expires=timezone.now() + dt.timedelta(days=2))
        self.assertIn("certificate_expiring", kinds(self.account))
        LocalAccount.objects.filter(pk=self.account.pk).update(
            last_sync_ok=False, last_sync_attempt=timezone.now(), sync_alert="CSC unreachable"
        )
        self.account.refresh_from_db()
        failed = [a for a in services.account_alerts(self.account) if a.kind == "sync_failed"]
        self.assertIn("CSC unreachable", failed[0].message)

    def test_dismissed_until_worse_and_only_by_a_user_of_the_account(self):
        purchase(self.va, PI_BASE, 1)
        client = gateway_client()
        device = registered(self.va, "pi37", client)
        client.authorize(device, [(PI_BASE, 2)])
        [alert] = services.account_alerts(self.account)
        viewer = make_user("victor")
        grant(viewer, self.account, AccountRole.ACCOUNT_VIEWER)
        with self.assertRaises(PermissionDenied):
            services.dismiss_alert(self.account, alert.key, user=viewer)
        with self.assertRaisesMessage(services.LicensingError, "no longer open"):
            services.dismiss_alert(self.account, "insufficient:0:x:-1", user=self.user)
        services.dismiss_alert(self.account, alert.key, user=self.user)
        self.assertEqual(kinds(self.account), [])
        client.authorize(device, [(PI_BASE, 3)])  # worse: back again
        self.assertEqual(kinds(self.account), ["insufficient_licenses"])

    def test_alerts_tab_lists_every_virtual_account_and_dismisses(self):
        branch = VirtualAccount.objects.create(account=self.account, name="Branch")
        purchase(branch, PI_BASE, 0)
        client = gateway_client()
        device = registered(branch, "pi37", client)
        client.authorize(device, [(PI_BASE, 1)])
        self.client.force_login(self.user)
        query = f"?account={self.account.pk}&va={self.va.pk}"
        url = reverse("licensing:smart-licensing-tab", args=["alerts"]) + query
        page = self.client.get(url)
        self.assertContains(page, 'data-kind="insufficient_licenses"', count=1)
        self.assertContains(page, "<td>Branch</td>")
        [alert] = services.account_alerts(self.account)
        answer = self.client.post(
            reverse("licensing:alert-dismiss") + query, {"key": alert.key}, follow=True
        )
        self.assertContains(answer, "Alert dismissed.")
        self.assertContains(answer, "No Alerts")

    def test_preferences_saved_by_an_account_administrator_only(self):
        with self.assertRaises(PermissionDenied):
            services.save_alert_preferences(self.account, by_user=self.user, recipients="a@b.c")
        with self.assertRaises(ValidationError) as refused:
            services.save_alert_preferences(
                self.account, by_user=self.admin, recipients="ops@example.com, not-an-address"
            )
        self.assertIn("not-an-address is not an e-mail address", str(refused.exception))
        self.assertFalse(AlertPreferences.objects.exists())
        self.client.force_login(self.admin)
        query = f"?account={self.account.pk}&va={self.va.pk}"
        values = {
            "recipients": "ops@example.com; noc@example.com",
            "insufficient_licenses": "on",
            "not_reporting": "on",
            "not_reporting_days": "14",
            "expiring_days": "10",
            "sync_overdue_days": "400",
            "daily_digest": "on",
        }
        bad = self.client.post(reverse("licensing:preferences-save") + query, values)
        self.assertEqual(bad.status_code, 400)
        self.assertContains(bad, "less than or equal to 365", status_code=400)
        self.assertFalse(AlertPreferences.objects.exists())
        values["sync_overdue_days"] = "45"
        good = self.client.post(reverse("licensing:preferences-save") + query, values, follow=True)
        self.assertContains(good, "Preferences saved.")
        prefs = AlertPreferences.objects.get(account=self.account)
        self.assertEqual(prefs.recipients, "ops@example.com, noc@example.com")
        self.assertEqual((prefs.not_reporting_days, prefs.sync_overdue_days), (14, 45))
        self.assertEqual(
            (prefs.expiring, prefs.synchronization, prefs.daily_digest), (False,) * 2 + (True,)
        )
        self.client.force_login(self.user)
        page = self.client.get(
            reverse("licensing:smart-licensing-tab", args=["preferences"]) + query
        )
        self.assertContains(page, "Only an Account Administrator changes the preferences.")
        answer = self.client.post(
            reverse("licensing:preferences-save") + query, values, follow=True
        )
        self.assertContains(answer, "Only an Account Administrator")


@override_settings(EMAIL_BACKEND="core.mail.EmailBackend")
class AlertMailTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.account = make_account("MAIL")
        cls.va = cls.account.default_virtual_account
        cls.admin = make_user("ann")
        grant(cls.admin, cls.account, AccountRole.ACCOUNT_ADMIN)
        LocalAccount.objects.filter(pk=cls.account.pk).update(
            last_synchronized=timezone.now(), last_sync_ok=True
        )

    def setUp(self):
        chatty = logging.getLogger("mail.log")  # aiosmtpd's per-command log
        self.addCleanup(chatty.setLevel, chatty.level)
        chatty.setLevel(logging.WARNING)
        self.mailbox = Mailbox()
        self.port = free_port()
        controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        controller.start()
        self.addCleanup(controller.stop)
        self.mail_server(self.port)

    def mail_server(self, port):
        core_services.save_mail_server(
            host="127.0.0.1",
            port=port,
            security="none",
            username="",
            password="",
            from_address="ssm@example.com",
        )

    def subjects(self) -> list[str]:
        return [
            next(line for line in content.decode().splitlines() if line.startswith("Subject:"))
            for _, _, content, _ in self.mailbox.messages
        ]

    def test_new_alerts_are_mailed_once_and_the_digest_daily(self):
        services.save_alert_preferences(
            self.account,
            by_user=self.admin,
            recipients="ops@example.com",
            expiring=False,
            daily_digest=True,
        )
        purchase(self.va, PI_BASE, 1)
        client = gateway_client()
        device = registered(self.va, "pi37", client)
        client.authorize(device, [(PI_BASE, 2)])
        services.create_token(self.va, description="soon", expires_after_days=2)
        now = timezone.now()
        self.assertEqual(services.notify_alerts(now=now), 2)
        self.assertEqual(
            self.subjects(),
            [
                "Subject: [SSM On-Prem] 1 new alert(s) in MAIL",
                "Subject: [SSM On-Prem] Daily digest of MAIL: 2 alert(s)",
            ],
        )
        [(sender, recipients, content, _)] = self.mailbox.messages[:1]
        self.assertEqual((sender, recipients), ("ssm@example.com", ["ops@example.com"]))
        self.assertIn("Insufficient Licenses (balance -1)", content.decode())
        self.assertNotIn("Registration token", content.decode())  # expiring: not asked for
        # nothing new, digest sent today: nothing
        self.assertEqual(services.notify_alerts(now=now + dt.timedelta(hours=1)), 0)
        client.authorize(device, [(PI_BASE, 4)])  # worse: e-mailed again
        self.assertEqual(services.notify_alerts(now=now + dt.timedelta(hours=2)), 1)
        self.assertIn("balance -3", self.mailbox.messages[-1][2].decode())
        self.assertEqual(services.notify_alerts(now=now + dt.timedelta(days=1, hours=1)), 1)
        self.assertIn("Daily digest", self.subjects()[-1])

    def test_a_mail_server_down_loses_no_alert(self):
        services.save_alert_preferences(
            self.account, by_user=self.admin, recipients="o@example.com"
        )
        purchase(self.va, PI_BASE, 0)
        client = gateway_client()
        client.authorize(registered(self.va, "pi37", client), [(PI_BASE, 1)])
        self.mail_server(free_port())  # nothing listens there
        self.assertEqual(services.notify_alerts(), 0)
        self.assertEqual(self.mailbox.messages, [])
        self.mail_server(self.port)
        self.assertEqual(services.notify_alerts(), 1)
        self.assertIn("Insufficient Licenses", self.mailbox.messages[0][2].decode())
