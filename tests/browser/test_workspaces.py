"""Login and both workspaces in a real headless Chromium."""

import tempfile
from pathlib import Path

from aiosmtpd.controller import Controller
from django.contrib.auth import get_user_model
from django.test import override_settings

from tests.support.browser import BrowserTestCase
from tests.support.ports import free_port
from tests.support.smtp import Mailbox


class WorkspaceBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        get_user_model().objects.create_superuser("admin", password="Browser-Pass-42")
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.logs = Path(tmp.name)
        (self.logs / "web.log").write_text("GET /admin/ 200\n")

    def test_wrong_password_is_refused(self):
        self.login("admin", "wrong")
        self.page.get_by_text("didn't match").wait_for()
        self.assertIn("/login/", self.page.url)

    def test_login_and_both_workspaces(self):
        self.login("admin", "Browser-Pass-42")
        self.page.get_by_role("heading", name="Admin Workspace").wait_for()
        # a stand-alone server: every widget but High Availability
        self.assertEqual(self.page.locator("[data-testid^=widget-]").count(), 9)
        self.screenshot("admin-workspace")

        self.page.click("[data-testid=widget-support-center]")
        self.page.locator("[data-testid=server-name]").wait_for()
        self.assertIn("%", self.page.locator("[data-testid=cpu]").inner_text())
        self.screenshot("support-center")
        with override_settings(LOG_DIR=self.logs):
            self.page.click("[data-testid=tab-logs]")
            with self.page.expect_download() as download:
                self.page.click("[data-testid='download-web.log']")
            self.assertEqual(Path(download.value.path()).read_text(), "GET /admin/ 200\n")

        self.page.goto(self.url("/admin/"))
        self.page.click("[data-testid=widget-network]")
        loopback = self.page.locator("[data-testid=interfaces] tr[data-interface=lo]")
        self.assertIn("127.0.0.1/8", loopback.inner_text())
        self.assertGreater(self.page.locator("[data-testid=routes] tbody tr").count(), 0)
        self.screenshot("network")

        self.page.get_by_role("link", name="On-Prem License Workspace").click()
        self.page.get_by_role("heading", name="Smart Licensing").wait_for()
        for tab in ("Alerts", "Inventory", "Reports", "Activity"):
            self.assertTrue(self.page.get_by_role("link", name=tab, exact=True).is_visible())
        self.screenshot("smart-licensing")

        self.page.get_by_role("button", name="Log Out").click()
        self.page.wait_for_url("**/login/")

    def test_settings_email_sends_a_test_email(self):
        mailbox = Mailbox()
        port = free_port()
        controller = Controller(mailbox, hostname="127.0.0.1", port=port)
        controller.start()
        self.addCleanup(controller.stop)
        self.login("admin", "Browser-Pass-42")
        self.page.click("[data-testid=widget-settings]")
        self.page.fill("#id_host", "127.0.0.1")
        self.page.fill("#id_port", str(port))
        self.page.fill("#id_from_address", "ssm@example.com")
        self.page.get_by_role("button", name="Save").click()
        self.page.get_by_text("Email settings saved.").wait_for()
        self.page.fill("#id_to", "ops@example.com")
        self.page.get_by_role("button", name="Send Test E-mail").click()
        self.page.get_by_text("Test e-mail sent to ops@example.com.").wait_for()
        [(sender, recipients, _, _)] = mailbox.messages
        self.assertEqual((sender, recipients), ("ssm@example.com", ["ops@example.com"]))
        self.screenshot("settings-email")
