"""The High Availability widget in a real browser: live updates while the cluster changes."""

from django.contrib.auth import get_user_model

from highavailability import services
from tests.highavailability.support import (
    SECONDARY,
    crm_mon_xml,
    database,
    enable_ha,
    observation,
)
from tests.support.browser import BrowserTestCase


class HighAvailabilityBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        get_user_model().objects.create_superuser("admin", password="Browser-Pass-42")
        enable_ha()

    def live(self, testid: str):
        return self.page.locator(f"[data-testid={testid}]")

    def test_widget_follows_a_failover_and_a_teardown_without_reload(self):
        self.login("admin", "Browser-Pass-42")
        self.page.click("[data-testid=widget-high-availability]")
        self.live("ha-status").wait_for()
        self.assertEqual(self.live("ha-status").inner_text(), "Normal")
        self.assertEqual(
            self.live("ha-status-sentence").inner_text(),
            "The status of the high availability cluster is normal.",
        )
        self.assertEqual(self.live("ha-heartbeat").inner_text(), "Connection status: Connected")
        self.assertEqual(self.live("ha-vip").inner_text(), "169.254.100.10")
        self.assertEqual(
            self.live("active-server-name").inner_text(), "primary-node (169.254.101.11)"
        )
        self.assertEqual(self.live("standby-server-role").inner_text(), "Standby")
        self.assertEqual(self.live("standby-server-memory").inner_text(), "--")
        self.screenshot("ha-normal")
        self.page.evaluate("window.sameDocument = true")

        services.apply_observation(
            observation(
                crm_mon_xml(online=(SECONDARY,), promoted=SECONDARY, unpromoted=None),
                db=database(sync=False, standbys=()),
                local=SECONDARY,
            )
        )
        # the live part polls every 2 s: the failover shows within a few seconds
        self.page.locator("[data-testid=ha-status]", has_text="Degraded").wait_for(timeout=10000)
        self.assertEqual(
            self.live("ha-status-sentence").inner_text(),
            "The cluster is degraded One of the cluster nodes is offline",
        )
        self.assertEqual(self.live("ha-heartbeat").inner_text(), "Connection status: Disconnected")
        self.assertEqual(
            self.live("active-server-name").inner_text(), "secondary-node (169.254.101.12)"
        )
        self.assertEqual(self.live("active-server-role").inner_text(), "Active")
        self.assertEqual(self.live("standby-server-role").inner_text(), "Degraded")
        self.assertEqual(self.live("standby-server-online").inner_text(), "Offline")
        self.assertTrue(self.page.evaluate("window.sameDocument === true"))
        self.screenshot("ha-failover")

        self.page.get_by_role("link", name="Event Logs").click()
        self.page.get_by_text("Failover: secondary-node is now the active node").wait_for()
        self.page.get_by_role("link", name="Host").click()
        self.live("ha-status").wait_for()
        self.page.evaluate("window.sameDocument = true")

        services.apply_observation(services.Observation(ha_enabled=False))
        self.live("ha-not-enabled").wait_for(timeout=10000)
        self.assertEqual(self.live("ha-not-enabled").inner_text(), "HA is not enabled.")
        self.assertEqual(self.live("ha-status").count(), 0)
        self.assertTrue(self.page.evaluate("window.sameDocument === true"))
        self.page.get_by_role("link", name="Admin Workspace").first.click()
        self.page.get_by_role("heading", name="Admin Workspace").wait_for()
        self.assertEqual(self.page.locator("[data-testid=widget-high-availability]").count(), 0)
