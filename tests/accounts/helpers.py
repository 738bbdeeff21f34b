"""Builders shared by the accounts tests: a mock CSC per test class and registered accounts."""

import itertools

from django.core import mail

from accounts.services import approve_account_request, create_account_request
from tests.support.csc import CscServer
from tests.support.personas import PersonasMixin

_names = itertools.count(1)


class CscMixin:
    """Starts one real mock CSC process for the class and points settings at it."""

    csc_timeout = 3.0

    @classmethod
    def setUpClass(cls):
        cls.csc = CscServer(cls.__name__.lower()).start()
        cls._csc_settings = cls.csc.settings(timeout=cls.csc_timeout)
        cls._csc_settings.enable()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls._csc_settings.disable()
        cls.csc.stop()

    def setUp(self):
        super().setUp()
        self.csc.heal()
        mail.outbox = []

    def fresh_virtual_account(self, licenses=None) -> str:
        """A new virtual account in the mock CSC (one local account per virtual account)."""
        name = f"VA-{next(_names)}"
        self.csc.add_virtual_account(name, licenses=licenses)
        return name

    def registered_account(self, name=None, virtual_account=None, by_user=None):
        """A local account requested by alice and approved by admin (registered with CSC)."""
        name = name or f"Acct{next(_names)}"
        request = create_account_request(
            name=name,
            cisco_smart_account="BU Production Test",
            cisco_virtual_account=virtual_account or self.fresh_virtual_account(),
            notification_email="owner@example.com",
            by_user=by_user or self.alice,
        )
        return approve_account_request(request, self.admin)


class CscPersonasMixin(CscMixin, PersonasMixin):
    """The mock CSC and the personas together."""
