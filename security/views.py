"""Admin Workspace → Security: Certificates, Account Password and Event Log."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import TemplateView, View

from accounts.access import ADMIN, SystemRoleRequiredMixin
from core.choices import EventCategory
from core.exports import events_csv
from core.models import Event

from . import services
from .forms import (
    AdminSetPasswordForm,
    BrowserCsrForm,
    CACertificateForm,
    CertificateUploadForm,
    DirectorySettingsForm,
    DirectoryTestForm,
    HostCommonNameForm,
    LoginForm,
    PasswordPolicyForm,
)
from .models import BrowserCertificateRequest, CACertificate
from .services import directory

TABS = [
    ("security:certificates", "Certificates"),
    ("security:account-password", "Account Password"),
    ("security:authentication", "Authentication"),
    ("security:event-log", "Event Log"),
]


class PasswordResetView(auth_views.PasswordResetView):
    """Forgot your password: the e-mailed link is built from the Host Common Name and HTTPS,
    never from the request's Host header (which an attacker chooses); one e-mail per address
    per PASSWORD_RESET_MAIL_INTERVAL (nginx limits the requests per client address)."""

    def form_valid(self, form):
        if not services.reset_mail_allowed(form.cleaned_data["email"]):
            return redirect(self.get_success_url())  # the same answer: nothing is revealed
        form.save(
            domain_override=services.web_host(),
            use_https=True,
            token_generator=self.token_generator,
            from_email=self.from_email,
            email_template_name=self.email_template_name,
            subject_template_name=self.subject_template_name,
            request=self.request,
            html_email_template_name=self.html_email_template_name,
            extra_email_context=self.extra_email_context,
        )
        return redirect(self.get_success_url())


class LoginView(auth_views.LoginView):
    """Log In (axes locks a user name from an address after repeated failures)."""

    authentication_form = LoginForm


class SecurityAdminMixin(SystemRoleRequiredMixin):
    """The Security widget is for system administrators only."""

    system_roles = ADMIN
    tab = ""

    def get_context_data(self, **kwargs):
        kwargs.setdefault("tabs", TABS)
        kwargs.setdefault("tab", self.tab)
        return super().get_context_data(**kwargs)

    def invalid(self, template_context, message_or_error):
        """Re-render the page with the error and a 400 status (nothing was written)."""
        if isinstance(message_or_error, ValidationError):
            for message in message_or_error.messages:
                messages.error(self.request, message)
        else:
            messages.error(self.request, str(message_or_error))
        response = self.render_to_response(self.get_context_data(**template_context))
        response.status_code = 400
        return response


class CertificatesView(SecurityAdminMixin, TemplateView):
    """Certificates: Host Common Name, Browser Certificate and CA Certificates."""

    template_name = "security/certificates.html"
    tab = "security:certificates"

    def get_context_data(self, **kwargs):
        name = services.host_common_name()
        browser = services.current_browser_certificate()
        kwargs.setdefault("host_form", HostCommonNameForm(initial={"name": name}))
        kwargs.setdefault("csr_form", BrowserCsrForm(initial={"common_name": name}))
        kwargs.setdefault("upload_form", CertificateUploadForm())
        kwargs.setdefault("ca_form", CACertificateForm())
        return super().get_context_data(
            host_common_name=name,
            dual_stack=services.dual_stack(),
            product_urls=services.product_urls("<account>", name),
            resync_accounts=services.accounts_requiring_resynchronization(),
            browser_certificate=browser,
            name_not_covered=bool(browser) and not services.certificate_covers(browser, name),
            pending_request=BrowserCertificateRequest.objects.filter(
                installed__isnull=True
            ).first(),
            ca_certificates=CACertificate.objects.all(),
            **kwargs,
        )


class HostCommonNameUpdateView(CertificatesView):
    """Change the Host Common Name."""

    http_method_names = ["post"]

    def post(self, request):
        form = HostCommonNameForm(request.POST)
        if not form.is_valid():
            return self.invalid({"host_form": form}, "Enter the Host Common Name.")
        try:
            services.set_host_common_name(form.cleaned_data["name"], by_user=request.user)
        except ValidationError as exc:
            form.add_error("name", exc)
            return self.invalid({"host_form": form}, exc)
        messages.success(
            request,
            f"Host Common Name set to {services.host_common_name()}. Synchronize every local "
            "account so its product certificate is re-issued for the new name.",
        )
        return redirect("security:certificates")


class BrowserCsrCreateView(CertificatesView):
    """Generate a CSR for the Browser Certificate."""

    http_method_names = ["post"]

    def post(self, request):
        form = BrowserCsrForm(request.POST)
        if not form.is_valid():
            return self.invalid({"csr_form": form}, "Check the CSR fields.")
        data = form.cleaned_data
        try:
            services.generate_browser_csr(
                data["common_name"],
                subject_alternative_names=form.sans(),
                organization=data["organization"],
                organizational_unit=data["organizational_unit"],
                locality=data["locality"],
                state=data["state"],
                country=data["country"],
                by_user=request.user,
            )
        except ValidationError as exc:
            return self.invalid({"csr_form": form}, exc)
        messages.success(request, "CSR generated. Download it and have it signed by your CA.")
        return redirect("security:certificates")


class BrowserCsrDownloadView(SecurityAdminMixin, View):
    """The CSR as a file."""

    def get(self, request, pk):
        csr = get_object_or_404(BrowserCertificateRequest, pk=pk)
        response = HttpResponse(csr.csr_pem, content_type="application/pkcs10")
        response["Content-Disposition"] = f'attachment; filename="{csr.common_name}.csr"'
        return response


class BrowserCertificateUploadView(CertificatesView):
    """Install a signed Browser Certificate and its chain."""

    http_method_names = ["post"]

    def post(self, request):
        form = CertificateUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.invalid(
                {"upload_form": form}, " ".join(form.non_field_errors()) or "Check the form."
            )
        try:
            info = services.install_browser_certificate(
                form.cleaned_data["certificate_pem"],
                form.cleaned_data["chain_pem"],
                by_user=request.user,
            )
        except ValidationError as exc:
            return self.invalid({"upload_form": form}, exc)
        messages.success(
            request,
            f"Browser Certificate for {info['common_name']} installed; the HTTPS server "
            "presents it within about ten seconds (its workers are replaced one at a time).",
        )
        return redirect("security:certificates")


class CACertificateCreateView(CertificatesView):
    """Add a trusted CA certificate."""

    http_method_names = ["post"]

    def post(self, request):
        form = CACertificateForm(request.POST)
        if not form.is_valid():
            return self.invalid({"ca_form": form}, "Paste a CA certificate.")
        try:
            rows = services.add_ca_certificate(form.cleaned_data["pem"], by_user=request.user)
        except ValidationError as exc:
            return self.invalid({"ca_form": form}, exc)
        messages.success(request, f"{len(rows)} CA certificate(s) added.")
        return redirect("security:certificates")


class CACertificateDeleteView(SecurityAdminMixin, View):
    """Stop trusting a CA certificate."""

    def post(self, request, pk):
        ca = get_object_or_404(CACertificate, pk=pk)
        services.delete_ca_certificate(ca, by_user=request.user)
        messages.success(request, f"CA certificate {ca.subject} deleted.")
        return redirect("security:certificates")


class AccountPasswordView(SecurityAdminMixin, TemplateView):
    """Account Password: the policy and the locked users."""

    template_name = "security/account_password.html"
    tab = "security:account-password"

    def get_context_data(self, **kwargs):
        kwargs.setdefault("form", PasswordPolicyForm(instance=services.password_policy()))
        kwargs.setdefault("set_password_form", AdminSetPasswordForm())
        return super().get_context_data(locked=services.locked_out_users(), **kwargs)

    def post(self, request):
        form = PasswordPolicyForm(request.POST, instance=services.password_policy())
        if not form.is_valid():
            return self.invalid({"form": form}, "Check the policy values.")
        try:
            services.update_password_policy(
                by_user=request.user, **{f: form.cleaned_data[f] for f in form.Meta.fields}
            )
        except ValidationError as exc:
            return self.invalid({"form": form}, exc)
        messages.success(request, "Account Password policy saved.")
        return redirect("security:account-password")


class AuthenticationView(SecurityAdminMixin, TemplateView):
    """Authentication: log-in with an LDAP / Active Directory server, its group mappings, and
    a Test that tries a bind and a user lookup and says which step failed."""

    template_name = "security/authentication.html"
    tab = "security:authentication"

    def get_context_data(self, **kwargs):
        kwargs.setdefault("form", DirectorySettingsForm(instance=directory.directory_settings()))
        kwargs.setdefault("test_form", DirectoryTestForm())
        return super().get_context_data(**kwargs)

    def post(self, request):
        if "test" in request.POST:
            test_form = DirectoryTestForm(request.POST)
            username = test_form.data.get("username", "")[:150]
            steps = directory.test_directory(username.strip())
            status = 200 if all(ok for ok, _ in steps) else 400
            return self.render_to_response(
                self.get_context_data(test_form=test_form, steps=steps), status=status
            )
        form = DirectorySettingsForm(request.POST, instance=directory.directory_settings())
        if not form.is_valid():
            return self.invalid({"form": form}, "Check the directory settings.")
        values = {f: form.cleaned_data[f] for f in DirectorySettingsForm.Meta.fields}
        password = form.cleaned_data["bind_password"] or None
        try:
            directory.save_directory_settings(
                bind_password=password, by_user=request.user, **values
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            return self.invalid({"form": form}, exc)
        messages.success(request, "Directory settings saved.")
        return redirect("security:authentication")


class UserUnlockView(SecurityAdminMixin, View):
    """An administrator unlocks a locked-out user."""

    def post(self, request):
        username = request.POST.get("username", "")
        if services.unlock_user(username, by_user=request.user):
            messages.success(request, f"User {username} unlocked.")
        else:
            messages.info(request, f"User {username} was not locked.")
        return redirect("security:account-password")


class UserPasswordSetView(AccountPasswordView):
    """An administrator sets another user's password."""

    http_method_names = ["post"]

    def post(self, request):
        form = AdminSetPasswordForm(request.POST)
        if not form.is_valid():
            return self.invalid(
                {"set_password_form": form}, " ".join(form.non_field_errors()) or "Check the form."
            )
        user = get_user_model().objects.filter(username=form.cleaned_data["username"]).first()
        if user is None:
            return self.invalid({"set_password_form": form}, "No such user.")
        try:
            services.set_password_by_admin(
                user, form.cleaned_data["new_password1"], by_user=request.user
            )
        except ValidationError as exc:
            return self.invalid({"set_password_form": form}, exc)
        messages.success(request, f"Password of {user.username} set.")
        return redirect("security:account-password")


class SecurityEventLogView(SecurityAdminMixin, TemplateView):
    """Event Log: every certificate, Host Common Name, policy and lockout change, every
    log-in, log-out and failed log-in; searchable, and as CSV (?format=csv)."""

    template_name = "security/event_log.html"
    tab = "security:event-log"

    def events(self):
        events = Event.objects.filter(category=EventCategory.SECURITY)
        query = self.request.GET.get("search", "").strip()
        return events.filter(message__icontains=query) if query else events

    def get(self, request, *args, **kwargs):
        if request.GET.get("format") == "csv":
            return events_csv(self.events(), "security-event-log.csv")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        page = Paginator(self.events(), 25).get_page(self.request.GET.get("page"))
        query = self.request.GET.get("search", "").strip()
        return super().get_context_data(page=page, query=query, **kwargs)
