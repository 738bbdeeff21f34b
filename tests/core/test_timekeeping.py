"""Settings → Time against a real chronyd (never touching the machine's clock): the NTP
servers chosen become chrony's sources and the clock synchronizes to them, the page shows
the status and offset; the workspace shows times in the chosen time zone."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.test import TestCase, override_settings

from core import timekeeping
from core.choices import EventCategory
from core.models import Event, TimeSetting
from core.services import record_event
from tests.support.chrony import Chronyd
from tests.support.personas import make_user
from tests.support.polling import wait_for


class TimeSettingTests(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ntp = Chronyd(serve=True).start()
        cls.client_chrony = Chronyd().start()

    @classmethod
    def tearDownClass(cls):
        cls.ntp.cleanup()
        cls.client_chrony.cleanup()
        super().tearDownClass()

    def setUp(self):
        self.admin = make_user("time-admin", "system_admin")
        self.chrony = override_settings(
            CHRONY_SOURCES_DIR=self.client_chrony.sources,
            CHRONY_SOCKET=str(self.client_chrony.socket),
        )
        self.chrony.enable()
        self.addCleanup(self.chrony.disable)
        timekeeping._zone_cache[0] = 0.0

    def test_the_ntp_servers_become_chronys_sources_and_the_clock_synchronizes(self):
        with self.captureOnCommitCallbacks(execute=True):
            timekeeping.save_time_setting(
                time_zone="UTC", ntp_servers=f"127.0.0.1:{self.ntp.port}", by_user=self.admin
            )
        sources = (self.client_chrony.sources / timekeeping.SOURCES_FILE).read_text()
        self.assertIn(f"server 127.0.0.1 port {self.ntp.port} iburst", sources)
        status = wait_for(
            lambda: (s := timekeeping.clock_status()).synchronized and s, 20, "synchronized"
        )
        self.assertEqual(status.reference, "127.0.0.1")
        self.assertLess(abs(status.offset), 0.5)
        self.assertEqual(status.sources[0]["state"], "selected")
        self.assertEqual(timekeeping.applied_generation(), TimeSetting.objects.get().generation)
        self.client.force_login(self.admin)
        page = self.client.get("/admin/settings/time/")
        self.assertContains(page, "Synchronized")
        self.assertContains(page, "to 127.0.0.1 (stratum 9)")
        # other servers replace them; an unreachable one shows so
        with self.captureOnCommitCallbacks(execute=True):
            timekeeping.save_time_setting(
                time_zone="UTC", ntp_servers="192.0.2.123", by_user=self.admin
            )
        wait_for(
            lambda: [s["name"] for s in timekeeping.clock_status().sources] == ["192.0.2.123"],
            10,
            "chronyd to follow the new source",
        )
        self.assertIn("time_settings_changed", Event.objects.values_list("action", flat=True))

    def test_times_are_shown_in_the_chosen_time_zone(self):
        event = record_event(EventCategory.SYSTEM, "zone_probe", "a fixed moment")
        Event.objects.filter(pk=event.pk).update(
            created=dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)
        )
        self.client.force_login(self.admin)
        url = "/admin/accounts/event-log/?search=zone_probe"
        self.assertContains(self.client.get(url), "2026-Jul-01 12:00:00")
        timekeeping.save_time_setting(time_zone="Asia/Tokyo", ntp_servers="", by_user=self.admin)
        page = self.client.get(url)
        self.assertContains(page, "2026-Jul-01 21:00:00")
        self.assertNotContains(page, "2026-Jul-01 12:00:00")

    def test_bad_settings_are_refused_and_change_nothing(self):
        for arguments, field in (
            ({"time_zone": "Mars/Olympus", "ntp_servers": ""}, "time_zone"),
            ({"time_zone": "UTC", "ntp_servers": "ntp one.example.com"}, "ntp_servers"),
            ({"time_zone": "UTC", "ntp_servers": "ntp.example.com:99999"}, "ntp_servers"),
            ({"time_zone": "UTC", "ntp_servers": "\n".join(f"n{i}" for i in range(9))},
             "ntp_servers"),
        ):  # fmt: skip
            with self.subTest(arguments), self.assertRaises(ValidationError) as refused:
                timekeeping.save_time_setting(**arguments, by_user=self.admin)
            self.assertIn(field, refused.exception.message_dict)
        self.assertFalse(TimeSetting.objects.exists())
        self.assertFalse((self.client_chrony.sources / timekeeping.SOURCES_FILE).exists())

    def test_chronyd_down_and_chrony_not_managed(self):
        with override_settings(CHRONY_SOCKET=str(self.client_chrony.folder / "none.sock")):
            status = timekeeping.clock_status()
            self.assertFalse(status.answered)
            self.assertIn("chronyd does not answer", status.error)
            self.client.force_login(self.admin)
            self.assertContains(self.client.get("/admin/settings/time/"), "Unknown")
        with override_settings(CHRONY_SOURCES_DIR=self.client_chrony.folder / "missing"):
            self.assertIn("chrony is not managed here", timekeeping.apply_ntp_servers())
