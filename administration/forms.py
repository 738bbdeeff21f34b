"""Settings forms."""

import zoneinfo

from django import forms

from core.choices import MailSecurity, SyslogFacility, SyslogSeverity, SyslogTransport
from core.validators import is_host

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


class CiscoConnectionForm(forms.Form):
    """Settings → Cisco Connectivity: CSC's URL and the HTTP proxy on the way to it."""

    url = forms.URLField(
        label="Cisco Software Central URL",
        required=False,
        max_length=200,
        widget=forms.URLInput(attrs=_text),
        help_text="https://…; leave empty for the server's default (CSC_URL).",
    )
    proxy_host = forms.CharField(
        label="Proxy Host",
        required=False,
        max_length=253,
        widget=forms.TextInput(attrs=_text),
        help_text="Host name or IP address of an HTTP proxy; leave empty to connect directly.",
    )
    proxy_port = forms.IntegerField(
        label="Proxy Port",
        required=False,
        min_value=1,
        max_value=65535,
        widget=forms.NumberInput(attrs=_text),
    )
    proxy_username = forms.CharField(
        label="Proxy User Name", required=False, max_length=150, widget=forms.TextInput(attrs=_text)
    )
    proxy_password = forms.CharField(
        label="Proxy Password",
        required=False,
        max_length=200,
        widget=forms.PasswordInput(attrs=_text),
        help_text="Stored encrypted; leave empty to keep the stored password.",
    )

    def clean_url(self):
        url = self.cleaned_data["url"]
        if url and not url.lower().startswith("https://"):
            raise forms.ValidationError("Cisco Software Central is reached over HTTPS: https://…")
        return url

    def clean_proxy_host(self):
        host = self.cleaned_data["proxy_host"].strip()
        if host and not is_host(host):
            raise forms.ValidationError("Give only the host name or address (no scheme, no path).")
        return host


class SyslogServerForm(forms.Form):
    """Settings → Syslog: one more server the events are forwarded to."""

    host = forms.CharField(max_length=253, widget=forms.TextInput(attrs=_text))
    port = forms.IntegerField(
        min_value=1, max_value=65535, initial=514, widget=forms.NumberInput(attrs=_text)
    )
    transport = forms.ChoiceField(
        choices=SyslogTransport.choices, widget=forms.Select(attrs={"class": "form-select"})
    )
    facility = forms.TypedChoiceField(
        choices=SyslogFacility.choices,
        coerce=int,
        initial=SyslogFacility.LOCAL0,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    severity = forms.TypedChoiceField(
        label="Minimum severity",
        choices=SyslogSeverity.choices,
        coerce=int,
        initial=SyslogSeverity.INFORMATIONAL,
        widget=forms.Select(attrs={"class": "form-select"}),
        help_text="Failures are Error, Out of Compliance Warning, other changes Notice.",
    )
    ca_certificate = forms.CharField(
        label="CA certificate (TLS)",
        required=False,
        widget=forms.Textarea(
            attrs={**_text, "rows": 3, "placeholder": "-----BEGIN CERTIFICATE-----"}
        ),
        help_text="The CA of the syslog server's certificate; empty: the system's CA store.",
    )


class TimeSettingForm(forms.Form):
    """Settings → Time: the workspace's time zone and the NTP servers."""

    time_zone = forms.ChoiceField(
        label="Time Zone",
        choices=[(name, name) for name in sorted(zoneinfo.available_timezones())],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    ntp_servers = forms.CharField(
        label="NTP Servers",
        required=False,
        widget=forms.Textarea(attrs={**_text, "rows": 4, "placeholder": "ntp1.example.com"}),
        help_text="One per line (host or host:port), at most 8.",
    )
