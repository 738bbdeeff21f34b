"""The directory log-in backend: django-auth-ldap with the settings of Security →
Authentication, read from the database at each log-in (no restart when they change)."""

from django_auth_ldap.backend import LDAPBackend, LDAPSettings

from .services import directory


class DirectoryBackend(LDAPBackend):
    """Authenticates directory users when directory log-in is enabled. Never a local user
    (one with a password of this server): those are ModelBackend's alone, so a directory
    entry of the same name cannot take over an account such as `admin`."""

    settings_prefix = "SSM_DIRECTORY_UNUSED_"  # nothing comes from Django's settings

    def authenticate(self, request, username=None, password=None, **kwargs):
        row = directory.directory_settings()
        if not (row.enabled and username and password) or directory.is_local_user(username):
            return None
        self.settings = LDAPSettings(self.settings_prefix, directory.ldap_settings(row))
        return super().authenticate(request, username=username, password=password, **kwargs)

    def ldap_to_django_username(self, username):
        return username.lower()

    def authenticate_ldap_user(self, ldap_user, password):
        user = super().authenticate_ldap_user(ldap_user, password)
        if user is not None:
            directory.apply_directory_roles(user, ldap_user.group_dns)
        return user
