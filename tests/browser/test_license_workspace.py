"""The License Workspace beyond registration, in a real browser: license transfers between
virtual accounts, Activity, Alerts with dismissal, Preferences, Reports for the whole
account, Convert to Smart Licensing and SL Using Policy (screenshots of each)."""

import csv
import io
import json
from pathlib import Path

from accounts.choices import SystemRole
from accounts.models import PurchasedLicense, VirtualAccount
from licensing.models import AlertPreferences, LicenseTransaction
from tests.licensing.support import PI_BASE, UCM_BASIC, gateway_client, purchase, registered
from tests.support.browser import BrowserTestCase
from tests.support.personas import PASSWORD, make_account, make_user


class LicenseWorkspaceBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        make_user("admin", SystemRole.SYSTEM_ADMIN)
        self.account = make_account("TEST")
        self.va = self.account.default_virtual_account
        self.branch = VirtualAccount.objects.create(account=self.account, name="Branch")
        purchase(self.va, PI_BASE, 2)
        purchase(self.va, UCM_BASIC, 10)
        client = gateway_client()
        device = registered(self.va, "pi37", client)
        client.authorize(device, [(PI_BASE, 3)])  # one short: Insufficient Licenses
        self.device, self.gateway = device, client
        self.login("admin", PASSWORD)
        self.page.get_by_role("heading", name="Admin Workspace").wait_for()

    def tab(self, path, **params):
        query = "&".join(f"{k}={v}" for k, v in {"account": self.account.pk, **params}.items())
        self.page.goto(self.url(f"/smart-licensing/{path}/?{query}"))

    def test_transfer_activity_reports(self):
        self.tab("inventory/licenses")
        row = self.page.locator(f"[data-tag='{UCM_BASIC}']")
        row.locator("input[name=quantity]").fill("4")
        row.locator("select[name=virtual_account]").select_option(label="Branch")
        row.get_by_role("button", name="Transfer").click()
        self.page.get_by_text("transferred to Branch").wait_for()
        self.assertEqual(
            PurchasedLicense.objects.get(virtual_account=self.branch, tag=UCM_BASIC).quantity, 4
        )
        # PI Base is short: nothing to give, no transfer form on its row
        pi_row = self.page.locator(f"[data-tag='{PI_BASE}']")
        self.assertEqual(pi_row.locator("[data-testid=license-transfer]").count(), 0)
        self.screenshot("license-transfer")
        self.tab("inventory/licenses", va=self.branch.pk)
        self.assertIn("4", self.page.locator(f"[data-tag='{UCM_BASIC}']").inner_text())

        self.tab("activity")
        self.page.locator("[data-testid=license-transaction]").first.wait_for()
        self.assertIn(
            "License Transfer", self.page.locator("[data-testid=license-transactions]").inner_text()
        )
        self.page.select_option("#activity-kind", "product_instance")
        self.page.get_by_role("button", name="Filter").click()
        self.page.get_by_text("No Records Found").wait_for()
        self.page.select_option("#activity-kind", "")
        self.page.get_by_role("button", name="Filter").click()
        with self.page.expect_download() as download:
            self.page.locator("[data-testid=export-csv]").click()
        rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
        self.assertEqual(rows[1][1], "License Transfer")
        self.screenshot("activity-license-transactions")
        self.page.get_by_role("link", name="Event Log").click()
        self.page.get_by_text("transferred from Default to Branch").wait_for()

        self.tab("reports")
        self.page.select_option("#report-scope", "account")
        with self.page.expect_download() as download:
            self.page.locator("[data-testid=report-licenses]").click()
        body = Path(download.value.path()).read_text()
        self.assertIn("Branch,", body)
        self.assertIn("Default,", body)
        self.screenshot("reports")
        self.assertEqual(LicenseTransaction.objects.count(), 1)

    def test_alerts_preferences_convert_and_policy(self):
        self.tab("alerts")
        alert = self.page.locator("[data-kind=insufficient_licenses]")
        self.assertIn("balance -1", alert.inner_text())
        self.screenshot("alerts")
        alert.get_by_role("button", name="Dismiss").click()
        self.page.get_by_text("Alert dismissed.").wait_for()
        self.assertEqual(self.page.locator("[data-kind=insufficient_licenses]").count(), 0)

        self.tab("preferences")
        self.page.fill("#id_recipients", "ops@example.com, bad address")
        self.page.get_by_role("button", name="Save").click()
        self.page.get_by_text("bad address is not an e-mail address").wait_for()
        self.page.fill("#id_recipients", "ops@example.com")
        self.page.fill("#id_not_reporting_days", "14")
        self.page.check("#id_daily_digest")
        self.page.get_by_role("button", name="Save").click()
        self.page.get_by_text("Preferences saved.").wait_for()
        prefs = AlertPreferences.objects.get()
        self.assertEqual((prefs.recipients, prefs.not_reporting_days), ("ops@example.com", 14))
        self.screenshot("preferences")

        self.tab("convert")  # this account is not registered with CSC: the tab says so
        self.page.locator("[data-testid=classic-error]").get_by_text(
            "not registered with Cisco Software Central"
        ).wait_for()

        report = self.device.rum_report(1, PI_BASE, 3)
        body = "<smartLicense><RUMReport><![CDATA[" + json.dumps(report)
        answer = self.page.request.post(
            self.url("/cslu/v1/pi/TEST-1"),
            data=body + "]]></RUMReport></smartLicense>",
            headers={"Content-Type": "application/xml"},
        )
        self.assertEqual(answer.status, 200, answer.text())
        self.tab("inventory/sl-using-policy")
        product = self.page.locator("[data-testid=reporting-product]")
        self.assertIn("1 waiting for CSC", product.inner_text())
        self.screenshot("sl-using-policy")
