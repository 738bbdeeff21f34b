"""Convert to Smart Licensing against the real mock CSC: the classic (PAK) licenses listed,
a quantity converted, Purchased after the next synchronization, the history with statuses;
refusals (more than the PAK has left, CSC down, a viewer) convert nothing."""

from django.core.exceptions import PermissionDenied
from django.test import TestCase
from django.urls import reverse

from accounts.choices import AccountRole
from accounts.models import PurchasedLicense
from licensing import services
from licensing.models import Conversion
from synchronization.choices import SyncStatus
from synchronization.services import request_synchronization, run_synchronization
from tests.accounts.helpers import CscPersonasMixin
from tests.support.personas import grant

BASE = "regid.2017-03.com.cisco.PI_BASE,3.0"


class ConversionTests(CscPersonasMixin, TestCase):
    csc_timeout = 2.0

    def sync(self, account):
        with self.captureOnCommitCallbacks(execute=False):
            job = request_synchronization(account, self.alice)
        return run_synchronization(job.pk)

    def purchased(self, account, tag=BASE) -> int:
        row = PurchasedLicense.objects.filter(account=account, tag=tag).first()
        return row.quantity if row else 0

    def test_convert_then_purchased_after_the_next_synchronization(self):
        account = self.registered_account()
        self.assertEqual(self.sync(account).status, SyncStatus.SUCCEEDED)
        before = self.purchased(account)
        classic = {c["tag"]: c for c in services.convertible_licenses(account)}
        self.assertEqual(classic[BASE]["quantity"], 10)
        pak = classic[BASE]["pak"]
        record = services.convert_licenses(account, pak, BASE, 4, user=self.alice)
        self.assertEqual(record.status_for(account).value, "converted")
        left = {c["tag"]: c["quantity"] for c in services.convertible_licenses(account)}
        self.assertEqual(left[BASE], 6)
        self.assertEqual(self.purchased(account), before)  # not before a synchronization
        self.assertEqual(self.sync(account).status, SyncStatus.SUCCEEDED)
        account.refresh_from_db()
        self.assertEqual(self.purchased(account), before + 4)
        self.assertEqual(Conversion.objects.get().status_for(account).value, "purchased")
        with self.assertRaisesMessage(services.LicensingError, "has 6 of"):
            services.convert_licenses(account, pak, BASE, 7, user=self.alice)
        with self.assertRaisesMessage(services.LicensingError, "no convertible license"):
            services.convert_licenses(account, "NOPE", BASE, 1, user=self.alice)
        statuses = list(Conversion.objects.order_by("pk").values_list("status", flat=True))
        self.assertEqual(statuses, ["converted", "failed"])
        grant(self.victor, account, AccountRole.ACCOUNT_VIEWER)
        with self.assertRaises(PermissionDenied):
            services.convert_licenses(account, pak, BASE, 1, user=self.victor)
        self.assertEqual(
            {c["tag"]: c["quantity"] for c in services.convertible_licenses(account)}[BASE], 6
        )

    def test_the_tab_lists_converts_and_says_when_csc_is_down(self):
        account = self.registered_account()
        self.client.force_login(self.alice)
        query = f"?account={account.pk}&va={account.default_virtual_account.pk}"
        tab = reverse("licensing:smart-licensing-tab", args=["convert"]) + query
        page = self.client.get(tab)
        self.assertContains(page, 'data-testid="classic-license"', count=2)
        pak = services.convertible_licenses(account)[0]["pak"]
        answer = self.client.post(
            reverse("licensing:convert-licenses") + query,
            {"pak": pak, "tag": BASE, "quantity": "10"},
            follow=True,
        )
        self.assertContains(answer, "converted: Purchased after the next synchronization")
        self.assertContains(answer, 'data-testid="classic-license"', count=1)
        self.assertContains(answer, "Converted (Purchased after the next synchronization)")
        self.csc.fail("server_error")
        page = self.client.get(tab)
        self.assertContains(page, "The classic licenses could not be read")
        self.assertContains(page, 'data-testid="conversion"', count=1)
