"""The Admin Workspace's widgets, in the order the original shows them."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Widget:
    """One tile of the Admin Workspace; url_name is None until its widget is built."""

    name: str
    slug: str
    icon: str
    description: str
    url_name: str | None = None


WIDGETS = [
    Widget("Access Management", "access-management", "🔑", "Roles and account access for users"),
    Widget("Security", "security", "🛡", "Certificates, Host Common Name, password policy"),
    Widget("Accounts", "accounts", "👥", "Local accounts and account requests"),
    Widget("Settings", "settings", "⚙", "Server settings, proxy, mail"),
    Widget("API Toolkit", "api-toolkit", "🧰", "OAuth2 API clients"),
    Widget("Support Center", "support-center", "🩺", "System health and logs", "support-center"),
    Widget("High Availability", "high-availability", "🖧", "Cluster status, nodes and VIP"),
    Widget("Synchronization", "synchronization", "🔄", "Synchronization with Cisco"),
    Widget("Network", "network", "🌐", "Interfaces and routes"),
    Widget("Users", "users", "👤", "Local users"),
]


def widget(slug: str) -> Widget | None:
    """The widget with this slug, or None."""
    return next((w for w in WIDGETS if w.slug == slug), None)
