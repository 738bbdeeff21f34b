"""The Synchronization page: one row per account, paged and searchable like every table,
and the live refresh keeps the page and the search it was asked for."""

from django.test import TestCase

from accounts.models import AccountRequest
from tests.support.personas import build_personas, make_account


class SynchronizationPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        build_personas(cls)
        for n in range(30):
            make_account(f"Plant{n:02d}")

    def test_accounts_are_paged_and_searchable(self):
        self.client.force_login(self.admin)
        first = self.client.get("/admin/synchronization/")
        self.assertContains(first, "Showing Page 1 of 2 (32 Records)")
        self.assertContains(first, "AccountA")
        self.assertNotContains(first, "Plant29")
        second = self.client.get("/admin/synchronization/", {"page": 2})
        self.assertContains(second, "Plant29")
        found = self.client.get("/admin/synchronization/", {"search": "plant1"})
        self.assertContains(found, "Showing Page 1 of 1 (10 Records)")
        self.assertNotContains(found, "AccountA")
        # an account administrator sees only the accounts they belong to
        self.client.force_login(self.alice)
        self.assertContains(self.client.get("/admin/synchronization/"), "(1 Records)")

    def test_account_requests_are_searchable(self):
        for name in ("North-Plant", "South-Office"):
            AccountRequest.objects.create(
                name=name, cisco_smart_account="BU Production Test", cisco_virtual_account=name,
                notification_email="x@example.com", requested_by=self.alice,
                requested_by_username="alice",
            )  # fmt: skip
        self.client.force_login(self.admin)
        found = self.client.get("/admin/accounts/requests/", {"search": "north"})
        self.assertContains(found, "North-Plant")
        self.assertNotContains(found, "South-Office")
        self.assertContains(found, "(1 Records)")
