"""Users and Access Management in a real browser; a user of B never sees account A."""

from pathlib import Path

from tests.support.browser import BrowserTestCase
from tests.support.personas import PASSWORD, build_personas


class AccessBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        build_personas(self)

    def as_user(self, username, password=PASSWORD):
        self.context.clear_cookies()
        self.login(username, password)
        self.page.get_by_role("heading", name="Admin Workspace").wait_for()

    def test_new_user_gets_access_to_one_account(self):
        self.as_user("admin")
        self.page.click("[data-testid=widget-users]")
        form = self.page.locator("[data-testid=new-user-form]")
        form.locator("#id_username").fill("carol")
        form.locator("#id_email").fill("carol@example.com")
        form.locator("#id_password").fill("Carol-Strong-Pass-77")
        form.get_by_role("button", name="Create User").click()
        self.page.get_by_text("User carol created.").wait_for()
        self.screenshot("users")

        self.page.goto(self.url("/admin/"))
        self.page.click("[data-testid=widget-access-management]")
        self.page.select_option("#account-select", label="AccountA")
        self.page.get_by_role("button", name="Select").click()
        membership = self.page.locator("[data-testid=membership-form]")
        membership.locator("#id_username").fill("carol")
        membership.locator("#id_role").select_option(label="Account Viewer")
        membership.get_by_role("button", name="Save").click()
        self.page.get_by_text("Access of carol saved.").wait_for()
        self.assertIn(
            "Account Viewer", self.page.locator("[data-testid=members-table]").inner_text()
        )
        self.screenshot("access-management")

        self.as_user("carol", "Carol-Strong-Pass-77")
        self.page.click("[data-testid=widget-accounts]")
        rows = self.page.locator("[data-testid=account-row]")
        rows.first.wait_for()
        self.assertEqual(rows.count(), 1)
        self.assertEqual(rows.first.get_attribute("data-account"), "AccountA")

    def test_user_of_b_gets_not_found_for_account_a(self):
        self.as_user("bob")
        response = self.page.goto(self.url(f"/admin/accounts/{self.account_a.pk}/"))
        self.assertEqual(response.status, 404)
        self.page.goto(self.url("/admin/accounts/"))
        self.assertNotIn("AccountA", self.page.locator("[data-testid=accounts-table]").inner_text())
        response = self.page.goto(self.url("/admin/users/"))
        self.assertEqual(response.status, 403)

    def test_reset_password_deactivate_and_the_security_event_log(self):
        self.as_user("admin")
        self.page.click("[data-testid=widget-users]")
        self.page.get_by_role("link", name="victor", exact=True).click()
        self.page.click("[data-testid=user-action-reset-password]")
        self.page.click("[data-testid=confirm-user-action]")
        one_time = self.page.locator("[data-testid=one-time-password]").inner_text().strip()
        self.screenshot("users-one-time-password")

        # victor logs in with it in another browser context and must choose a password first
        victor = self.browser.new_context()
        victor.set_default_timeout(15000)
        page = victor.new_page()
        page.goto(self.url("/login/"))
        page.fill("#id_username", "victor")
        page.fill("#id_password", one_time)
        page.click("button[type=submit]")
        page.locator("[data-testid=password-one-time]").wait_for()
        page.fill("#id_old_password", one_time)
        page.fill("#id_new_password1", "Victors-Own-Pass-2026")
        page.fill("#id_new_password2", "Victors-Own-Pass-2026")
        page.get_by_role("button", name="Change Password").click()
        page.goto(self.url("/admin/"))
        page.get_by_role("heading", name="Admin Workspace").wait_for()

        # the administrator deactivates victor: victor's open session ends
        self.page.goto(self.url(f"/admin/users/{self.victor.pk}/"))
        self.page.click("[data-testid=user-action-deactivate]")
        self.page.click("[data-testid=confirm-user-action]")
        self.page.get_by_text("User victor deactivated.").wait_for()
        self.assertEqual(self.page.locator("[data-testid=user-status]").inner_text(), "Inactive")
        self.screenshot("users-user-page")
        page.goto(self.url("/admin/"))
        page.locator("#id_username").wait_for()  # back on the log-in page
        victor.close()

        self.page.goto(self.url("/admin/security/event-log/?search=victor"))
        events = self.page.locator("[data-testid=security-events]").inner_text()
        self.assertIn("User victor logged in from", events)
        self.screenshot("security-event-log")
        with self.page.expect_download() as download:
            self.page.click("[data-testid=export-csv]")
        text = Path(download.value.path()).read_text(encoding="utf-8")
        self.assertTrue(text.startswith("Time (UTC),Category,Action,User,Account,Message,Result"))
        self.assertIn("User victor logged in from", text)
