"""Account requests, users and roles against a real mock CSC process."""

from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import TestCase

from accounts import csc_client
from accounts.choices import AccountRequestStatus, AccountRole, AccountStatus, SystemRole
from accounts.models import AccountMembership, AccountRequest, LocalAccount
from accounts.services import (
    approve_account_request,
    create_account_request,
    create_user,
    create_virtual_account,
    reject_account_request,
    remove_account_role,
    satellite,
    set_account_role,
    set_system_role,
)
from core.choices import EventResult
from core.models import Event
from tests.accounts.helpers import CscPersonasMixin
from tests.support.personas import PersonaTestCase

PI_BASE = "regid.2017-03.com.cisco.PI_BASE,3.0"


class AccountRequestTests(CscPersonasMixin, TestCase):
    def request(self, **overrides):
        values = {
            "name": "TEST",
            "cisco_smart_account": "BU Production Test",
            "cisco_virtual_account": self.fresh_virtual_account(),
            "notification_email": "owner@example.com",
            "by_user": self.bob,
        }
        values.update(overrides)
        return create_account_request(**values)

    def test_approval_registers_with_csc_and_creates_the_account(self):
        account_request = self.request()
        with self.captureOnCommitCallbacks(execute=True):
            account = approve_account_request(account_request, self.admin)
        account_request.refresh_from_db()
        self.assertEqual(account_request.status, AccountRequestStatus.APPROVED)
        self.assertEqual(account_request.account, account)
        self.assertEqual(account.status, AccountStatus.ACTIVE)
        self.assertEqual(account.requested_by, self.bob)
        self.assertEqual(account.default_virtual_account.name, "Default")
        self.assertTrue(account.csc_registration_id and account.csc_secret)
        registrations = {r["registration_id"]: r for r in self.csc.registrations()}
        registration = registrations[account.csc_registration_id]
        self.assertEqual(registration["local_account"], "TEST")
        self.assertEqual(registration["server_id"], str(satellite().server_id))
        # The requester administers the new account and was told by e-mail.
        self.assertEqual(
            AccountMembership.objects.get(user=self.bob, account=account).role,
            AccountRole.ACCOUNT_ADMIN,
        )
        self.assertEqual(len(mail.outbox), 1)
        self.assertIn("approved", mail.outbox[0].subject)
        self.assertEqual(mail.outbox[0].to, ["owner@example.com"])
        self.assertTrue(Event.objects.filter(action="account_approved", account=account).exists())

    def test_a_bound_virtual_account_is_refused_with_the_reason(self):
        va = self.fresh_virtual_account()
        account_request = self.request(name="Second", cisco_virtual_account=va)
        self.registered_account(name="First", virtual_account=va)
        # Our side refuses it before asking CSC ...
        with self.assertRaisesMessage(ValidationError, "already used by local account First"):
            approve_account_request(account_request, self.admin)
        # ... and CSC refuses a virtual account bound by another server.
        account_request.cisco_virtual_account = "TEST"
        account_request.save()
        csc_client.register(
            smart_account="BU Production Test",
            virtual_account="TEST",
            local_account="Elsewhere",
            satellite_name="other-server",
            server_id="00000000-0000-0000-0000-000000000000",
        )
        with self.assertRaisesMessage(ValidationError, "already registered to local account"):
            approve_account_request(account_request, self.admin)
        account_request.refresh_from_db()
        self.assertEqual(account_request.status, AccountRequestStatus.PENDING)
        self.assertFalse(LocalAccount.objects.filter(name="Second").exists())
        self.assertTrue(
            Event.objects.filter(
                action="account_registration_failed", result=EventResult.FAILURE
            ).exists()
        )

    def test_unknown_virtual_account_is_refused(self):
        account_request = self.request(cisco_virtual_account="No Such VA")
        with self.assertRaisesMessage(ValidationError, "does not exist"):
            approve_account_request(account_request, self.admin)

    def test_csc_down_leaves_the_request_pending(self):
        account_request = self.request()
        self.csc.down()
        try:
            with self.assertRaisesMessage(ValidationError, "unreachable"):
                approve_account_request(account_request, self.admin)
        finally:
            self.csc.up()
        account_request.refresh_from_db()
        self.assertEqual(account_request.status, AccountRequestStatus.PENDING)
        # A retry succeeds.
        account = approve_account_request(account_request, self.admin)
        self.assertEqual(account.name, "TEST")

    def test_only_a_system_administrator_decides(self):
        account_request = self.request()
        for user in (self.operator, self.alice, self.bob):
            with self.assertRaises(PermissionDenied):
                approve_account_request(account_request, user)
            with self.assertRaises(PermissionDenied):
                reject_account_request(account_request, "no", user)

    def test_reject_with_reason_notifies_the_requester(self):
        account_request = self.request()
        with self.assertRaises(ValidationError):
            reject_account_request(account_request, "  ", self.admin)
        with self.captureOnCommitCallbacks(execute=True):
            reject_account_request(account_request, "Use the existing account", self.admin)
        account_request.refresh_from_db()
        self.assertEqual(account_request.status, AccountRequestStatus.REJECTED)
        self.assertEqual(account_request.reason, "Use the existing account")
        self.assertEqual(len(mail.outbox), 1)
        self.assertIn("Use the existing account", mail.outbox[0].body)
        with self.assertRaises(ValidationError):
            reject_account_request(account_request, "again", self.admin)

    def test_bad_input_is_refused_without_a_row(self):
        with self.assertRaises(ValidationError) as caught:
            self.request(name="", notification_email="not-an-email")
        self.assertIn("name", caught.exception.message_dict)
        self.assertIn("notification_email", caught.exception.message_dict)
        self.request(name="Dup")
        with self.assertRaisesMessage(ValidationError, "already pending"):
            self.request(name="dup")
        with self.assertRaisesMessage(ValidationError, "already exists"):
            self.request(name="AccountA")
        self.assertEqual(AccountRequest.objects.count(), 1)


class RoleServiceTests(PersonaTestCase):
    def test_account_roles_are_managed_by_account_admins(self):
        set_account_role(self.bob, self.account_a, AccountRole.ACCOUNT_VIEWER, self.alice)
        self.assertEqual(
            AccountMembership.objects.get(user=self.bob, account=self.account_a).role,
            AccountRole.ACCOUNT_VIEWER,
        )
        with self.assertRaises(PermissionDenied):
            set_account_role(self.bob, self.account_a, AccountRole.ACCOUNT_ADMIN, self.victor)
        with self.assertRaises(PermissionDenied):
            set_account_role(self.victor, self.account_b, AccountRole.ACCOUNT_ADMIN, self.alice)
        remove_account_role(self.bob, self.account_a, self.alice)
        with self.assertRaises(ValidationError):
            remove_account_role(self.bob, self.account_a, self.alice)
        self.assertEqual(
            list(Event.objects.filter(account=self.account_a).values_list("action", flat=True)),
            ["account_role_removed", "account_role_set"],
        )

    def test_system_roles_and_the_last_administrator(self):
        set_system_role(self.bob, SystemRole.SYSTEM_OPERATOR, self.admin)
        self.bob.refresh_from_db()
        from accounts.access import system_role

        self.assertEqual(system_role(self.bob), SystemRole.SYSTEM_OPERATOR)
        with self.assertRaises(PermissionDenied):
            set_system_role(self.alice, SystemRole.SYSTEM_ADMIN, self.operator)
        with self.assertRaisesMessage(ValidationError, "last system administrator"):
            set_system_role(self.admin, SystemRole.SYSTEM_USER, self.admin)
        set_system_role(self.alice, SystemRole.SYSTEM_ADMIN, self.admin)
        set_system_role(self.admin, SystemRole.SYSTEM_USER, self.alice)
        self.admin.refresh_from_db()
        self.assertFalse(self.admin.is_superuser)

    def test_create_user_validates(self):
        with self.assertRaises(ValidationError) as caught:
            create_user(username="carol", password="123", by_user=self.admin)
        self.assertIn("password", caught.exception.message_dict)
        with self.assertRaises(ValidationError):
            create_user(username="ALICE", password="Another-Good-Pass-42", by_user=self.admin)
        user = create_user(
            username="carol",
            password="Another-Good-Pass-42",
            system_role_value=SystemRole.SYSTEM_OPERATOR,
            by_user=self.admin,
        )
        self.assertEqual(user.ssm_profile.system_role, SystemRole.SYSTEM_OPERATOR)
        with self.assertRaises(PermissionDenied):
            create_user(username="dave", password="Another-Good-Pass-42", by_user=self.operator)

    def test_virtual_accounts(self):
        va = create_virtual_account(
            self.account_a, name="Lab", description="Lab", by_user=self.alice
        )
        self.assertFalse(va.is_default)
        with self.assertRaisesMessage(ValidationError, "already exists"):
            create_virtual_account(self.account_a, name="lab", by_user=self.alice)
        with self.assertRaises(PermissionDenied):
            create_virtual_account(self.account_a, name="X", by_user=self.victor)
        self.assertEqual(
            list(self.account_a.virtual_accounts.values_list("name", flat=True)),
            ["Default", "Lab"],
        )
