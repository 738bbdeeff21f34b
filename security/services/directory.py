"""Security → Authentication: log-in with an LDAP or Active Directory server through
django-auth-ldap, configured here (not in the environment) so an administrator can change it,
and directory groups mapped to system and account roles. Local users never depend on it:
they log in first (ModelBackend), and a directory user can never take over a local one."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import ldap
from cryptography import x509
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django_auth_ldap.config import GroupOfNamesType, LDAPSearch
from ldap.filter import escape_filter_chars

from accounts.choices import AccountRole, SystemRole
from accounts.models import AccountMembership, LocalAccount, UserProfile
from core.choices import EventCategory
from core.services import open_secret, record_event, seal_secret

from ..models import DirectorySettings
from .common import SINGLETON

SECRET_PURPOSE = "directory-bind-password"
WHERE = "Security → Authentication"
TIMEOUT_SECONDS = 5  # a directory that does not answer delays a directory log-in this long
SYSTEM_ROLES = {r.label.lower(): r for r in SystemRole}
ACCOUNT_ROLES = {r.label.lower(): r for r in AccountRole}
ROLE_ORDER = [SystemRole.SYSTEM_USER, SystemRole.SYSTEM_OPERATOR, SystemRole.SYSTEM_ADMIN]


@dataclass(frozen=True)
class GroupMapping:
    """One line of the mappings: members of `group` get a system role, or a role in an account."""

    group: str
    system_role: SystemRole | None = None
    account: str = ""
    account_role: AccountRole | None = None


def directory_settings() -> DirectorySettings:
    """The directory settings (a blank, unsaved row until first saved)."""
    return DirectorySettings.objects.filter(pk=SINGLETON).first() or DirectorySettings(pk=SINGLETON)


def parse_mappings(text: str) -> list[GroupMapping]:
    """`GROUP DN => System Administrator` or `GROUP DN => ACCOUNT: Account Viewer`, one per
    line; a ValidationError names the first bad line."""
    mappings = []
    for number, raw in enumerate((text or "").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        group, arrow, target = line.partition("=>")
        group, target = group.strip(), target.strip()
        if not arrow or not group or not target:
            raise ValidationError(
                {"group_mappings": f"Line {number}: write GROUP DN => ROLE (or ACCOUNT: ROLE)."}
            )
        if target.lower() in SYSTEM_ROLES:
            mappings.append(GroupMapping(group.lower(), system_role=SYSTEM_ROLES[target.lower()]))
            continue
        account, colon, role = target.rpartition(":")
        role = role.strip().lower()
        if not colon or role not in ACCOUNT_ROLES:
            raise ValidationError(
                {
                    "group_mappings": f"Line {number}: {target!r} is neither a system role "
                    f"({', '.join(r.label for r in SystemRole)}) nor ACCOUNT: an account role "
                    f"({', '.join(r.label for r in AccountRole)})."
                }
            )
        if not LocalAccount.objects.filter(name__iexact=account.strip()).exists():
            raise ValidationError(
                {"group_mappings": f"Line {number}: there is no local account {account.strip()}."}
            )
        mappings.append(
            GroupMapping(group.lower(), account=account.strip(), account_role=ACCOUNT_ROLES[role])
        )
    return mappings


def save_directory_settings(*, bind_password=None, by_user=None, **values) -> DirectorySettings:
    """Save Security → Authentication (a bind password of None keeps the stored one)."""
    row = directory_settings()
    for field, value in values.items():
        setattr(row, field, value.strip() if isinstance(value, str) else value)
    errors = {}
    if row.server_uri and not row.server_uri.lower().startswith(("ldap://", "ldaps://")):
        errors["server_uri"] = "The server URL starts with ldap:// or ldaps://."
    if row.enabled and not (row.server_uri and row.user_search_base):
        errors["server_uri"] = "Directory log-in needs a server URL and a user search base."
    if row.user_filter and "%(user)s" not in row.user_filter:
        errors["user_filter"] = "The user filter must contain %(user)s."
    if row.ca_certificate:
        try:
            x509.load_pem_x509_certificates(row.ca_certificate.encode())
        except ValueError:
            errors["ca_certificate"] = "The CA certificate is not a PEM certificate."
    if errors:
        raise ValidationError(errors)
    parse_mappings(row.group_mappings)
    if bind_password is not None:
        row.bind_password_encrypted = seal_secret(SECRET_PURPOSE, bind_password)
    with transaction.atomic():
        row.save()
        record_event(
            EventCategory.SECURITY,
            "directory_settings_changed",
            f"Directory log-in {'enabled' if row.enabled else 'disabled'}"
            + (f" ({row.server_uri})" if row.server_uri else ""),
            user=by_user,
        )
    return row


def _ca_file(pem: str) -> str:
    """The CA certificate as a file (the LDAP library reads a path), named by its content."""
    folder = Path(settings.SSM_VAR) / "directory"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"ca-{hashlib.sha256(pem.encode()).hexdigest()[:16]}.crt"
    if not path.exists():
        path.write_text(pem)
    return str(path)


def connection_options(row: DirectorySettings) -> dict:
    """Time limits, and with a CA certificate TLS that verifies the server against it."""
    options = {ldap.OPT_NETWORK_TIMEOUT: TIMEOUT_SECONDS, ldap.OPT_TIMEOUT: TIMEOUT_SECONDS,
               ldap.OPT_REFERRALS: 0}  # fmt: skip
    if row.ca_certificate:
        options[ldap.OPT_X_TLS_CACERTFILE] = _ca_file(row.ca_certificate)
        options[ldap.OPT_X_TLS_REQUIRE_CERT] = ldap.OPT_X_TLS_DEMAND
        options[ldap.OPT_X_TLS_NEWCTX] = 0  # last: applies the TLS options above
    return options


def ldap_settings(row: DirectorySettings | None = None) -> dict:
    """django-auth-ldap's settings from the stored ones (AUTH_LDAP_* names without prefix)."""
    row = row or directory_settings()
    return {
        "SERVER_URI": row.server_uri,
        "START_TLS": row.start_tls,
        "BIND_DN": row.bind_dn,
        "BIND_PASSWORD": open_secret(SECRET_PURPOSE, row.bind_password_encrypted, where=WHERE),
        "USER_SEARCH": LDAPSearch(row.user_search_base, ldap.SCOPE_SUBTREE, row.user_filter),
        "GROUP_SEARCH": LDAPSearch(
            row.group_search_base or row.user_search_base,
            ldap.SCOPE_SUBTREE,
            "(objectClass=groupOfNames)",
        ),  # fmt: skip
        "GROUP_TYPE": GroupOfNamesType(),
        "USER_ATTR_MAP": {"first_name": "givenName", "last_name": "sn", "email": "mail"},
        "ALWAYS_UPDATE_USER": True,
        "CONNECTION_OPTIONS": connection_options(row),
    }


def is_local_user(username: str) -> bool:
    """A user of this server with its own password: never authenticated by the directory."""
    user = get_user_model().objects.filter(username__iexact=username).first()
    return user is not None and user.has_usable_password()


def apply_directory_roles(user, group_dns) -> None:
    """A directory user's roles from their groups at log-in: the highest mapped system role
    (System User without one), and for each account named in the mappings the highest role
    of their groups there (none: no access to it)."""
    groups = {dn.lower() for dn in group_dns}
    mappings = parse_mappings(directory_settings().group_mappings)
    roles = [m.system_role for m in mappings if m.system_role and m.group in groups]
    system_role = max(roles, key=ROLE_ORDER.index, default=SystemRole.SYSTEM_USER)
    changes = []
    with transaction.atomic():
        profile, _ = UserProfile.objects.get_or_create(user=user)
        if profile.system_role != system_role:
            profile.system_role = system_role
            profile.save(update_fields=["system_role"])
            changes.append(f"system role {system_role.label}")
        for account_name in sorted({m.account for m in mappings if m.account}):
            account = LocalAccount.objects.filter(name__iexact=account_name).first()
            if account is None:
                continue
            held = [m.account_role for m in mappings
                    if m.account == account_name and m.group in groups]  # fmt: skip
            role = max(held, key=list(AccountRole)[::-1].index, default=None)
            current = AccountMembership.objects.filter(user=user, account=account).first()
            if role is None and current is not None:
                current.delete()
                changes.append(f"no role in {account.name}")
            elif role is not None and (current is None or current.role != role):
                AccountMembership.objects.update_or_create(
                    user=user, account=account, defaults={"role": role}
                )
                changes.append(f"{role.label} of {account.name}")
        if changes:
            record_event(
                EventCategory.USER,
                "directory_roles_applied",
                f"User {user.username} (directory): {', '.join(changes)}",
                user=user,
                target=user.username,
            )


def _server_down(exc) -> str:
    detail = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    return detail.get("info") or detail.get("desc") or "no answer"


def test_directory(username: str = "") -> list[tuple[bool, str]]:
    """What the Test button says: connecting (and TLS), the bind, and a user lookup with the
    user's groups, each step's outcome; it stops at the first failure."""
    row = directory_settings()
    if not row.server_uri:
        return [(False, "No server URL: enter one and save first.")]
    who = row.bind_dn or "anonymous"
    connected = (True, f"Connected to {row.server_uri}" + (" (StartTLS)" if row.start_tls else ""))
    try:
        password = ldap_settings(row)["BIND_PASSWORD"]
        conn = ldap.initialize(row.server_uri)
        for option, value in connection_options(row).items():
            conn.set_option(option, value)
        if row.start_tls:
            conn.start_tls_s()
        conn.simple_bind_s(row.bind_dn, password)
    except ValidationError as exc:
        return [(False, exc.messages[0])]
    except ldap.INVALID_CREDENTIALS:
        return [connected, (False, f"Bind as {who} refused: wrong bind DN or password.")]
    except (ldap.SERVER_DOWN, ldap.CONNECT_ERROR) as exc:
        return [
            (
                False,
                f"Cannot connect to {row.server_uri}: {_server_down(exc)}. Check the address "
                "and port, that the server runs, and for TLS that the CA certificate is the "
                "one that signed the server's certificate.",
            )
        ]
    except ldap.LDAPError as exc:
        return [(False, f"The directory answered an error: {exc}")]
    steps = [connected, (True, f"Bound as {who}")]
    if not username:
        return steps
    try:
        found = conn.search_s(
            row.user_search_base, ldap.SCOPE_SUBTREE,
            row.user_filter % {"user": escape_filter_chars(username)}, ["dn"],
        )  # fmt: skip
        found = [dn for dn, _ in found if dn]
        if not found:
            filter_ = row.user_filter
            steps.append((False, f"No user {username} under {row.user_search_base} ({filter_})."))
            return steps
        groups = conn.search_s(
            row.group_search_base or row.user_search_base, ldap.SCOPE_SUBTREE,
            f"(&(objectClass=groupOfNames)(member={escape_filter_chars(found[0])}))", ["cn"],
        )  # fmt: skip
    except ldap.LDAPError as exc:
        steps.append((False, f"User lookup failed: {exc}"))
        return steps
    names = "; ".join(dn for dn, _ in groups if dn) or "none"
    steps.append((True, f"Found {found[0]}; groups: {names}"))
    return steps
