"""The High Availability widget in a real browser: live updates while the cluster changes."""

from django.contrib.auth import get_user_model

from highavailability import services
from tests.highavailability.support import (
    PRIMARY,
    SECONDARY,
    crm_mon_xml,
    database,
    enable_ha,
    observation,
    quorumtool,
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
            self.live("ha-quorum").inner_text(),
            "Quorum: yes · votes 3 of 3 expected, 2 needed · quorum device: voting",
        )
        self.assertEqual(
            self.live("ha-replication").inner_text(),
            "Replication mode: synchronous · lag 0.016 s",
        )
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
                quorum=quorumtool(members=(SECONDARY,)),
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
        self.assertEqual(self.live("ha-votes").inner_text(), "votes 2 of 3 expected, 2 needed")
        self.assertEqual(self.live("ha-replication-mode").inner_text(), "asynchronous")
        self.assertTrue(self.page.evaluate("window.sameDocument === true"))
        self.screenshot("ha-failover")

        self.page.get_by_role("link", name="Event Logs").click()
        self.page.get_by_text("Failover: secondary-node is now the active node").wait_for()
        self.page.evaluate("window.sameDocument = true")
        records = self.live("paging").inner_text()
        rejoin = "Node primary-node rejoined the cluster as the standby"
        self.assertEqual(self.page.get_by_text(rejoin).count(), 0)

        # the primary rejoins while the operator watches the Event Logs tab
        services.apply_observation(
            observation(
                crm_mon_xml(promoted=SECONDARY, unpromoted=PRIMARY),
                db=database(standbys=((PRIMARY, "169.254.100.11"),)),
                local=SECONDARY,
            )
        )
        self.page.get_by_text(rejoin).wait_for(timeout=10000)
        newest = self.page.locator("[data-testid=ha-events] tbody tr")
        self.assertEqual(
            [newest.nth(i).locator("td").nth(2).inner_text() for i in (0, 1)],
            ["Standby promotable: the cluster can fail over to it at once",
             "Replication is now synchronous: every commit waits for the standby again"],
        )  # fmt: skip
        self.assertNotEqual(self.live("paging").inner_text(), records)
        self.assertTrue(self.page.evaluate("window.sameDocument === true"))
        self.screenshot("ha-event-log-live")

        self.page.get_by_role("link", name="Host").click()
        self.live("ha-status").wait_for()
        self.assertEqual(self.live("ha-status").inner_text(), "Normal")
        self.assertEqual(self.live("ha-votes").inner_text(), "votes 3 of 3 expected, 2 needed")
        self.assertEqual(self.live("ha-quorum-device").inner_text(), "voting")
        self.assertEqual(self.live("ha-replication-mode").inner_text(), "synchronous")
        self.page.evaluate("window.sameDocument = true")

        services.apply_observation(services.Observation(ha_enabled=False))
        self.live("ha-not-enabled").wait_for(timeout=10000)
        self.assertEqual(self.live("ha-not-enabled").inner_text(), "HA is not enabled.")
        self.assertEqual(self.live("ha-status").count(), 0)
        self.assertTrue(self.page.evaluate("window.sameDocument === true"))
        self.page.get_by_role("link", name="Admin Workspace").first.click()
        self.page.get_by_role("heading", name="Admin Workspace").wait_for()
        self.assertEqual(self.page.locator("[data-testid=widget-high-availability]").count(), 0)

    def test_widget_says_when_the_active_server_does_not_answer(self):
        self.login("admin", "Browser-Pass-42")
        self.page.goto(self.url("/admin/high-availability/"))
        self.live("ha-status").wait_for()
        self.assertFalse(self.live("ha-unreachable").is_visible())
        self.page.evaluate("window.sameDocument = true")
        # nobody holds the VIP: the widget's live requests get no answer at all
        self.page.route("**/admin/high-availability/", lambda route: route.abort())
        self.live("ha-unreachable").wait_for(state="visible", timeout=10000)
        self.assertIn("The active server does not answer", self.live("ha-unreachable").inner_text())
        links = self.live("ha-node-link")
        self.assertEqual(
            [links.nth(i).get_attribute("href").split(":")[1] for i in range(links.count())],
            ["//169.254.100.11", "//169.254.100.12"],
        )
        self.screenshot("ha-unreachable")
        # an active server answers again: the notice goes, the page was never reloaded
        self.page.unroute("**/admin/high-availability/")
        self.live("ha-unreachable").wait_for(state="hidden", timeout=10000)
        self.assertTrue(self.page.evaluate("window.sameDocument === true"))
