"""The Security event log records log-ins, log-outs and failed log-ins with their source
address, and every widget's event log downloads as CSV."""

import csv
import io

from django.test import TestCase
from django.urls import reverse

from core.choices import EventCategory
from core.models import Event
from core.services import record_event
from security import services
from tests.highavailability.support import enable_ha
from tests.support.personas import PASSWORD, build_personas


def csv_rows(response) -> list[list[str]]:
    """The rows of a (streamed) CSV download."""
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


class LogInAuditTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        build_personas(cls)

    def log_in(self, password, username="alice", address="192.0.2.44"):
        return self.client.post(
            reverse("login"), {"username": username, "password": password}, HTTP_X_REAL_IP=address
        )

    def security_events(self, action):
        return Event.objects.filter(category=EventCategory.SECURITY, action=action)

    def test_log_in_and_log_out_are_recorded_with_the_address(self):
        self.assertRedirects(
            self.log_in(PASSWORD), reverse("admin-workspace"), fetch_redirect_response=False
        )
        event = self.security_events("logged_in").get()
        self.assertEqual(event.user, self.alice)
        self.assertEqual(event.message, "User alice logged in from 192.0.2.44.")
        self.client.post(reverse("logout"), HTTP_X_REAL_IP="192.0.2.45")
        event = self.security_events("logged_out").get()
        self.assertEqual(event.message, "User alice logged out from 192.0.2.45.")

    def test_failed_log_ins_are_recorded_as_failures_without_the_password(self):
        self.log_in("wrong-password-1")
        self.log_in("x", username="nobody\u00e9")
        events = list(self.security_events("log_in_failed").order_by("id"))
        self.assertEqual(
            [e.message for e in events],
            [
                "Failed log-in for alice from 192.0.2.44.",
                "Failed log-in for nobody\u00e9 from 192.0.2.44.",
            ],
        )
        self.assertEqual({e.result for e in events}, {"failure"})
        self.assertFalse(Event.objects.filter(message__contains="wrong-password-1").exists())
        self.assertFalse(Event.objects.filter(data__icontains="wrong-password-1").exists())
        self.assertFalse(self.security_events("logged_in").exists())

    def test_attempts_while_locked_say_so(self):
        services.update_password_policy(lockout_threshold=2, lockout_minutes=0, by_user=self.admin)
        self.log_in("wrong")
        self.log_in("wrong")  # the second failure locks the name
        self.log_in(PASSWORD)  # refused: locked
        self.assertEqual(self.security_events("user_locked_out").count(), 1)
        self.assertEqual(self.security_events("log_in_failed").count(), 1)
        locked = self.security_events("log_in_locked")
        self.assertEqual(locked.count(), 2)  # the failure that locked it, the refused one
        self.assertEqual(
            locked.first().message,
            "Failed log-in for alice from 192.0.2.44: the user name is locked.",
        )
        self.assertFalse(self.security_events("logged_in").exists())

    def test_the_security_event_log_shows_them(self):
        self.log_in("wrong")
        self.client.force_login(self.admin)
        page = self.client.get(reverse("security:event-log"), {"search": "failed log-in"})
        self.assertContains(page, "Failed log-in for alice from 192.0.2.44.")


class EventLogCsvTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        build_personas(cls)
        record_event(
            EventCategory.SECURITY, "test", "=cmd|' /C calc'!A0 certificate", user=cls.admin
        )
        record_event(
            EventCategory.ACCOUNT, "test", "Account A event", account=cls.account_a, user=cls.alice
        )
        record_event(EventCategory.ACCOUNT, "test", "Account B event", account=cls.account_b)

    def test_security_event_log_as_csv_with_the_search_and_no_formulas(self):
        self.client.force_login(self.admin)
        response = self.client.get(
            reverse("security:event-log"), {"format": "csv", "search": "cmd"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("attachment", response["Content-Disposition"])
        rows = csv_rows(response)
        self.assertEqual(rows[0][:4], ["Time (UTC)", "Category", "Action", "User"])
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[1][5], "'=cmd|' /C calc'!A0 certificate")
        self.client.force_login(self.alice)
        self.assertEqual(
            self.client.get(reverse("security:event-log"), {"format": "csv"}).status_code, 403
        )

    def test_admin_event_log_csv_keeps_the_filters_and_the_reader_scope(self):
        self.client.force_login(self.alice)
        rows = csv_rows(self.client.get(reverse("accounts:event-log"), {"format": "csv"}))
        messages = [row[5] for row in rows[1:]]
        self.assertIn("Account A event", messages)
        self.assertNotIn("Account B event", messages)  # another account's events stay hidden
        self.client.force_login(self.admin)
        rows = csv_rows(
            self.client.get(reverse("accounts:event-log"), {"format": "csv", "account": "AccountB"})
        )
        self.assertEqual([row[5] for row in rows[1:]], ["Account B event"])

    def test_license_workspace_event_log_csv(self):
        self.client.force_login(self.alice)
        response = self.client.get(
            reverse("licensing:report-download", args=["event-log"]),
            {"account": self.account_a.pk},
        )
        messages = [row[5] for row in csv_rows(response)[1:]]
        self.assertIn("Account A event", messages)
        self.assertNotIn("Account B event", messages)
        self.client.force_login(self.bob)
        response = self.client.get(
            reverse("licensing:report-download", args=["event-log"]),
            {"account": self.account_a.pk},
        )
        self.assertEqual(response.status_code, 404)

    def test_ha_event_log_csv(self):
        enable_ha()
        record_event(EventCategory.HIGH_AVAILABILITY, "test", "Failover to secondary-node")
        self.client.force_login(self.operator)
        rows = csv_rows(self.client.get(reverse("highavailability:event-log"), {"format": "csv"}))
        self.assertIn("Failover to secondary-node", [row[5] for row in rows[1:]])
        self.assertNotIn("Account A event", [row[5] for row in rows[1:]])
