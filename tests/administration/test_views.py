"""The frame of both workspaces and the Support Center."""

import re
import socket
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import TestCase, override_settings
from django.urls import reverse

from administration.workspace import WIDGETS
from highavailability.models import ClusterStatus


class WorkspaceViewTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.user = get_user_model().objects.create_superuser("admin", password="x-Secret-42")

    def setUp(self):
        self.client.force_login(self.user)

    def test_pages_need_login(self):
        self.client.logout()
        pages = ("admin-workspace", "support-center", "network", "settings", "api-docs")
        for name in (*pages, "licensing:smart-licensing"):
            response = self.client.get(reverse(name))
            self.assertEqual(response.status_code, 302, name)
            self.assertTrue(response["Location"].startswith(reverse("login")))

    def test_admin_workspace_shows_the_ten_widgets(self):
        ClusterStatus.objects.create(pk=1, ha_enabled=True)  # High Availability: a cluster node
        response = self.client.get(reverse("admin-workspace"))
        names = [
            "Access Management",
            "Security",
            "Accounts",
            "Settings",
            "API Toolkit",
            "Support Center",
            "High Availability",
            "Synchronization",
            "Network",
            "Users",
        ]
        self.assertEqual([w.name for w in WIDGETS], names)
        for name in names:
            self.assertContains(response, name)

    def test_every_widget_opens_its_page(self):
        for w in WIDGETS:
            if w.slug != "high-availability":  # shown on cluster nodes (tests/highavailability)
                self.assertEqual(self.client.get(reverse(w.url_name)).status_code, 200, w.name)

    def test_support_center_shows_real_figures(self):
        cache.delete("support-center:net-sample")  # a first look at the page
        response = self.client.get(reverse("support-center"))
        self.assertContains(response, socket.gethostname())
        health = response.context["health"]
        self.assertGreater(health["memory_total"], 0)
        self.assertGreater(health["disk_total"], 0)
        self.assertTrue(0 <= health["cpu_percent"] <= 100)
        self.assertIn("lo", [nic["name"] for nic in health["interfaces"]])
        # the first look already has rates (no "--" until the page refreshes)
        self.assertTrue(all(nic["rx_rate"] is not None for nic in health["interfaces"]))

    def test_support_center_live_part_measures_rates(self):
        self.client.get(reverse("support-center"))
        response = self.client.get(reverse("support-center"), headers={"HX-Request": "true"})
        self.assertTemplateUsed(response, "administration/_system_health.html")
        self.assertTemplateNotUsed(response, "base.html")
        lo = next(n for n in response.context["health"]["interfaces"] if n["name"] == "lo")
        self.assertIsNotNone(lo["rx_rate"])

    def test_connected_users_counts_live_sessions(self):
        response = self.client.get(reverse("support-center"))
        self.assertEqual(response.context["health"]["connected_users"], 1)

    def test_smart_licensing_frame_has_the_tabs(self):
        response = self.client.get(reverse("licensing:smart-licensing"))
        for label in (
            "Alerts",
            "Inventory",
            "Convert to Smart Licensing",
            "Reports",
            "Preferences",
            "Activity",
        ):
            self.assertContains(response, label)

    def test_api_reference_is_served_from_this_server(self):
        page = self.client.get(reverse("api-docs")).content.decode()
        assets = re.findall(r'(?:src|href)="([^"]+)"', page)
        self.assertIn(
            "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js", assets
        )
        self.assertEqual([a for a in assets if "//" in a], [], "nothing loaded from elsewhere")
        self.assertNotIn("<style", page)
        script = next(a for a in assets if "script=" in a)
        self.assertContains(self.client.get(script), reverse("api-schema"))


class SupportCenterLogsTests(TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = Path(tmp.name)
        (self.dir / "web.log").write_text("GET /admin/ 200\n")
        (self.dir / "worker.log").write_text("celery ready\n")
        (self.dir / "old").mkdir()
        (self.dir / "outside.log").symlink_to(settings.BASE_DIR / "manage.py")
        override = override_settings(LOG_DIR=self.dir)
        override.enable()
        self.addCleanup(override.disable)
        admin = get_user_model().objects.create_superuser("admin", password="x-Secret-42")
        self.client.force_login(admin)

    def test_lists_and_downloads_the_log_files(self):
        response = self.client.get(reverse("support-center-logs"))
        self.assertEqual([r["name"] for r in response.context["logs"]], ["web.log", "worker.log"])
        download = self.client.get(reverse("support-center-log-download", args=["web.log"]))
        self.assertEqual(b"".join(download.streaming_content), b"GET /admin/ 200\n")
        self.assertIn('attachment; filename="web.log"', download["Content-Disposition"])

    def test_only_the_listed_files(self):
        # a journal is offered only where systemd runs the server's units (the hosts tier
        # downloads one); here, and for any other unit, there is none
        for name in ("outside.log", "old", "..", "missing.log", "ssm-appserver.journal",
                     "sshd.journal"):  # fmt: skip
            url = reverse("support-center-log-download", args=[name])
            self.assertEqual(self.client.get(url).status_code, 404, name)
        traversal = "/admin/support-center/logs/..%2Fmanage.py"
        self.assertEqual(self.client.get(traversal).status_code, 404)
