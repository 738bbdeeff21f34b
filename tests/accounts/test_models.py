"""Local accounts, virtual accounts, roles and their constraints."""

from django.db import IntegrityError, transaction
from django.http import Http404

from accounts.access import (
    accounts_for,
    can_manage,
    can_use,
    get_account_or_404,
    is_system_admin,
    system_role,
)
from accounts.choices import AccountRole, AccountStatus, SystemRole
from accounts.models import (
    DEFAULT_VIRTUAL_ACCOUNT_DESCRIPTION,
    AccountMembership,
    LocalAccount,
    VirtualAccount,
)
from tests.support.personas import PersonaTestCase, make_account


class LocalAccountTests(PersonaTestCase):
    def test_every_account_starts_with_the_default_virtual_account(self):
        default = self.account_a.default_virtual_account
        self.assertEqual(default.name, "Default")
        self.assertEqual(default.description, DEFAULT_VIRTUAL_ACCOUNT_DESCRIPTION)
        self.assertTrue(default.is_default)
        self.assertEqual(self.account_a.status, AccountStatus.ACTIVE)
        self.assertEqual(AccountStatus.ACTIVE.colour, "success")

    def test_one_local_account_per_cisco_virtual_account(self):
        with self.assertRaises(IntegrityError), transaction.atomic():
            make_account("Other", virtual_account=self.account_a.cisco_virtual_account)

    def test_only_one_default_virtual_account(self):
        with self.assertRaises(IntegrityError), transaction.atomic():
            VirtualAccount.objects.create(account=self.account_a, name="Second", is_default=True)

    def test_synchronization_due_is_thirty_days_after_the_last(self):
        from datetime import UTC, datetime, timedelta

        self.assertIsNone(self.account_a.synchronization_due)
        self.account_a.last_synchronized = datetime(2021, 6, 20, 18, 39, tzinfo=UTC)
        self.assertEqual(
            self.account_a.synchronization_due,
            datetime(2021, 6, 20, 18, 39, tzinfo=UTC) + timedelta(days=30),
        )


class AccessTests(PersonaTestCase):
    def test_system_roles(self):
        self.assertEqual(system_role(self.admin), SystemRole.SYSTEM_ADMIN)
        self.assertEqual(system_role(self.operator), SystemRole.SYSTEM_OPERATOR)
        self.assertEqual(system_role(self.bob), SystemRole.SYSTEM_USER)
        self.assertTrue(is_system_admin(self.admin))
        self.assertFalse(is_system_admin(self.operator))

    def test_account_scope(self):
        self.assertEqual(set(accounts_for(self.admin)), {self.account_a, self.account_b})
        self.assertEqual(set(accounts_for(self.operator)), {self.account_a, self.account_b})
        self.assertEqual(list(accounts_for(self.alice)), [self.account_a])
        self.assertEqual(list(accounts_for(self.victor)), [self.account_a])
        self.assertEqual(list(accounts_for(self.bob)), [self.account_b])

    def test_bob_gets_404_for_account_a(self):
        with self.assertRaises(Http404):
            get_account_or_404(self.bob, self.account_a.pk)
        with self.assertRaises(Http404):
            get_account_or_404(self.bob, "not-a-number")
        self.assertEqual(get_account_or_404(self.bob, self.account_b.pk), self.account_b)

    def test_role_capabilities(self):
        a = self.account_a
        self.assertTrue(can_manage(self.alice, a) and can_use(self.alice, a))
        self.assertFalse(can_use(self.victor, a))
        self.assertFalse(can_manage(self.victor, a))
        self.assertTrue(can_use(self.bob, self.account_b))
        self.assertFalse(can_manage(self.bob, self.account_b))
        self.assertTrue(can_manage(self.operator, a))

    def test_inactive_user_sees_nothing(self):
        self.alice.is_active = False
        self.assertEqual(list(accounts_for(self.alice)), [])

    def test_one_membership_per_user_and_account(self):
        with self.assertRaises(IntegrityError), transaction.atomic():
            AccountMembership.objects.create(
                user=self.alice, account=self.account_a, role=AccountRole.ACCOUNT_USER
            )
        self.assertEqual(LocalAccount.objects.count(), 2)
