"""An account's lifecycle against the real mock CSC: a first synchronization queued on
approval, edit, deactivate (products refused with a clear code, no synchronization) and
reactivate, and standard versus full synchronization."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.test import TestCase
from django.urls import reverse

from accounts.choices import AccountStatus
from accounts.models import LocalAccount
from accounts.services import set_local_account_active, update_local_account
from core.models import Event
from licensing.simulator import Device, GatewayRefused
from synchronization.choices import SyncScope, SyncStatus, SyncTrigger
from synchronization.models import Synchronization
from synchronization.services import due_accounts, request_synchronization, run_synchronization
from tests.accounts.helpers import CscPersonasMixin
from tests.licensing.support import gateway_client, token_for


class AccountLifecycleTests(CscPersonasMixin, TestCase):
    csc_timeout = 2.0

    def csc_instances(self, account) -> list[str]:
        registration = next(
            r
            for r in self.csc.registrations()
            if r["registration_id"] == account.csc_registration_id
        )
        return sorted(registration["product_instances"])

    def sync(self, account, scope=SyncScope.STANDARD):
        with self.captureOnCommitCallbacks(execute=False):
            job = request_synchronization(account, self.alice, scope=scope)
        return run_synchronization(job.pk)

    def approved(self):
        """An approved account and the first synchronization its approval queued (run)."""
        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            account = self.registered_account()
        self.assertTrue(callbacks)
        first = Synchronization.objects.get(account=account)
        self.assertEqual((first.trigger, first.scope), (SyncTrigger.APPROVAL, SyncScope.FULL))
        run_synchronization(first.pk)
        return LocalAccount.objects.get(pk=account.pk)

    def test_approval_queues_a_first_full_synchronization(self):
        account = self.approved()
        job = Synchronization.objects.get(account=account)
        self.assertEqual(job.status, SyncStatus.SUCCEEDED, job.error)
        self.assertTrue(account.purchased_licenses.exists())  # licenses show at once
        self.assertTrue(
            Event.objects.filter(
                account=account, message__startswith="Full synchronization of"
            ).exists()
        )

    def test_standard_uploads_what_changed_and_full_everything(self):
        account = self.approved()
        va = account.default_virtual_account
        client, token = gateway_client(), token_for(va)
        devices = {sn: Device(sn=sn) for sn in ("pi1", "pi2", "pi3")}
        for device in devices.values():
            client.register(device, token.token)
        job = self.sync(account)
        self.assertEqual(job.scope, SyncScope.STANDARD)
        self.assertEqual(len(self.csc_instances(account)), 3)
        self.assertIn("Uploading 3 product instances changed since", str(job.log))
        # one product deregisters, one renews, one stays quiet: a standard sync sends two
        client.deregister(devices["pi1"])
        client.renew(devices["pi2"])
        job = self.sync(account)
        self.assertEqual(job.status, SyncStatus.SUCCEEDED, job.error)
        self.assertIn("Uploading 1 product instances changed since", str(job.log))
        self.assertIn("1 removed", str(job.log))
        names = self.csc_instances(account)
        self.assertEqual(len(names), 2)
        self.assertFalse(any("pi1" in n for n in names))
        # a full one sends all that are registered
        job = self.sync(account, SyncScope.FULL)
        self.assertIn("Uploading 2 product instances and", str(job.log))
        self.assertEqual(len(self.csc_instances(account)), 2)

    def test_deactivated_account_refuses_its_products_and_does_not_synchronize(self):
        account = self.approved()
        va = account.default_virtual_account
        client, token = gateway_client(), token_for(va)
        registered = Device(sn="pi37")
        client.register(registered, token.token)
        with self.assertRaises(PermissionDenied):
            set_local_account_active(account, False, by_user=self.alice)
        set_local_account_active(account, False, by_user=self.admin)
        self.assertEqual(LocalAccount.objects.get(pk=account.pk).status, AccountStatus.DEACTIVATED)
        for attempt in (
            lambda: client.register(Device(sn="pi99"), token.token),
            lambda: client.authorize(registered),
            lambda: client.renew(registered),
        ):
            with self.assertRaises(GatewayRefused) as refused:
                attempt()
            self.assertEqual(refused.exception.status, 403)
            self.assertEqual(refused.exception.body["error"]["code"], "account_deactivated")
        with self.assertRaisesMessage(ValidationError, "is deactivated"):
            request_synchronization(account, self.admin)
        self.assertNotIn(account, list(due_accounts()))
        # a synchronization result (CSC says active) does not undo it
        self.assertEqual(LocalAccount.objects.get(pk=account.pk).status, AccountStatus.DEACTIVATED)

        set_local_account_active(account, True, by_user=self.admin)
        client.authorize(registered)
        client.register(Device(sn="pi99"), token.token)
        self.assertEqual(self.sync(account).status, SyncStatus.SUCCEEDED)
        self.assertEqual(
            list(
                Event.objects.filter(action__in=["account_deactivated", "account_reactivated"])
                .order_by("id")
                .values_list("action", flat=True)
            ),
            ["account_deactivated", "account_reactivated"],
        )

    def test_deactivate_and_reactivate_from_the_account_page(self):
        account = self.approved()
        self.client.force_login(self.admin)
        url = reverse("accounts:account-action", args=[account.pk, "deactivate"])
        self.assertContains(self.client.get(url), "account_deactivated")
        response = self.client.post(url)
        self.assertRedirects(response, reverse("accounts:account-detail", args=[account.pk]))
        page = self.client.get(reverse("accounts:account-detail", args=[account.pk]))
        self.assertContains(page, "Deactivated")
        self.assertContains(page, 'data-testid="account-reactivate"')
        response = self.client.post(url)  # twice: refused with the reason
        self.assertContains(response, "is already deactivated", status_code=400)

    def test_edit_email_and_description(self):
        account = self.approved()
        with self.assertRaises(PermissionDenied):
            update_local_account(
                account, notification_email="x@example.com", description="", by_user=self.victor
            )
        self.client.force_login(self.alice)  # the account's administrator
        url = reverse("accounts:account-edit", args=[account.pk])
        response = self.client.post(url, {"notification_email": "bad", "description": "Plant"})
        self.assertContains(response, "Enter a valid email address.", status_code=400)
        response = self.client.post(
            url, {"notification_email": "noc@example.com", "description": "Osaka plant"}
        )
        self.assertRedirects(response, reverse("accounts:account-detail", args=[account.pk]))
        account.refresh_from_db()
        self.assertEqual((account.notification_email, account.description),
                         ("noc@example.com", "Osaka plant"))  # fmt: skip
        event = Event.objects.get(action="account_changed")
        self.assertIn("description -- → Osaka plant", event.message)
        self.assertEqual(event.user, self.alice)
