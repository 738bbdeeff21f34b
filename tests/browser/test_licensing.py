"""Smart Licensing in a real browser: tokens, product instances registered over HTTP by the
device simulator, licenses with Insufficient Licenses, and the API Toolkit widget."""

import io

from django.core.management import call_command

from licensing.models import ApiClient, ProductInstance, RegistrationToken
from tests.licensing.support import PI_BASE, PI_LIFECYCLE, UCM_BASIC, UCM_ENHANCED, purchase
from tests.support.browser import BrowserTestCase
from tests.support.personas import PASSWORD, make_account, make_user


class LicensingBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        from accounts.choices import SystemRole

        make_user("admin", SystemRole.SYSTEM_ADMIN)
        self.account = make_account("TEST")
        self.va = self.account.default_virtual_account
        purchase(self.va, PI_BASE, 1)
        purchase(self.va, PI_LIFECYCLE, 1)
        purchase(self.va, UCM_BASIC, 5)
        purchase(self.va, UCM_ENHANCED, 2)
        self.login("admin", PASSWORD)
        self.page.get_by_role("heading", name="Admin Workspace").wait_for()

    def inventory(self, subtab):
        self.page.goto(self.url(f"/smart-licensing/inventory/{subtab}/?account={self.account.pk}"))

    def test_create_copy_revoke_token_then_register_products(self):
        self.inventory("general")
        self.assertIn(
            "/Transportgateway/services/DeviceRequestHandler",
            self.page.locator("[data-testid=product-urls]").inner_text(),
        )
        self.page.fill("#id_description", "pi37 and cucm")
        self.page.fill("#id_expires_after_days", "30")
        self.page.get_by_role("button", name="Create Token").click()
        self.page.get_by_text("created.").wait_for()
        token = RegistrationToken.objects.get()
        row = self.page.locator("[data-testid=token-row]")
        self.assertIn("pi37 and cucm", row.inner_text())
        self.assertIn("Active", row.inner_text())
        self.context.grant_permissions(["clipboard-read", "clipboard-write"])
        row.get_by_role("button", name="Copy").click()
        self.page.locator("[data-copied=true]").wait_for()
        self.screenshot("licensing-general-tokens")

        out = io.StringIO()
        call_command(
            "device_simulator",
            url=self.live_server_url,
            token=token.token,
            device=["pi37", "cucm-pub-30"],
            synthetic=2,
            operations="register,authorize",
            stdout=out,
            stderr=io.StringIO(),
        )
        self.assertEqual(out.getvalue().count(" OK "), 8)

        self.inventory("product-instances")
        self.page.get_by_text("Showing Page 1 of 1 (4 Records)").wait_for()
        self.assertIn(
            "UDI_PID:PI-SOFTWARE; UDI_SN:pi37",
            self.page.locator("[data-testid=product-instances]").inner_text(),
        )
        self.page.get_by_role("searchbox").fill("cucm")
        self.page.get_by_role("button", name="Search").click()
        self.page.get_by_text("Showing Page 1 of 1 (1 Records)").wait_for()
        self.screenshot("licensing-product-instances")

        self.inventory("licenses")
        table = self.page.locator("[data-testid=licenses]")
        pi_base = table.locator(f"[data-tag='{PI_BASE}']")
        # Three PI devices want PI Base: 1 purchased, Lifecycle covers 1 → balance -1.
        self.assertIn("Insufficient Licenses", pi_base.inner_text())
        ucm = table.locator(f"[data-tag='{UCM_BASIC}']").inner_text()
        self.assertIn("10", ucm)
        self.screenshot("licensing-licenses")

        self.inventory("general")
        # a destructive action asks first: Cancel leaves the token as it was
        self.page.get_by_role("button", name="Revoke").click()
        confirm = self.page.locator("#ssm-confirm")
        confirm.get_by_text("Revoke this token?").wait_for()
        confirm.get_by_role("button", name="Cancel").click()
        confirm.wait_for(state="hidden")
        self.assertNotIn("Revoked", self.page.locator("[data-testid=token-row]").inner_text())
        self.page.get_by_role("button", name="Revoke").click()
        self.page.locator("[data-testid=confirm-yes]").click()
        self.page.get_by_text("revoked.").wait_for()
        self.assertIn("Revoked", self.page.locator("[data-testid=token-row]").inner_text())

    def test_remove_instance_from_the_list(self):
        from licensing import services
        from tests.licensing.support import registered

        registered(self.va, "pi37", token=services.create_token(self.va))
        self.inventory("product-instances")
        self.page.get_by_text("(1 Records)").wait_for()
        self.page.locator("[data-testid=remove]").click()
        self.page.locator("[data-testid=confirm-yes]").click()
        self.page.get_by_text("Showing Page 1 of 1 (0 Records)").wait_for()
        self.assertEqual(ProductInstance.objects.filter(status="registered").count(), 0)

    def test_api_toolkit_creates_client(self):
        self.page.click("[data-testid=widget-api-toolkit]")
        self.page.get_by_role("heading", name="API Toolkit").wait_for()
        self.page.fill("#id_name", "automation")
        form = self.page.locator("[data-testid=api-client-form]")
        form.locator("[data-testid=grant-accounts]").get_by_label("TEST", exact=True).check()
        self.page.get_by_role("button", name="Create API Client").click()
        secret = self.page.locator("[data-testid=client-secret]").inner_text()
        self.assertGreater(len(secret), 20)
        client = ApiClient.objects.get()
        response = self.page.request.post(
            self.url("/oauth/token"),
            form={
                "grant_type": "client_credentials",
                "client_id": client.client_id,
                "client_secret": secret,
            },
        )
        self.assertEqual(response.status, 200)
        self.screenshot("api-toolkit")

    def test_api_reference_from_the_api_toolkit(self):
        refused = []
        self.page.on(
            "console",
            lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
        )
        self.page.goto(self.url("/admin/api-toolkit/"))
        self.page.locator("[data-testid=api-docs]").click()
        # Swagger UI, served by this server, renders the schema's operations.
        tokens = "/api/v1/accounts/{account}/virtual-accounts/{virtual_account}/tokens"
        self.page.locator(f".opblock-summary-path[data-path='{tokens}']").first.wait_for()
        self.page.locator(".opblock-summary-path[data-path='/oauth/token']").wait_for()
        self.assertEqual(refused, [])
        self.screenshot("api-reference")
