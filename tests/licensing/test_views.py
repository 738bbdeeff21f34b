"""Smart Licensing pages: tokens, instances with paging/search, licenses, reports, access."""

from django.test import TestCase

from accounts.models import PurchasedLicense, VirtualAccount
from licensing.models import ProductInstance, RegistrationToken
from licensing.simulator import Device
from tests.support.personas import build_personas

from .support import PI_BASE, PI_LIFECYCLE, gateway_client, purchase, registered, token_for


class InventoryViewTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        build_personas(cls)
        cls.va = cls.account_a.default_virtual_account
        purchase(cls.va, PI_BASE, 1)
        purchase(cls.va, PI_LIFECYCLE, 5)

    def page(self, subtab, user=None, **params):
        self.client.force_login(user or self.alice)
        query = {"account": self.account_a.pk, **params}
        return self.client.get(f"/smart-licensing/inventory/{subtab}/", query)

    def test_general_shows_urls_and_creates_and_revokes_tokens(self):
        response = self.page("general")
        self.assertContains(response, "/Transportgateway/services/DeviceRequestHandler")
        self.assertContains(response, "/SmartTransport")
        self.assertContains(response, "/cslu/v1/pi/AccountA-1")
        q = f"?account={self.account_a.pk}&va={self.va.pk}"
        created = self.client.post(
            f"/smart-licensing/tokens/create/{q}",
            {"description": "lab", "expires_after_days": 30, "export_controlled": "on"},
        )
        self.assertEqual(created.status_code, 302)
        token = RegistrationToken.objects.get()
        self.assertTrue(token.export_controlled)
        self.assertContains(self.page("general"), token.token)
        bad = self.client.post(
            f"/smart-licensing/tokens/create/{q}",
            {"description": "kept", "expires_after_days": 500},
        )
        # the tab again, the error next to its field, what was typed kept
        self.assertContains(bad, '<div class="invalid-feedback">Ensure this value', status_code=400)
        self.assertContains(bad, 'value="kept"', status_code=400)
        self.assertEqual(RegistrationToken.objects.count(), 1)
        self.client.post(f"/smart-licensing/tokens/{token.pk}/revoke/{q}")
        token.refresh_from_db()
        self.assertIsNotNone(token.revoked)

    def test_viewer_cannot_create_and_other_account_user_sees_nothing(self):
        q = f"?account={self.account_a.pk}&va={self.va.pk}"
        self.client.force_login(self.victor)
        self.client.post(f"/smart-licensing/tokens/create/{q}", {"expires_after_days": 3})
        self.assertFalse(RegistrationToken.objects.exists())
        self.assertEqual(self.page("general", user=self.bob).status_code, 404)

    def test_product_instances_paging_search_detail_and_remove(self):
        client = gateway_client()
        token = token_for(self.va)
        for name in ("pi37", "cucm-pub-30", "sw1", "sw2"):
            registered(self.va, name, client, token)
        response = self.page("product-instances")
        self.assertContains(response, "Showing Page 1 of 1 (4 Records)")
        self.assertContains(response, "UDI_PID:PI-SOFTWARE; UDI_SN:pi37")
        found = self.page("product-instances", search="cucm")
        self.assertContains(found, "Showing Page 1 of 1 (1 Records)")
        instance = ProductInstance.objects.get(udi_sn="pi37")
        detail = self.client.get(f"/smart-licensing/product-instances/{instance.pk}/")
        self.assertContains(detail, "registered")
        q = f"?account={self.account_a.pk}&va={self.va.pk}"
        self.client.post(f"/smart-licensing/product-instances/{instance.pk}/remove/{q}")
        self.assertContains(self.page("product-instances"), "(3 Records)")
        self.client.force_login(self.bob)
        self.assertEqual(
            self.client.get(f"/smart-licensing/product-instances/{instance.pk}/").status_code, 404
        )

    def test_event_log_licenses_and_policy_tabs_are_paged_and_searchable_alike(self):
        from core.choices import EventCategory
        from core.services import record_event

        for n in range(30):
            record_event(
                EventCategory.LICENSING, "probe", f"probe event {n}", account=self.account_a
            )
        first = self.page("event-log")
        self.assertContains(first, "Showing Page 1 of 2 (30 Records)")
        # the next page keeps the account, the virtual account and the search
        self.assertContains(first, f'href="?account={self.account_a.pk}&amp;page=2"')
        found = self.page("event-log", search="event 1")  # 1 and 10 to 19
        self.assertContains(found, "Showing Page 1 of 1 (11 Records)")
        activity = self.client.get(
            "/smart-licensing/activity/",
            {"account": self.account_a.pk, "view": "events", "search": "event 29"},
        )
        self.assertContains(activity, "(1 Records)")
        licenses = self.page("licenses", search="lifecycle")
        self.assertContains(licenses, "Showing Page 1 of 1 (1 Records)")
        self.assertContains(self.page("sl-using-policy"), "Showing Page 1 of 1 (0 Records)")

    def test_transfer_to_other_virtual_account(self):
        lab = VirtualAccount.objects.create(account=self.account_a, name="Lab")
        registered(self.va, "pi37")
        instance = ProductInstance.objects.get()
        q = f"?account={self.account_a.pk}&va={self.va.pk}"
        self.client.force_login(self.alice)
        self.client.post(
            f"/smart-licensing/product-instances/{instance.pk}/transfer/{q}",
            {"virtual_account": lab.pk},
        )
        instance.refresh_from_db()
        self.assertEqual(instance.virtual_account, lab)

    def test_licenses_tab_shows_insufficient(self):
        client = gateway_client()
        device = registered(self.va, "pi37", client)
        client.authorize(device, [(PI_BASE, 7)])  # 1 + 5 substituted < 7
        response = self.page("licenses")
        self.assertContains(response, "Prime Infrastructure 3.x, Base Lic")
        self.assertContains(response, "Insufficient Licenses")
        alerts = self.client.get("/smart-licensing/alerts/", {"account": self.account_a.pk})
        self.assertContains(alerts, "Insufficient Licenses")

    def test_account_and_virtual_account_selection(self):
        lab = VirtualAccount.objects.create(account=self.account_a, name="Lab")
        other_va = self.account_b.default_virtual_account
        response = self.page("licenses")
        self.assertEqual(response.context["va"], self.va)  # the default virtual account
        self.assertEqual([v.name for v in response.context["virtual_accounts"]][0], self.va.name)
        self.assertEqual(self.page("licenses", va=lab.pk).context["va"], lab)
        self.client.force_login(self.alice)
        self.assertEqual(
            self.client.get("/smart-licensing/inventory/licenses/").context["account"],
            self.account_a,
        )
        for params in (
            {"va": other_va.pk},
            {"va": "x"},
            {"account": self.account_b.pk},
            {"account": "1x"},
        ):
            with self.subTest(params=params):
                self.assertEqual(self.page("licenses", **params).status_code, 404)
        row_link = (
            f'<a href="/smart-licensing/inventory/product-instances/?account='
            f"{self.account_a.pk}&amp;va={self.va.pk}&amp;tag="
        )
        self.assertContains(self.page("licenses"), row_link, count=2)

    def test_product_instance_page_names_its_licenses(self):
        client = gateway_client()
        device = Device(sn="pi40", entitlements=[(PI_BASE, 1), (PI_LIFECYCLE, 99)])
        client.register(device, token_for(self.va).token)
        client.authorize(device)
        instance = ProductInstance.objects.get(udi_sn="pi40")
        self.client.force_login(self.alice)
        page = self.client.get(f"/smart-licensing/product-instances/{instance.pk}/")
        purchased = PurchasedLicense.objects.get(virtual_account=self.va, tag=PI_BASE).name
        self.assertContains(page, f"<td>{purchased}<div")  # the name, not only the tag
        self.assertContains(page, "Out of Compliance")  # 99 lifecycle licenses are not there
        self.assertContains(
            page, '<span class="badge text-bg-success" data-testid="license-status">Authorized'
        )

    def test_a_license_s_product_instances_are_those_using_it(self):
        client, token = gateway_client(), token_for(self.va)
        for sn, entitlements in (("pi41", [(PI_BASE, 1)]), ("pi42", [(PI_LIFECYCLE, 1)])):
            device = Device(sn=sn, entitlements=entitlements)
            client.register(device, token.token)
            client.authorize(device)
        self.client.force_login(self.alice)
        page = self.page("licenses")
        hrefs = [part.split('"')[0] for part in page.content.decode().split('href="')[1:]]
        link = next(h for h in hrefs if "tag=" in h and "PI_LIFECYCLE" in h).replace("&amp;", "&")
        listed = self.client.get(link)
        names = [i.udi_sn for i in listed.context["page"]]
        self.assertEqual(names, ["pi42"])
        self.assertContains(listed, 'data-testid="license-filter"')
        everything = self.page("product-instances")
        self.assertEqual(sorted(i.udi_sn for i in everything.context["page"]), ["pi41", "pi42"])

    def test_reports_csv_and_event_log(self):
        registered(self.va, "pi37")
        self.client.force_login(self.alice)
        csv = self.client.get(
            "/smart-licensing/reports/product-instances.csv", {"account": self.account_a.pk}
        )
        self.assertEqual(csv["Content-Type"], "text/csv; charset=utf-8")
        self.assertIn(b"UDI_PID:PI-SOFTWARE; UDI_SN:pi37", b"".join(csv.streaming_content))
        licenses = self.client.get(
            "/smart-licensing/reports/licenses.csv", {"account": self.account_a.pk}
        )
        self.assertIn(b"Purchased", b"".join(licenses.streaming_content))
        self.assertContains(self.page("event-log"), "registered")
        self.assertContains(self.page("sl-using-policy"), "No Records Found")


class ApiToolkitViewTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        build_personas(cls)

    def test_admin_creates_and_revokes_client(self):
        self.client.force_login(self.admin)
        response = self.client.post(
            "/admin/api-toolkit/", {"name": "automation", "accounts": [self.account_a.pk]}
        )
        self.assertContains(response, "The secret is shown only once")
        from licensing.models import ApiClient

        client = ApiClient.objects.get()
        again = self.client.post(
            "/admin/api-toolkit/", {"name": "Automation ", "accounts": [self.account_a.pk]}
        )
        self.assertContains(again, "An API client named Automation exists already", status_code=400)
        missing = self.client.post("/admin/api-toolkit/", {"name": "ci"})
        self.assertContains(missing, "at least one local account.", status_code=400)
        self.assertEqual(ApiClient.objects.count(), 1)
        self.client.post("/admin/api-toolkit/", {"revoke": client.pk})
        client.refresh_from_db()
        self.assertIsNotNone(client.revoked)
        # a revoked client's name may be used again
        again = self.client.post(
            "/admin/api-toolkit/", {"name": "automation", "accounts": [self.account_a.pk]}
        )
        self.assertContains(again, "The secret is shown only once")

    def test_account_user_cannot_open_it(self):
        self.client.force_login(self.alice)
        self.assertEqual(self.client.get("/admin/api-toolkit/").status_code, 404)
