"""Settings → Syslog against a real rsyslogd on loopback: RFC 5424 messages over UDP, TCP and
TLS as the receiver parses them, the severity threshold, a receiver that is down (events wait
in the event log, nothing is lost, the request path never waits) and the test message."""

from django.core.exceptions import ValidationError
from django.test import TransactionTestCase, override_settings

from core import syslog
from core.choices import EventCategory, EventResult, SyslogSeverity, SyslogTransport
from core.models import Event, SyslogServer
from core.services import record_event
from tests.security.pki import TestCA, pem
from tests.support.personas import make_user
from tests.support.polling import wait_for
from tests.support.ports import free_port
from tests.support.rsyslog import Rsyslog


@override_settings(SYSLOG_SETTLE=0)
class SyslogForwardingTests(TransactionTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plain = Rsyslog().start()
        cls.tls = Rsyslog(tls=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.plain.cleanup()
        cls.tls.cleanup()
        super().tearDownClass()

    def setUp(self):
        self.admin = make_user("syslog-admin", "system_admin")

    def add(self, transport, port, **extra) -> SyslogServer:
        values = {"facility": 20, "severity": SyslogSeverity.INFORMATIONAL} | extra
        return syslog.add_syslog_server(
            host="127.0.0.1", port=port, transport=transport, by_user=self.admin, **values
        )

    def received(self, receiver: Rsyslog, msgid: str, count: int = 1) -> list[list[str]]:
        def seen():
            lines = [line for line in receiver.lines() if line[6] == msgid]
            return lines if len(lines) >= count else None

        return wait_for(seen, 10, f"{count} '{msgid}' message(s) at rsyslogd")

    def test_events_reach_rsyslog_over_udp_tcp_and_tls_as_rfc_5424(self):
        self.add(SyslogTransport.UDP, self.plain.udp_port)
        self.add(SyslogTransport.TCP, self.plain.tcp_port, facility=4)
        self.add(SyslogTransport.TLS, self.tls.tls_port, ca_certificate=self.tls.ca_pem)
        self.assertEqual(syslog.forward_events(), 3 + 2 + 1)  # each "server added" after its own
        self.received(self.tls, "syslog_server_added")
        event = record_event(
            EventCategory.ACCOUNT, "account_edited", 'Account "A" edited: ] \\ and ünïcode',
            user=self.admin,
        )  # fmt: skip
        record_event(
            EventCategory.SECURITY, "login_failed", "Failed log-in for bob",
            result=EventResult.FAILURE,
        )  # fmt: skip
        self.assertEqual(syslog.forward_events(), 6)
        udp_and_tcp = self.received(self.plain, "account_edited", 2)
        facilities = sorted(line[1] for line in udp_and_tcp)
        self.assertEqual(facilities, ["auth", "local4"])
        for _pri, _facility, level, host, app, _pid, _msgid, data, text in udp_and_tcp:
            self.assertEqual(level, "notice")
            self.assertEqual(app, "ssm-onprem")
            self.assertNotEqual(host, "-")
            self.assertIn(f'id="{event.pk}"', data)
            self.assertIn('category="account" result="success" user="syslog-admin"', data)
            self.assertEqual(text.lstrip("\ufeff"), 'Account "A" edited: ] \\ and ünïcode')
        over_tls = self.received(self.tls, "login_failed")
        self.assertEqual(over_tls[0][2], "err")
        self.assertEqual(over_tls[0][1], "local4")
        # each server's cursor moved: nothing is sent twice
        self.assertEqual(syslog.forward_events(), 0)

    def test_severity_threshold(self):
        self.add(SyslogTransport.TCP, self.plain.tcp_port, severity=SyslogSeverity.WARNING)
        self.assertEqual(syslog.forward_events(), 0)  # "server added" is a Notice
        record_event(EventCategory.SYSTEM, "quiet_success", "fine")
        record_event(
            EventCategory.LICENSING, "over_use", "beyond purchased",
            result=EventResult.NONCOMPLIANT,
        )  # fmt: skip
        self.assertEqual(syslog.forward_events(), 1)
        self.assertEqual(self.received(self.plain, "over_use")[0][2], "warning")
        self.assertFalse([line for line in self.plain.lines() if line[6] == "quiet_success"])

    def test_a_receiver_down_keeps_the_events_until_it_is_back(self):
        receiver = Rsyslog()
        self.addCleanup(receiver.cleanup)
        server = self.add(SyslogTransport.TCP, receiver.tcp_port)
        for n in range(3):
            record_event(EventCategory.SYSTEM, "while_down", f"event {n}")
        self.assertEqual(syslog.forward_events(), 0)
        server.refresh_from_db()
        self.assertIn("refused the connection", server.last_error)
        self.assertEqual(Event.objects.filter(action="while_down").count(), 3)
        receiver.start()
        self.assertEqual(syslog.forward_events(), 1 + 3)  # "server added" and the three
        texts = [line[8].lstrip("\ufeff") for line in self.received(receiver, "while_down", 3)]
        self.assertEqual(texts, ["event 0", "event 1", "event 2"])
        server.refresh_from_db()
        self.assertEqual(server.last_error, "")

    def test_a_new_server_starts_with_the_events_after_it_was_added(self):
        record_event(EventCategory.SYSTEM, "before_added", "history")
        self.add(SyslogTransport.TCP, self.plain.tcp_port)
        record_event(EventCategory.SYSTEM, "after_added", "news")
        syslog.forward_events()
        self.received(self.plain, "after_added")
        self.assertFalse([line for line in self.plain.lines() if line[6] == "before_added"])

    def test_test_message_and_its_failures(self):
        tls = self.add(SyslogTransport.TLS, self.tls.tls_port, ca_certificate=self.tls.ca_pem)
        syslog.send_test_message(tls, by_user=self.admin)
        self.assertIn(
            "Test message from the license server", self.received(self.tls, "syslog_test")[0][8]
        )
        other_ca = SyslogServer(
            host="localhost", port=self.tls.tls_port, transport=SyslogTransport.TLS,
            ca_certificate=pem(TestCA("Other").root),
        )  # fmt: skip
        with self.assertRaisesMessage(ValidationError, "could not be verified"):
            syslog.send_test_message(other_ca, by_user=self.admin)
        down = SyslogServer(host="127.0.0.1", port=free_port(), transport=SyslogTransport.TCP)
        with self.assertRaisesMessage(ValidationError, "refused the connection"):
            syslog.send_test_message(down, by_user=self.admin)
        self.assertEqual(Event.objects.filter(action="syslog_test", result="failure").count(), 2)

    def test_bad_servers_are_refused(self):
        self.add(SyslogTransport.UDP, 514)
        for arguments, field in (
            ({"host": "udp://log.example.com"}, "host"),
            ({"host": "127.0.0.1", "port": 514}, "host"),  # the same server again
            ({"host": "log", "port": 70000}, "port"),
            ({"host": "log", "ca_certificate": "not pem", "transport": "tls"}, "ca_certificate"),
        ):
            values = {"port": 6514, "transport": SyslogTransport.UDP} | arguments
            with self.subTest(arguments), self.assertRaises(ValidationError) as refused:
                syslog.add_syslog_server(facility=16, severity=6, by_user=self.admin, **values)
            self.assertIn(field, refused.exception.message_dict)
        self.assertEqual(SyslogServer.objects.count(), 1)


class SyslogPageTests(TransactionTestCase):
    url = "/admin/settings/syslog/"

    def test_add_test_and_remove_with_a_confirmation(self):
        receiver = Rsyslog()
        self.addCleanup(receiver.cleanup)
        receiver.start()
        admin = make_user("page-admin", "system_admin")
        self.client.force_login(admin)
        self.assertContains(self.client.get(self.url), "No syslog server")
        bad = {"host": "udp://x", "port": "514", "transport": "udp", "facility": "16",
               "severity": "6"}  # fmt: skip
        response = self.client.post(self.url, bad)
        self.assertContains(response, "Give only the host name", status_code=400)
        good = bad | {"host": "127.0.0.1", "port": str(receiver.tcp_port), "transport": "tcp"}
        response = self.client.post(self.url, good, follow=True)
        self.assertContains(response, "are forwarded to 127.0.0.1")
        server = SyslogServer.objects.get()
        response = self.client.post(f"{self.url}{server.pk}/test/", follow=True)
        self.assertContains(response, "Test message sent to")
        wait_for(lambda: any(line[6] == "syslog_test" for line in receiver.lines()), 10)
        receiver.stop()
        response = self.client.post(f"{self.url}{server.pk}/test/", follow=True)
        self.assertContains(response, "refused the connection")
        self.assertContains(self.client.get(f"{self.url}{server.pk}/remove/"), "Remove the syslog")
        self.assertTrue(SyslogServer.objects.exists())  # the GET only asks
        response = self.client.post(f"{self.url}{server.pk}/remove/", follow=True)
        self.assertContains(response, "no longer forwarded")
        self.assertFalse(SyslogServer.objects.exists())
