"""Pages of the accounts app: role and account scope enforced on the server."""

from django.core import mail
from django.test import TestCase
from django.urls import reverse

from accounts.choices import AccountRequestStatus, AccountRole, SystemRole
from accounts.models import AccountMembership, AccountRequest, LocalAccount
from core.choices import EventCategory
from core.models import Event
from core.services import record_event
from tests.accounts.helpers import CscPersonasMixin
from tests.support.personas import PersonaTestCase

NEW_ACCOUNT = {
    "name": "TEST",
    "cisco_smart_account": "BU Production Test",
    "cisco_virtual_account": "TEST",
    "notification_email": "owner@example.com",
}


class AccountPagesTests(PersonaTestCase):
    def test_login_required(self):
        for name in (
            "accounts:account-list",
            "synchronization:synchronization",
            "accounts:user-list",
            "accounts:event-log",
        ):
            response = self.client.get(reverse(name))
            self.assertEqual(response.status_code, 302, name)
            self.assertIn("/login/", response["Location"])

    def test_account_list_is_scoped_and_searchable(self):
        self.login(self.bob)
        page = self.client.get(reverse("accounts:account-list")).content.decode()
        self.assertIn("AccountB", page)
        self.assertNotIn("AccountA", page)
        self.login(self.admin)
        page = self.client.get(reverse("accounts:account-list"), {"search": "countb"})
        self.assertContains(page, "AccountB")
        self.assertNotContains(page, "AccountA")
        self.assertContains(page, "Showing Page 1 of 1 (1 Records)")
        for column in ("Requested By", "Cisco Smart Account", "Cisco Virtual Account"):
            self.assertContains(page, column)
        self.assertContains(page, 'class="badge text-bg-success"')

    def test_bob_gets_404_for_everything_of_account_a(self):
        self.login(self.bob)
        a = self.account_a.pk
        for url, method in [
            (reverse("accounts:account-detail", args=[a]), "get"),
            (reverse("accounts:account-detail", args=[a]), "post"),
            (reverse("accounts:account-delete", args=[a]), "get"),
            (reverse("synchronization:synchronize-now", args=[a]), "post"),
            (reverse("synchronization:manual-request", args=[a]), "post"),
            (reverse("synchronization:sync-mode", args=[a]), "post"),
            (reverse("synchronization:manual-response", args=[a]), "post"),
            (reverse("accounts:access-management") + f"?account={a}", "get"),
        ]:
            if method == "post":
                response = self.client.post(url, {"name": "X"})
            else:
                response = self.client.get(url)
            self.assertEqual(response.status_code, 404, url)

    def test_viewer_sees_but_cannot_change(self):
        self.login(self.victor)
        url = reverse("accounts:account-detail", args=[self.account_a.pk])
        page = self.client.get(url)
        self.assertContains(page, "Local Virtual Accounts")
        self.assertContains(page, "This is the default virtual account created during company")
        self.assertNotContains(page, "New Virtual Account")
        self.assertEqual(self.client.post(url, {"name": "Lab"}).status_code, 403)
        self.assertEqual(self.account_a.virtual_accounts.count(), 1)
        self.assertEqual(
            self.client.post(
                reverse("synchronization:synchronize-now", args=[self.account_a.pk])
            ).status_code,
            403,
        )

    def test_account_admin_creates_a_virtual_account(self):
        self.login(self.alice)
        url = reverse("accounts:account-detail", args=[self.account_a.pk])
        response = self.client.post(url, {"name": "Lab", "description": "Lab devices"})
        self.assertRedirects(response, url)
        self.assertTrue(self.account_a.virtual_accounts.filter(name="Lab").exists())
        response = self.client.post(url, {"name": "lab"})
        self.assertContains(response, "already exists", status_code=400)

    def test_new_account_request(self):
        self.login(self.bob)
        response = self.client.post(reverse("accounts:request-create"), NEW_ACCOUNT)
        self.assertRedirects(response, reverse("accounts:request-list"))
        account_request = AccountRequest.objects.get()
        self.assertEqual(account_request.requested_by, self.bob)
        self.assertEqual(account_request.status, AccountRequestStatus.PENDING)
        page = self.client.get(reverse("accounts:request-list"))
        self.assertContains(page, "Pending Approval")
        self.assertNotContains(page, 'data-testid="approve"')

    def test_new_account_bad_input_is_a_400_without_a_row(self):
        self.login(self.bob)
        response = self.client.post(
            reverse("accounts:request-create"), {**NEW_ACCOUNT, "notification_email": "nope"}
        )
        self.assertContains(response, "Enter a valid email address", status_code=400)
        response = self.client.post(
            reverse("accounts:request-create"), {**NEW_ACCOUNT, "name": "AccountA"}
        )
        self.assertContains(response, "already exists", status_code=400)
        self.assertFalse(AccountRequest.objects.exists())

    def test_only_system_administrators_decide_requests(self):
        self.login(self.bob)
        self.client.post(reverse("accounts:request-create"), NEW_ACCOUNT)
        account_request = AccountRequest.objects.get()
        self.login(self.alice)
        self.assertContains(self.client.get(reverse("accounts:request-list")), "No Records Found")
        for name in ("request-approve", "request-reject"):
            response = self.client.post(
                reverse(f"accounts:{name}", args=[account_request.pk]), {"reason": "x"}
            )
            self.assertEqual(response.status_code, 403)
        self.login(self.operator)
        response = self.client.post(reverse("accounts:request-approve", args=[account_request.pk]))
        self.assertEqual(response.status_code, 403)
        account_request.refresh_from_db()
        self.assertEqual(account_request.status, AccountRequestStatus.PENDING)

    def test_reject_from_the_page(self):
        self.login(self.bob)
        self.client.post(reverse("accounts:request-create"), NEW_ACCOUNT)
        account_request = AccountRequest.objects.get()
        self.login(self.admin)
        page = self.client.get(reverse("accounts:request-list"))
        self.assertContains(page, 'data-testid="approve"')
        self.assertContains(page, 'data-testid="pending-count">1</span>')
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(
                reverse("accounts:request-reject", args=[account_request.pk]),
                {"reason": "Duplicate of AccountB"},
                follow=True,
            )
        self.assertContains(response, "rejected")
        account_request.refresh_from_db()
        self.assertEqual(account_request.status, AccountRequestStatus.REJECTED)
        self.assertEqual(len(mail.outbox), 1)

    def test_users_page_is_for_system_administrators(self):
        for user in (self.operator, self.alice, self.bob):
            self.login(user)
            self.assertEqual(self.client.get(reverse("accounts:user-list")).status_code, 403)
        self.login(self.admin)
        page = self.client.get(reverse("accounts:user-list"))
        self.assertContains(page, "System Operator")
        self.assertContains(page, "AccountA: Account Viewer")
        response = self.client.post(
            reverse("accounts:user-list"),
            {
                "username": "carol",
                "email": "",
                "password": "Another-Good-Pass-42",
                "system_role": "system_user",
            },
        )
        self.assertRedirects(response, reverse("accounts:user-list"))
        response = self.client.post(
            reverse("accounts:user-list"),
            {"username": "dave", "email": "", "password": "short", "system_role": "system_user"},
        )
        self.assertEqual(response.status_code, 400)
        response = self.client.post(
            reverse("accounts:user-role", args=[self.bob.pk]),
            {"system_role": SystemRole.SYSTEM_OPERATOR},
        )
        self.assertRedirects(response, reverse("accounts:user-list"))
        self.bob.refresh_from_db()
        self.assertEqual(self.bob.ssm_profile.system_role, SystemRole.SYSTEM_OPERATOR)

    def test_access_management(self):
        self.login(self.alice)
        url = reverse("accounts:access-management")
        page = self.client.get(url)
        self.assertContains(page, "victor")
        response = self.client.post(
            url,
            {"account": self.account_a.pk, "username": "bob", "role": AccountRole.ACCOUNT_VIEWER},
        )
        self.assertEqual(response.status_code, 302)
        self.assertTrue(
            AccountMembership.objects.filter(user=self.bob, account=self.account_a).exists()
        )
        response = self.client.post(
            url, {"account": self.account_a.pk, "username": "nobody", "role": "account_user"}
        )
        self.assertContains(response, "No active user named nobody", status_code=400)
        response = self.client.post(
            url, {"account": self.account_a.pk, "action": "remove", "user": self.bob.pk}
        )
        self.assertFalse(
            AccountMembership.objects.filter(user=self.bob, account=self.account_a).exists()
        )
        self.login(self.victor)
        self.assertEqual(self.client.get(url + f"?account={self.account_a.pk}").status_code, 403)
        self.assertContains(self.client.get(url), "You administer no local account")

    def test_event_log_scope_and_filters(self):
        record_event(EventCategory.ACCOUNT, "test", "Secret change of A", account=self.account_a)
        record_event(EventCategory.SYNCHRONIZATION, "test", "Sync of B", account=self.account_b)
        record_event(EventCategory.SYSTEM, "test", "System-wide thing")
        self.login(self.bob)
        page = self.client.get(reverse("accounts:event-log"))
        self.assertContains(page, "Sync of B")
        self.assertNotContains(page, "Secret change of A")
        self.assertNotContains(page, "System-wide thing")
        self.login(self.admin)
        page = self.client.get(reverse("accounts:event-log"), {"category": "synchronization"})
        self.assertContains(page, "Sync of B")
        self.assertNotContains(page, "Secret change of A")
        page = self.client.get(
            reverse("accounts:event-log"), {"account": "accounta", "search": "secret"}
        )
        self.assertContains(page, "Secret change of A")
        self.assertContains(page, "(1 Records)")
        page = self.client.get(reverse("accounts:event-log"), {"since": "not-a-date"})
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "Enter a valid date")
        self.assertEqual(Event.objects.exclude(action="logged_in").count(), 3)

    def test_synchronization_page(self):
        self.login(self.bob)
        page = self.client.get(reverse("synchronization:synchronization"))
        for column in (
            "Name",
            "Satellite Name",
            "Last Synchronization",
            "Synchronization Due",
            "Alerts",
        ):
            self.assertContains(page, f"<th>{column}</th>", html=False)
        self.assertContains(page, 'data-account="AccountB"')
        self.assertNotContains(page, 'data-account="AccountA"')
        partial = self.client.get(
            reverse("synchronization:synchronization"), headers={"HX-Request": "true"}
        )
        self.assertContains(partial, 'id="sync-live"')
        self.assertNotContains(partial, "<html")
        self.assertEqual(
            self.client.post(
                reverse("synchronization:synchronize-now", args=[self.account_b.pk])
            ).status_code,
            403,
        )
        self.login(self.alice)
        response = self.client.post(
            reverse("synchronization:synchronize-now", args=[self.account_a.pk]), follow=True
        )
        self.assertContains(response, "not registered with Cisco Software Central")

    def test_a_running_job_shows_one_progress_on_the_whole_page(self):
        from synchronization.models import Synchronization
        from synchronization.services.jobs import progress

        job = Synchronization.objects.create(account=self.account_a, status="running")
        progress(job.pk, 15, "Collecting product instances and usage")
        job.refresh_from_db()
        self.assertEqual((job.progress, job.log[-1]["message"]),
                         (15, "Collecting product instances and usage"))  # fmt: skip
        self.login(self.alice)
        page = self.client.get(reverse("synchronization:synchronization"))
        row = next(r for r in page.context["rows"] if r["account"] == self.account_a)
        recent = next(j for j in page.context["jobs"] if j.pk == job.pk)
        self.assertIs(row["job"], recent)  # one snapshot: the row and Recent agree
        self.assertContains(page, "Running · 15%")

    def test_workspace_tiles_link_to_the_widgets(self):
        self.login(self.admin)
        page = self.client.get(reverse("admin-workspace"))
        for name in (
            "accounts:account-list",
            "synchronization:synchronization",
            "accounts:user-list",
            "accounts:access-management",
        ):
            self.assertContains(page, reverse(name))


class ApproveFromThePageTests(CscPersonasMixin, TestCase):
    def test_approve_registers_and_failure_is_shown(self):
        va = self.fresh_virtual_account()
        self.login(self.bob)
        self.client.post(
            reverse("accounts:request-create"), {**NEW_ACCOUNT, "cisco_virtual_account": va}
        )
        account_request = AccountRequest.objects.get()
        self.login(self.admin)
        self.csc.fail("server_error")
        response = self.client.post(
            reverse("accounts:request-approve", args=[account_request.pk]), follow=True
        )
        self.assertContains(response, "was not approved")
        self.assertContains(response, "HTTP 503")
        self.csc.heal()
        response = self.client.post(
            reverse("accounts:request-approve", args=[account_request.pk]), follow=True
        )
        self.assertContains(response, "approved and registered")
        account = LocalAccount.objects.get(name="TEST")
        self.assertTrue(account.csc_registration_id)
        page = self.client.get(reverse("accounts:account-list"))
        self.assertContains(page, "TEST")
        self.assertContains(page, "bob")
