"""The Admin Workspace's widgets, in the order the original shows them."""

from dataclasses import dataclass

from accounts.access import accounts_for, can_manage, is_system_admin, is_system_staff
from highavailability.services import ha_enabled


@dataclass(frozen=True)
class Widget:
    """One tile of the Admin Workspace and the page it opens."""

    name: str
    slug: str
    icon: str
    description: str
    url_name: str


WIDGETS = [
    Widget(
        "Access Management",
        "access-management",
        "bi-key",
        "Roles and account access for users",
        "accounts:access-management",
    ),
    Widget(
        "Security",
        "security",
        "bi-shield-lock",
        "Certificates, Host Common Name, password policy",
        "security:certificates",
    ),
    Widget(
        "Accounts",
        "accounts",
        "bi-people",
        "Local accounts and account requests",
        "accounts:account-list",
    ),
    Widget("Settings", "settings", "bi-gear", "Email server for notifications", "settings"),
    Widget("API Toolkit", "api-toolkit", "bi-tools", "OAuth2 API clients", "api-toolkit"),
    Widget(
        "Support Center",
        "support-center",
        "bi-heart-pulse",
        "System health and logs",
        "support-center",
    ),
    Widget(
        "High Availability",
        "high-availability",
        "bi-hdd-network",
        "Cluster status, nodes and VIP",
        "highavailability:host",
    ),
    Widget(
        "Synchronization",
        "synchronization",
        "bi-arrow-repeat",
        "Synchronization with Cisco",
        "synchronization:synchronization",
    ),
    Widget("Network", "network", "bi-globe", "Interfaces and routes", "network"),
    Widget("Users", "users", "bi-person", "Local users", "accounts:user-list"),
]


ADMIN_ONLY = {"security", "settings", "users"}
STAFF_ONLY = {"api-toolkit", "network"}


def visible_widgets(user) -> list[Widget]:
    """The tiles this user may open, and no other: Security, Settings and Users for system
    administrators, API Toolkit and Network for system staff, Access Management for those who
    manage an account, High Availability for system staff while HA is enabled."""
    hidden = set()
    if not is_system_admin(user):
        hidden |= ADMIN_ONLY
    if not is_system_staff(user):
        hidden |= STAFF_ONLY
        if not any(can_manage(user, account) for account in accounts_for(user)):
            hidden.add("access-management")
    if not (is_system_staff(user) and ha_enabled()):
        hidden.add("high-availability")
    return [w for w in WIDGETS if w.slug not in hidden]
