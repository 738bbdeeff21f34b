"""License transfers between local virtual accounts: balances, refusals, synchronization,
License Transactions, the Licenses tab's form, Activity and Reports."""

import csv
import io
import json

from django.db import transaction
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from accounts.choices import AccountRole
from accounts.models import PurchasedLicense, VirtualAccount
from core.models import Event
from licensing import services
from licensing.models import LicenseTransaction, ProductInstance
from synchronization.services.jobs import apply_entitlements
from tests.support.personas import grant, make_account, make_user

from .support import PI_BASE, PI_LIFECYCLE, gateway_client, in_use_by_tag, purchase, registered


def purchased(va, tag=PI_BASE) -> int:
    row = PurchasedLicense.objects.filter(virtual_account=va, tag=tag).first()
    return row.quantity if row else 0


def balances(va) -> dict[str, int]:
    return {r["tag"]: r["balance"] for r in services.license_rows(va)}


class TransferServiceTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.account = make_account("TEST")
        cls.default = cls.account.default_virtual_account
        cls.branch = VirtualAccount.objects.create(account=cls.account, name="Branch")

    def setUp(self):
        purchase(self.default, PI_BASE, 10)

    def test_moves_purchased_licenses_and_records_them(self):
        record = services.transfer_licenses(self.default, self.branch, PI_BASE, 4)
        self.assertEqual((purchased(self.default), purchased(self.branch)), (6, 4))
        services.transfer_licenses(self.default, self.branch, PI_BASE, 1)
        self.assertEqual((purchased(self.default), purchased(self.branch)), (5, 5))
        self.assertEqual(
            (record.kind, record.quantity, record.source, record.target, record.tag),
            ("license", 4, "Default", "Branch", PI_BASE),
        )
        self.assertEqual(LicenseTransaction.objects.count(), 2)
        event = Event.objects.filter(action="licenses_transferred").order_by("pk").first()
        self.assertIn("4 × ", event.message)
        self.assertEqual(event.account, self.account)
        # back again: a virtual account left with none loses the row, Default keeps its own
        services.transfer_licenses(self.branch, self.default, PI_BASE, 5)
        self.assertFalse(PurchasedLicense.objects.filter(virtual_account=self.branch).exists())
        services.transfer_licenses(self.default, self.branch, PI_BASE, 10)
        self.assertTrue(PurchasedLicense.objects.filter(virtual_account=self.default).exists())
        self.assertEqual(purchased(self.default), 0)

    def test_a_transfer_that_would_leave_the_source_short_says_so_and_changes_nothing(self):
        client = gateway_client()
        device = registered(self.default, "pi37", client)
        client.authorize(device, [(PI_BASE, 7)])
        with self.assertRaisesMessage(services.LicensingError, "at most 3 can move"):
            services.transfer_licenses(self.default, self.branch, PI_BASE, 4)
        self.assertEqual((purchased(self.default), purchased(self.branch)), (10, 0))
        self.assertFalse(LicenseTransaction.objects.exists())
        services.transfer_licenses(self.default, self.branch, PI_BASE, 3)
        self.assertEqual(balances(self.default)[PI_BASE], 0)

    def test_refusals(self):
        other = make_account("OTHER").default_virtual_account
        cases = [
            (self.default, other, PI_BASE, 1, "one local account"),
            (self.default, self.default, PI_BASE, 1, "already in Default"),
            (self.default, self.branch, PI_LIFECYCLE, 1, "holds no purchased licenses"),
            (self.branch, self.default, PI_BASE, 1, "holds no purchased licenses"),
            (self.default, self.branch, PI_BASE, 0, "whole number"),
            (self.default, self.branch, PI_BASE, True, "whole number"),
            (self.default, self.branch, PI_BASE, "2", "whole number"),
            (self.default, self.branch, PI_BASE, 11, "at most 10 can move"),
        ]
        for source, target, tag, quantity, message in cases:
            with (
                self.subTest(message=message, quantity=quantity),
                self.assertRaisesMessage(services.LicensingError, message),
            ):
                services.transfer_licenses(source, target, tag, quantity)
        self.assertEqual(purchased(self.default), 10)
        self.assertFalse(LicenseTransaction.objects.exists())

    def test_synchronization_keeps_transfers_and_default_holds_the_rest(self):
        services.transfer_licenses(self.default, self.branch, PI_BASE, 4)
        entitlements = [
            {"name": "PI Base (CSC)", "tag": PI_BASE, "billing": "Prepaid", "quantity": 15},
            {"name": "PI Lifecycle", "tag": PI_LIFECYCLE, "billing": "Prepaid", "quantity": 2},
        ]
        for entry in entitlements:
            entry["product_type"] = "PI"
        with transaction.atomic():
            apply_entitlements(self.account, entitlements, timezone.now())
        self.assertEqual((purchased(self.default), purchased(self.branch)), (11, 4))
        self.assertEqual(purchased(self.default, PI_LIFECYCLE), 2)
        # one name per tag: CSC's
        names = set(PurchasedLicense.objects.filter(tag=PI_BASE).values_list("name", flat=True))
        self.assertEqual(names, {"PI Base (CSC)"})
        # a license CSC no longer lists leaves every virtual account
        with transaction.atomic():
            apply_entitlements(self.account, entitlements[1:], timezone.now())
        self.assertFalse(PurchasedLicense.objects.filter(tag=PI_BASE).exists())

    def test_balances_equal_a_recount_after_transfers_of_licenses_and_instances(self):
        purchase(self.default, PI_LIFECYCLE, 6)
        client = gateway_client()
        devices = [registered(self.default, f"d{i}", client) for i in range(4)]
        for i, device in enumerate(devices):
            client.authorize(device, [(PI_BASE, 1), (PI_LIFECYCLE, i % 2)])
        services.transfer_licenses(self.default, self.branch, PI_BASE, 3)
        services.transfer_licenses(self.default, self.branch, PI_LIFECYCLE, 2)
        for instance in ProductInstance.objects.order_by("pk")[:2]:
            services.transfer_instance(instance, self.branch)
        client.report_usage(devices[3], [(PI_BASE, 2)])
        # Smart Licensing Using Policy: a signed RUM report from a moved product
        body = "<smartLicense><RUMReport><![CDATA["
        body += json.dumps(devices[0].rum_report(1, PI_LIFECYCLE, 1)) + "]]></RUMReport>"
        answer = self.client.post("/cslu/v1/pi/TEST-1", body + "</smartLicense>", "application/xml")
        self.assertEqual(answer.status_code, 200, answer.content)
        before = {va.name: balances(va) for va in (self.default, self.branch)}
        self.assertEqual(before["Branch"][PI_LIFECYCLE], 2 - 1 - 1)  # d1 and d0 (its report)
        counters = in_use_by_tag()
        for va in (self.default, self.branch):
            services.recount_licenses(va)
        self.assertEqual(counters, in_use_by_tag())
        self.assertEqual(before, {va.name: balances(va) for va in (self.default, self.branch)})
        # purchased is conserved: what CSC sold is spread over the virtual accounts
        total = purchased(self.default) + purchased(self.branch)
        self.assertEqual(total, 10)
        self.assertEqual(LicenseTransaction.objects.filter(kind="license").count(), 2)
        moved = LicenseTransaction.objects.filter(kind="product_instance")
        # one transaction per license an instance took along (d1 uses both)
        found = sorted(
            (name.rsplit(":", 1)[-1], tag)
            for name, tag in moved.values_list("instance_name", "tag")
        )
        self.assertEqual(found, [("d0", PI_BASE), ("d1", PI_BASE), ("d1", PI_LIFECYCLE)])


class TransferPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.account = make_account("TEST")
        cls.default = cls.account.default_virtual_account
        cls.branch = VirtualAccount.objects.create(account=cls.account, name="Branch")
        cls.user = make_user("alice")
        grant(cls.user, cls.account, AccountRole.ACCOUNT_USER)
        cls.viewer = make_user("victor")
        grant(cls.viewer, cls.account, AccountRole.ACCOUNT_VIEWER)

    def setUp(self):
        purchase(self.default, PI_BASE, 10)
        self.client.force_login(self.user)
        self.query = f"?account={self.account.pk}&va={self.default.pk}"

    def transfer(self, quantity, target=None):
        return self.client.post(
            reverse("licensing:license-transfer") + self.query,
            {"tag": PI_BASE, "quantity": quantity, "virtual_account": (target or self.branch).pk},
            follow=True,
        )

    def test_licenses_tab_transfers_and_shows_refusals(self):
        page = self.client.get(reverse("licensing:inventory", args=["licenses"]) + self.query)
        self.assertContains(page, 'data-testid="license-transfer"')
        self.assertContains(page, 'max="10"')
        answer = self.transfer(4)
        self.assertContains(answer, "transferred to Branch")
        self.assertEqual((purchased(self.default), purchased(self.branch)), (6, 4))
        answer = self.transfer(7)
        self.assertContains(answer, "at most 6 can move")
        self.assertEqual(purchased(self.default), 6)
        other = make_account("OTHER").default_virtual_account
        answer = self.transfer(1, other)
        self.assertContains(answer, "Choose a local virtual account")
        self.assertEqual(purchased(other), 0)

    def test_a_viewer_cannot_transfer(self):
        self.client.force_login(self.viewer)
        page = self.client.get(reverse("licensing:inventory", args=["licenses"]) + self.query)
        self.assertNotContains(page, 'data-testid="license-transfer"')
        self.assertEqual(self.transfer(1).status_code, 404)
        self.assertEqual(purchased(self.branch), 0)

    def test_activity_lists_filters_and_exports_license_transactions(self):
        self.transfer(2)
        instance_va = self.branch
        registered(self.default, "pi37")
        services.transfer_instance(ProductInstance.objects.get(), instance_va)
        url = reverse("licensing:smart-licensing-tab", args=["activity"]) + self.query
        page = self.client.get(url + "&scope=account")
        self.assertContains(page, 'data-testid="license-transaction"', count=2)
        page = self.client.get(url + "&scope=account&kind=license")
        self.assertContains(page, 'data-testid="license-transaction"', count=1)
        self.assertContains(page, "License Transfer")
        page = self.client.get(url + "&scope=account&search=pi37")
        self.assertContains(page, 'data-testid="license-transaction"', count=1)
        page = self.client.get(url + "&view=events&search=transferred")
        self.assertContains(page, "transferred to Branch")
        page = self.client.get(url + "&end=2000-01-01&scope=account")
        self.assertContains(page, "No Records Found")
        page = self.client.get(url + "&start=nonsense")
        self.assertContains(page, "From must be a date such as 2026-12-31.")
        export = self.client.get(
            reverse("licensing:report-download", args=["license-transactions"])
            + self.query
            + "&scope=account&kind=product_instance"
        )
        rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
        self.assertEqual(rows[0][:3], ["Time", "Type", "License"])
        self.assertEqual({r[1] for r in rows[1:]}, {"Product Instance Transfer"})

    def test_reports_cover_a_virtual_account_or_the_whole_account_within_dates(self):
        registered(self.default, "pi37")
        registered(self.branch, "cucm-pub-30")
        base = reverse("licensing:report-download", args=["product-instances"]) + self.query

        def names(extra=""):
            answer = self.client.get(base + extra)
            self.assertEqual(answer.status_code, 200)
            rows = list(csv.reader(io.StringIO(b"".join(answer.streaming_content).decode())))
            return sorted(r[0] for r in rows[1:])

        self.assertEqual(names(), ["Default"])
        self.assertEqual(names("&scope=account"), ["Branch", "Default"])
        today = timezone.localdate().isoformat()
        self.assertEqual(names(f"&scope=account&start={today}&end={today}"), ["Branch", "Default"])
        self.assertEqual(names("&scope=account&end=2000-01-31"), [])
        answer = self.client.get(base + "&start=2026-12-31&end=2026-01-01", follow=True)
        self.assertContains(answer, "From must not be after To.")
        licenses = self.client.get(
            reverse("licensing:report-download", args=["licenses"]) + self.query + "&scope=account"
        )
        body = b"".join(licenses.streaming_content).decode()
        self.assertIn("Local Virtual Account,License,Entitlement Tag", body)
        self.assertIn("Default,", body)


class LicenseNameTests(TestCase):
    def test_one_name_per_tag_everywhere_csc_catalog_first(self):
        first, second = make_account("ONE"), make_account("TWO")
        purchase(first.default_virtual_account, PI_BASE, 1)
        PurchasedLicense.objects.filter(tag=PI_BASE).update(name="PI Base (from CSC)")
        client = gateway_client()
        device = registered(second.default_virtual_account, "pi37", client)
        client.authorize(device, [(PI_BASE, 1)])  # TWO uses it, never purchased it
        names = {
            r["name"]
            for va in (first.default_virtual_account, second.default_virtual_account)
            for r in services.license_rows(va)
        }
        self.assertEqual(names, {"PI Base (from CSC)"})
        self.assertEqual(services.license_name(PI_BASE), "PI Base (from CSC)")
        self.assertEqual(
            services.license_name(PI_LIFECYCLE), "Prime Infrastructure 3.x, Lifecycle Lic"
        )
        instance = ProductInstance.objects.get()
        page = self.client
        from tests.support.personas import make_user

        viewer = make_user("vera")
        grant(viewer, second, AccountRole.ACCOUNT_VIEWER)
        page.force_login(viewer)
        detail = page.get(reverse("licensing:instance-detail", args=[instance.pk]))
        self.assertContains(detail, "PI Base (from CSC)")
        self.assertNotContains(detail, f"<td>{PI_BASE}</td>")
