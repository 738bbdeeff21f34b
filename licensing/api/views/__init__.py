"""The licensing API: a local account's virtual accounts, registration tokens, product
instances, licenses, transfers, usage and events, for API Toolkit clients (bearer token, with
a read or write scope per account) and signed-in users (their roles)."""

from .accounts import (
    AlertsAPIView,
    EventsAPIView,
    LicenseTransactionsAPIView,
    UsageAPIView,
    VirtualAccountsAPIView,
)
from .instances import (
    ProductInstanceAPIView,
    ProductInstancesAPIView,
    ProductInstanceTransferAPIView,
)
from .licenses import AccountLicensesAPIView, LicensesAPIView, LicenseTransferAPIView
from .oauth import oauth_token
from .tokens import TokenAPIView, TokensAPIView

__all__ = [
    "AlertsAPIView",
    "AccountLicensesAPIView",
    "EventsAPIView",
    "LicenseTransactionsAPIView",
    "LicenseTransferAPIView",
    "LicensesAPIView",
    "ProductInstanceAPIView",
    "ProductInstanceTransferAPIView",
    "ProductInstancesAPIView",
    "TokenAPIView",
    "TokensAPIView",
    "UsageAPIView",
    "VirtualAccountsAPIView",
    "oauth_token",
]
