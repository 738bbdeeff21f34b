"""Forms of the Accounts, Synchronization, Users, Access Management and Event Log pages."""

from django import forms
from django.contrib.auth import get_user_model

from core.choices import EventCategory, EventResult

from .choices import AccountRole, SystemRole


class AccountRequestForm(forms.Form):
    """New Account: becomes an account request for a system administrator."""

    name = forms.CharField(label="Local Account Name", max_length=100)
    cisco_smart_account = forms.CharField(label="Cisco Smart Account", max_length=100)
    cisco_virtual_account = forms.CharField(label="Cisco Virtual Account", max_length=100)
    notification_email = forms.EmailField(label="Email for Notification")


class LocalAccountEditForm(forms.Form):
    """An account's e-mail for notification and description."""

    notification_email = forms.EmailField(label="Email for Notification")
    description = forms.CharField(max_length=300, required=False)


class RejectForm(forms.Form):
    """Reject an account request with a reason."""

    reason = forms.CharField(label="Reason", max_length=2000)


class VirtualAccountForm(forms.Form):
    """New local virtual account."""

    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=300, required=False)


class UserCreateForm(forms.Form):
    """New local user with a system role."""

    username = forms.CharField(label="User Name", max_length=150)
    email = forms.EmailField(required=False)
    password = forms.CharField(widget=forms.PasswordInput, strip=False)
    system_role = forms.ChoiceField(choices=SystemRole.choices, initial=SystemRole.SYSTEM_USER)


class UserEditForm(forms.Form):
    """A user's name and e-mail (the user name never changes)."""

    first_name = forms.CharField(label="First Name", max_length=150, required=False)
    last_name = forms.CharField(label="Last Name", max_length=150, required=False)
    email = forms.EmailField(label="Email", required=False)


class SystemRoleForm(forms.Form):
    """Change a user's system role."""

    system_role = forms.ChoiceField(choices=SystemRole.choices)


class MembershipForm(forms.Form):
    """Give a user (by user name) a role in an account."""

    username = forms.CharField(label="User Name", max_length=150)
    role = forms.ChoiceField(choices=AccountRole.choices)

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username__iexact=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"No active user named {username}.")
        self.cleaned_data["user"] = user
        return username


class EventFilterForm(forms.Form):
    """Event Log filters."""

    search = forms.CharField(required=False)
    category = forms.ChoiceField(
        choices=[("", "All categories"), *EventCategory.choices], required=False
    )
    result = forms.ChoiceField(choices=[("", "All results"), *EventResult.choices], required=False)
    account = forms.CharField(required=False)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
