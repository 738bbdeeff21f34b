"""Request → approve → synchronize in a real browser, against a real CSC and Celery worker."""

import re

import requests
from django.test import override_settings

from accounts.models import LocalAccount, PurchasedLicense
from tests.support.browser import BrowserTestCase
from tests.support.celery_worker import CeleryWorker
from tests.support.csc import CscServer
from tests.support.personas import PASSWORD, build_personas


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
class AccountLifecycleBrowserTests(BrowserTestCase):
    @classmethod
    def setUpClass(cls):
        cls.csc = CscServer("browser-accounts").start()
        cls._csc_settings = cls.csc.settings(timeout=3.0)
        cls._csc_settings.enable()
        with cls.csc.environ(timeout=3.0):
            cls.worker = CeleryWorker("browser-accounts").start()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.worker.stop()
        cls._csc_settings.disable()
        cls.csc.stop()

    def setUp(self):
        super().setUp()
        self.csc.heal()
        build_personas(self)

    def as_user(self, username):
        self.context.clear_cookies()
        self.login(username, PASSWORD)
        self.page.get_by_role("heading", name="Admin Workspace").wait_for()

    def request_and_approve(self, name, virtual_account):
        # bob asks for an account ...
        self.as_user("bob")
        self.page.click("[data-testid=widget-accounts]")
        self.page.click("[data-testid=new-account]")
        self.page.fill("#id_name", name)
        self.page.fill("#id_cisco_smart_account", "BU Production Test")
        self.page.fill("#id_cisco_virtual_account", virtual_account)
        self.page.fill("#id_notification_email", "bob@example.com")
        self.page.get_by_role("button", name="Submit Request").click()
        self.page.get_by_text(f"Account request {name} submitted").wait_for()
        self.screenshot("accounts-request-submitted")
        # ... and the system administrator approves it, which registers it with CSC.
        self.as_user("admin")
        self.page.click("[data-testid=widget-accounts]")
        self.page.click("[data-testid=tab-account-requests]")
        row = self.page.locator(f"[data-testid=request-row][data-account='{name}']")
        row.locator("[data-testid=approve]").click()
        self.page.get_by_text(f"Account {name} approved and registered.").wait_for()
        self.screenshot("accounts-request-approved")
        self.page.click("[data-testid=tab-accounts]")
        account_row = self.page.locator(f"[data-testid=account-row][data-account='{name}']")
        self.assertEqual(account_row.locator("[data-testid=account-status]").inner_text(), "Active")
        self.assertIn("bob", account_row.inner_text())

    def sync_row(self, name):
        return self.page.locator(f"[data-testid=sync-row][data-account='{name}']")

    def test_request_approve_synchronize_and_failure(self):
        self.csc.add_virtual_account("Browser VA")
        self.request_and_approve("TEST", "Browser VA")
        self.screenshot("accounts-list")

        self.page.goto(self.url("/admin/"))
        self.page.click("[data-testid=widget-synchronization]")
        row = self.sync_row("TEST")
        row.locator("[data-testid=sync-now]").click()
        alert = self.sync_row("TEST").locator("[data-testid=sync-alert]")
        alert.get_by_text("Synchronization Successful").wait_for()
        self.screenshot("synchronization-successful")
        last = self.sync_row("TEST").locator("[data-testid=last-sync]").inner_text()
        self.assertRegex(last, r"^\d{4}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2}$")
        account = LocalAccount.objects.get(name="TEST")
        self.assertEqual(PurchasedLicense.objects.filter(account=account).count(), 8)

        # CSC fails: a clear alert on the row, and the purchased licenses are untouched.
        self.csc.fail("server_error")
        self.sync_row("TEST").locator("[data-testid=sync-now]").click()
        alert = self.sync_row("TEST").locator("[data-testid=sync-alert]")
        alert.get_by_text(re.compile("HTTP 503")).wait_for()
        self.screenshot("synchronization-failed")
        self.assertEqual(PurchasedLicense.objects.filter(account=account).count(), 8)

        # A retry after CSC recovers succeeds.
        self.csc.heal()
        self.sync_row("TEST").locator("[data-testid=sync-now]").click()
        self.sync_row("TEST").locator("[data-testid=sync-alert]").get_by_text(
            "Synchronization Successful"
        ).wait_for()

    def test_manual_synchronization_with_files(self):
        self.csc.add_virtual_account("Air Gap VA")
        self.request_and_approve("AIRGAP", "Air Gap VA")
        self.page.goto(self.url("/admin/synchronization/"))
        with self.page.expect_download() as download_info:
            self.sync_row("AIRGAP").locator("[data-testid=download-request]").click()
        request_file = download_info.value.path()
        with open(request_file, "rb") as fh:
            answer = requests.post(
                self.csc.url + "/api/v1/manual-sync",
                data=fh.read(),
                headers={"Content-Type": "application/json"},
                verify=self.csc.ca_file,
                timeout=10,
            )
        answer.raise_for_status()
        tampered = answer.content.replace(b'"quantity": 50', b'"quantity": 5000')
        self.assertNotEqual(tampered, answer.content)
        self.page.goto(self.url("/admin/synchronization/"))
        self.sync_row("AIRGAP").locator("[data-testid=response-file]").set_input_files(
            files=[{"name": "response.json", "mimeType": "application/json", "buffer": tampered}]
        )
        self.sync_row("AIRGAP").locator("[data-testid=upload-response]").click()
        self.page.get_by_text("failed its signature check").wait_for()
        self.screenshot("manual-sync-tampered")
        self.sync_row("AIRGAP").locator("[data-testid=response-file]").set_input_files(
            files=[
                {"name": "response.json", "mimeType": "application/json", "buffer": answer.content}
            ]
        )
        self.sync_row("AIRGAP").locator("[data-testid=upload-response]").click()
        self.sync_row("AIRGAP").locator("[data-testid=sync-alert]").get_by_text(
            "Synchronization Successful"
        ).wait_for()
        self.screenshot("manual-sync-successful")
