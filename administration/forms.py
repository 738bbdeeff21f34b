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
