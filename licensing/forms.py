"""Forms of the Smart Licensing pages."""

from django import forms

from .models import AlertPreferences
from .services import MAX_TOKEN_USES, TOKEN_MAX_DAYS, TOKEN_MIN_DAYS


class RegistrationTokenForm(forms.Form):
    """Create Registration Token."""

    description = forms.CharField(max_length=200, required=False)
    expires_after_days = forms.IntegerField(
        label="Expire After (days)",
        min_value=TOKEN_MIN_DAYS,
        max_value=TOKEN_MAX_DAYS,
        initial=30,
    )
    max_uses = forms.IntegerField(
        label="Max. Number of Uses", min_value=1, max_value=MAX_TOKEN_USES, required=False
    )
    export_controlled = forms.BooleanField(
        label="Allow export-controlled functionality on the products registered with this token",
        required=False,
        initial=True,
    )


class TransferForm(forms.Form):
    """Transfer a product instance to another local virtual account."""

    virtual_account = forms.ModelChoiceField(queryset=None, label="Local Virtual Account")

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["virtual_account"].queryset = account.virtual_accounts.all()


class LicenseTransferForm(TransferForm):
    """Transfer a quantity of one purchased license to another local virtual account."""

    tag = forms.CharField(max_length=200)
    quantity = forms.IntegerField(min_value=1, max_value=10**9)


class ApiClientForm(forms.Form):
    """Create an API client (OAuth2 client credentials): the local accounts it may change
    (read and write) and those it may only read."""

    name = forms.CharField(max_length=100)
    accounts = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        label="Local Accounts: read and write",
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    read_only_accounts = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        label="Local Accounts: read only",
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args, accounts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["accounts"].queryset = accounts
        self.fields["read_only_accounts"].queryset = accounts


class AlertPreferencesForm(forms.ModelForm):
    """Preferences: who is e-mailed about which alerts, and after how many days."""

    not_reporting_days = forms.IntegerField(min_value=1, max_value=365)
    expiring_days = forms.IntegerField(min_value=1, max_value=365)
    sync_overdue_days = forms.IntegerField(min_value=1, max_value=365)

    class Meta:
        model = AlertPreferences
        fields = [
            "recipients",
            "insufficient_licenses",
            "not_reporting",
            "not_reporting_days",
            "expiring",
            "expiring_days",
            "synchronization",
            "sync_overdue_days",
            "daily_digest",
        ]
        widgets = {
            "recipients": forms.TextInput(
                attrs={"placeholder": "ops@example.com, noc@example.com"}
            ),
        }
