"""Admin Workspace operations in a real browser: an account edited, deactivated and
reactivated; a backup and a support bundle downloaded; the log level changed; directory
log-in set up against a real slapd, tested, and used."""

import io
import json
import tarfile
from pathlib import Path

from tests.support.browser import BrowserTestCase
from tests.support.personas import PASSWORD, build_personas
from tests.support.slapd import BIND_DN, BIND_PASSWORD, PEOPLE, SUFFIX, Slapd, group_dn


class AdminOperationsBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        build_personas(self)
        self.login("admin", PASSWORD)
        self.page.get_by_role("heading", name="Admin Workspace").wait_for()

    def download(self, click) -> bytes:
        with self.page.expect_download() as download:
            click()
        return Path(download.value.path()).read_bytes()

    def test_account_edit_deactivate_and_reactivate(self):
        self.page.goto(self.url(f"/admin/accounts/{self.account_a.pk}/"))
        self.page.click("[data-testid=account-edit]")
        self.page.fill("#id_description", "Osaka plant")
        self.page.get_by_role("button", name="Save").click()
        self.page.get_by_text("Account AccountA saved.").wait_for()
        self.assertEqual(
            self.page.locator("[data-testid=account-description]").inner_text(), "Osaka plant"
        )
        self.page.click("[data-testid=account-deactivate]")
        self.page.get_by_text("account_deactivated").wait_for()
        self.page.click("[data-testid=confirm-account-action]")
        self.page.get_by_text("Account AccountA deactivated.").wait_for()
        self.assertIn("Deactivated", self.page.locator("[data-testid=account-name]").inner_text())
        self.screenshot("accounts-deactivated")
        self.page.click("[data-testid=account-reactivate]")
        self.page.click("[data-testid=confirm-account-action]")
        self.page.get_by_text("Account AccountA reactivated.").wait_for()
        self.assertIn("Active", self.page.locator("[data-testid=account-name]").inner_text())

    def test_backup_support_bundle_and_log_level(self):
        self.page.goto(self.url("/admin/support-center/"))
        self.page.click("[data-testid=tab-backup]")
        self.page.fill("#id_passphrase", "a long enough passphrase")
        self.page.fill("#id_passphrase2", "a long enough passphrase")
        self.screenshot("support-center-backup")
        data = self.download(lambda: self.page.click("[data-testid=backup-download]"))
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            self.assertEqual(
                sorted(tar.getnames()), ["database.dump", "manifest.json", "secrets.enc"]
            )
            manifest = json.loads(tar.extractfile("manifest.json").read())
        self.assertEqual(manifest["format"], "ssm-onprem-backup/1")

        self.page.click("[data-testid=tab-logs]")
        self.page.select_option("#log-level", "DEBUG")
        self.page.locator("[data-testid=log-level-form]").get_by_role("button").click()
        self.page.get_by_text("Log level set to DEBUG").wait_for()
        data = self.download(lambda: self.page.click("[data-testid=support-bundle]"))
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            names = tar.getnames()
        self.assertIn("ssm-support/settings.txt", names)
        self.assertIn("ssm-support/versions.txt", names)
        self.screenshot("support-center-logs")

    def test_directory_log_in_set_up_tested_and_used(self):
        slapd = Slapd().start()
        self.addCleanup(slapd.cleanup)
        self.page.goto(self.url("/admin/security/authentication/"))
        form = self.page.locator("[data-testid=directory-form]")
        form.locator("#id_enabled").check()
        form.locator("#id_server_uri").fill(slapd.url)
        form.locator("#id_start_tls").check()
        form.locator("#id_ca_certificate").fill(slapd.ca_pem)
        form.locator("#id_bind_dn").fill(BIND_DN)
        form.locator("#id_bind_password").fill(BIND_PASSWORD)
        form.locator("#id_user_search_base").fill(f"ou=people,{SUFFIX}")
        form.locator("#id_group_search_base").fill(f"ou=groups,{SUFFIX}")
        form.locator("#id_group_mappings").fill(
            f"{group_dn('ssm-admins')} => System Administrator\n"
            f"{group_dn('plant-operators')} => AccountA: Account Administrator"
        )
        form.get_by_role("button", name="Save").click()
        self.page.get_by_text("Directory settings saved.").wait_for()
        test = self.page.locator("[data-testid=directory-test]")
        test.locator("#test-username").fill("erin")
        test.get_by_role("button", name="Test").click()
        steps = self.page.locator("[data-testid=directory-test-steps]").inner_text()
        self.assertIn("(StartTLS)", steps)
        self.assertIn(f"Found uid=erin,ou=people,{SUFFIX}", steps)
        self.assertIn(group_dn("plant-operators"), steps)
        self.screenshot("security-authentication")

        self.context.clear_cookies()
        self.login("erin", PEOPLE["erin"][0])
        self.page.get_by_role("heading", name="Admin Workspace").wait_for()
        self.page.goto(self.url("/admin/accounts/"))
        rows = self.page.locator("[data-testid=account-row]")
        rows.first.wait_for()
        self.assertEqual(rows.count(), 1)
        self.assertEqual(rows.first.get_attribute("data-account"), "AccountA")
