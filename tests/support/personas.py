"""Access-control personas shared by every app's tests.

- `admin`: System Administrator (sees and does everything)
- `operator`: System Operator (sees every account, cannot manage users or approve requests)
- `alice`: Account Administrator of account A
- `victor`: Account Viewer of account A
- `bob`: Account User of account B, who must see nothing of account A (404s)

Accounts A and B are plain local accounts with their "Default" virtual account; they are
not registered with CSC (tests that need a registration use tests.support.csc).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.test import TestCase

from accounts.choices import AccountRole, SystemRole
from accounts.models import AccountMembership, UserProfile
from accounts.services import create_local_account

PASSWORD = "Correct-Horse-Battery-9"


_hashes: dict[str, str] = {}


def _hashed(password: str) -> str:
    """Hash each persona password once per test process (hashing is slow on purpose)."""
    if password not in _hashes:
        _hashes[password] = make_password(password)
    return _hashes[password]


def make_user(username, system_role=SystemRole.SYSTEM_USER, *, password=PASSWORD):
    """A user with a system role (System Administrator users are Django superusers)."""
    admin = system_role == SystemRole.SYSTEM_ADMIN
    user = get_user_model().objects.create(
        username=username,
        email=f"{username}@example.com",
        password=_hashed(password),
        is_superuser=admin,
        is_staff=admin,
    )
    UserProfile.objects.create(user=user, system_role=system_role)
    return user


def make_account(name, *, smart_account="BU Production Test", virtual_account=None, **fields):
    """A local account (with its Default virtual account), not registered with CSC."""
    return create_local_account(
        name=name,
        cisco_smart_account=smart_account,
        cisco_virtual_account=virtual_account or f"VA {name}",
        notification_email=f"{name.lower()}@example.com",
        **fields,
    )


def grant(user, account, role):
    """Give a user a role in an account."""
    return AccountMembership.objects.create(user=user, account=account, role=role)


def build_personas(target):
    """Create the personas and accounts as attributes of `target` (a test class)."""
    target.password = PASSWORD
    target.admin = make_user("admin", SystemRole.SYSTEM_ADMIN)
    target.operator = make_user("operator", SystemRole.SYSTEM_OPERATOR)
    target.alice = make_user("alice")
    target.victor = make_user("victor")
    target.bob = make_user("bob")
    target.account_a = make_account("AccountA")
    target.account_b = make_account("AccountB")
    grant(target.alice, target.account_a, AccountRole.ACCOUNT_ADMIN)
    grant(target.victor, target.account_a, AccountRole.ACCOUNT_VIEWER)
    grant(target.bob, target.account_b, AccountRole.ACCOUNT_USER)


class PersonasMixin:
    """Adds the personas in setUpTestData; combine with TestCase (see PersonaTestCase)."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        build_personas(cls)

    def login(self, user):
        self.client.force_login(user)
        return self.client


class PersonaTestCase(PersonasMixin, TestCase):
    """TestCase with admin, operator, alice (admin of A), victor (viewer of A), bob (user of B)."""
