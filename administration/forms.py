"""Settings forms."""

from django import forms

from core.choices import MailSecurity

_text = {"class": "form-control"}


class MailServerForm(forms.Form):
    """Settings → Email: the SMTP server."""

    host = forms.CharField(
        label="SMTP Server",
        required=False,
        max_length=253,
        widget=forms.TextInput(attrs=_text),
        help_text="Host name or IP address; leave empty to write e-mails to the log.",
    )
    port = forms.IntegerField(
        min_value=1, max_value=65535, initial=25, widget=forms.NumberInput(attrs=_text)
    )
    security = forms.ChoiceField(
        choices=MailSecurity.choices, widget=forms.Select(attrs={"class": "form-select"})
    )
    username = forms.CharField(
        label="User Name", required=False, max_length=200, widget=forms.TextInput(attrs=_text)
    )
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(attrs=_text),
        help_text="Leave empty to keep the stored password.",
    )
    from_address = forms.EmailField(
        label="From Address", required=False, widget=forms.EmailInput(attrs=_text)
    )


class TestEmailForm(forms.Form):
    """Send a test e-mail through the saved SMTP server."""

    to = forms.EmailField(label="Send a test e-mail to", widget=forms.EmailInput(attrs=_text))


class BackupForm(forms.Form):
    """Support Center → Backup: the passphrase that encrypts the backup's secrets."""

    passphrase = forms.CharField(
        label="Passphrase",
        min_length=12,
        max_length=1024,
        strip=False,
        widget=forms.PasswordInput(attrs={**_text, "autocomplete": "new-password"}),
        help_text="At least 12 characters. It encrypts the server's secrets in the file; the "
        "restore asks for it. Keep it apart from the file.",
    )
    passphrase2 = forms.CharField(
        label="Passphrase again",
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={**_text, "autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("passphrase") and data.get("passphrase") != data.get("passphrase2"):
            self.add_error("passphrase2", "The two passphrases differ.")
        return data
