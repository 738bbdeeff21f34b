"""Forms of the Security widget."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from .models import DirectorySettings, PasswordPolicy


class HostCommonNameForm(forms.Form):
    """Security → Certificates → Host Common Name."""

    name = forms.CharField(
        label="Host Common Name",
        max_length=253,
        help_text="The IP address or fully qualified domain name products are configured with.",
    )


class BrowserCsrForm(forms.Form):
    """Generate a certificate signing request for the Browser Certificate."""

    common_name = forms.CharField(label="Common Name", max_length=253)
    subject_alternative_names = forms.CharField(
        label="Subject Alternative Names",
        required=False,
        help_text="Other names and addresses of this server, separated by commas or spaces.",
    )
    organization = forms.CharField(label="Organization", max_length=64, required=False)
    organizational_unit = forms.CharField(
        label="Organizational Unit", max_length=64, required=False
    )
    locality = forms.CharField(label="City / Locality", max_length=128, required=False)
    state = forms.CharField(label="State / Province", max_length=128, required=False)
    country = forms.CharField(label="Country (2 letters)", max_length=2, required=False)

    def sans(self) -> list[str]:
        raw = self.cleaned_data.get("subject_alternative_names") or ""
        return [v for v in raw.replace(",", " ").split() if v]


class CertificateUploadForm(forms.Form):
    """Add a signed Browser Certificate and its chain (paste PEM or choose files)."""

    certificate = forms.CharField(
        label="Signed certificate (PEM)", widget=forms.Textarea, required=False
    )
    certificate_file = forms.FileField(label="…or certificate file", required=False)
    chain = forms.CharField(
        label="CA chain (PEM: intermediate and root certificates)",
        widget=forms.Textarea,
        required=False,
    )
    chain_file = forms.FileField(label="…or chain file", required=False)

    @staticmethod
    def _text(upload, pasted):
        if upload is not None:
            if upload.size > 256 * 1024:
                raise forms.ValidationError(
                    "The file is larger than 256 KB; upload PEM certificates."
                )
            return upload.read().decode("utf-8", errors="replace")
        return pasted or ""

    def clean(self):
        data = super().clean()
        data["certificate_pem"] = self._text(data.get("certificate_file"), data.get("certificate"))
        data["chain_pem"] = self._text(data.get("chain_file"), data.get("chain"))
        if not data["certificate_pem"].strip():
            raise forms.ValidationError("Paste or choose the signed certificate.")
        return data


class CACertificateForm(forms.Form):
    """Add a trusted CA certificate."""

    pem = forms.CharField(label="CA certificate (PEM)", widget=forms.Textarea)


class PasswordPolicyForm(forms.ModelForm):
    """Account Password policy."""

    class Meta:
        model = PasswordPolicy
        fields = ["min_length", "history", "max_age_days", "lockout_threshold", "lockout_minutes"]


class DirectorySettingsForm(forms.ModelForm):
    """Security → Authentication: the directory server, its search bases and group mappings."""

    bind_password = forms.CharField(
        label="Bind Password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep the stored one.",
    )
    field_order = ["enabled", "server_uri", "start_tls", "ca_certificate", "bind_dn",
                   "bind_password"]  # fmt: skip

    class Meta:
        model = DirectorySettings
        fields = [
            "enabled", "server_uri", "start_tls", "ca_certificate", "bind_dn", "user_search_base",
            "user_filter", "group_search_base", "group_mappings",
        ]  # fmt: skip
        widgets = {
            "ca_certificate": forms.Textarea(attrs={"rows": 4}),
            "group_mappings": forms.Textarea(attrs={"rows": 4}),
        }


class DirectoryTestForm(forms.Form):
    """The Test button: a bind, and a lookup of this user (optional)."""

    username = forms.CharField(label="User to look up", max_length=150, required=False)


class AdminSetPasswordForm(forms.Form):
    """An administrator sets a user's password (checked against the policy)."""

    username = forms.CharField(label="User", max_length=150)
    new_password1 = forms.CharField(label="New password", widget=forms.PasswordInput)
    new_password2 = forms.CharField(label="New password again", widget=forms.PasswordInput)

    def clean(self):
        data = super().clean()
        if data.get("new_password1") != data.get("new_password2"):
            raise forms.ValidationError("The two passwords differ.")
        return data


class LoginForm(AuthenticationForm):
    """The log-in form (a locked user gets the lockout page from axes instead)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Your username and password didn't match. Please try again.",
    }
