"""The Admin Workspace frame and its Support Center (System Health, Logs, Backup), Network and
Settings widgets."""

import datetime as dt
import tempfile
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import TemplateView, View

from accounts import access
from accounts import services as accounts
from accounts.access import ADMIN, STAFF, SystemRoleRequiredMixin
from accounts.csc_client import base_url, connection
from core import services, syslog, timekeeping
from core.choices import LogLevel
from core.forms import errors_to_form
from core.models import Event, SyslogServer
from highavailability.services import cluster_status

from . import backup
from .bundle import support_bundle
from .forms import (
    BackupForm,
    CiscoConnectionForm,
    MailServerForm,
    SyslogServerForm,
    TestEmailForm,
    TimeSettingForm,
)
from .health import journal_text, log_file, log_files, system_health
from .network import network_state
from .workspace import visible_widgets


class AdminWorkspaceView(LoginRequiredMixin, TemplateView):
    """The Admin Workspace: one tile per widget."""

    template_name = "administration/admin_workspace.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(widgets=visible_widgets(self.request.user), **kwargs)


class SupportCenterView(LoginRequiredMixin, TemplateView):
    """Support Center: System Health with live figures."""

    template_name = "administration/support_center.html"

    def get_template_names(self):
        if self.request.htmx:
            return ["administration/_system_health.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        is_admin = access.is_system_admin(self.request.user)
        return super().get_context_data(
            health=system_health(), is_system_admin=is_admin, tab="health", **kwargs
        )


class _SystemAdminOnly(SystemRoleRequiredMixin):
    system_roles = ADMIN
    permission_denied_message = "Only a system administrator can open this page."


class SupportCenterLogsView(_SystemAdminOnly, TemplateView):
    """Support Center → Logs: the server's log files to download, the support bundle, and
    the log level of every process, chosen at run time (system administrators)."""

    template_name = "administration/support_center_logs.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            logs=log_files(),
            is_system_admin=True,
            tab="logs",
            log_level=services.log_level(),
            log_levels=LogLevel.choices,
            **kwargs,
        )

    def post(self, request):
        try:
            level = services.set_log_level(request.POST.get("level", ""), user=request.user)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
            return self.render_to_response(self.get_context_data(), status=400)
        messages.success(request, f"Log level set to {level}: every process follows it now.")
        return redirect("support-center-logs")


class SupportCenterBundleView(_SystemAdminOnly, View):
    """Download the support bundle (tar.gz): logs, versions, services, ha_status, System
    Health and the settings with every secret redacted."""

    def get(self, request):
        out = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it once sent
        support_bundle(out)
        out.seek(0)
        name = f"ssm-support-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.tar.gz"
        return FileResponse(out, as_attachment=True, filename=name, content_type="application/gzip")


class SupportCenterLogDownloadView(_SystemAdminOnly, View):
    """Download one log file of the list."""

    def get(self, request, name):
        path = log_file(name)
        if path is not None:
            return FileResponse(path.open("rb"), as_attachment=True, content_type="text/plain")
        journal = journal_text(name)
        if journal is None:
            raise Http404("No such log file")
        response = HttpResponse(journal, content_type="text/plain")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class SupportCenterBackupView(_SystemAdminOnly, TemplateView):
    """Support Center → Backup: download a backup of the server (database and secrets, the
    secrets encrypted with a passphrase); how to restore one on the console."""

    template_name = "administration/support_center_backup.html"

    def get_context_data(self, **kwargs):
        kwargs.setdefault("form", BackupForm())
        return super().get_context_data(
            is_system_admin=True,
            tab="backup",
            backups=Event.objects.filter(action__in=["backup_created", "backup_restored"])[:10],
            **kwargs,
        )

    def post(self, request):
        form = BackupForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        name = f"ssm-backup-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.tar"
        with tempfile.TemporaryDirectory(prefix="ssm-backup-") as work:
            path = Path(work) / name
            try:
                backup.backup(path, form.cleaned_data["passphrase"], user=request.user)
            except backup.BackupError as exc:
                form.add_error(None, str(exc))
                return self.render_to_response(self.get_context_data(form=form), status=503)
            handle = path.open("rb")  # still readable once the folder is gone
        return FileResponse(
            handle, as_attachment=True, filename=name, content_type="application/x-tar"
        )


class NetworkView(SystemRoleRequiredMixin, TemplateView):
    """Network: interfaces, routes and name servers as the machine reports them (read-only),
    for system administrators and operators; the VIP is marked on the node holding it."""

    template_name = "administration/network.html"
    system_roles = STAFF
    permission_denied_message = "Only system administrators and operators see the network."

    def get_context_data(self, **kwargs):
        status = cluster_status()
        vip = status.vip.split("/", 1)[0] if status and status.ha_enabled else ""
        return super().get_context_data(network=network_state(), vip=vip, **kwargs)


class SettingsView(_SystemAdminOnly, TemplateView):
    """Settings → Email: the SMTP server of the notification e-mails, and a test e-mail
    (system administrators only)."""

    template_name = "administration/settings.html"

    def get_context_data(self, **kwargs):
        server = services.mail_server()
        kwargs.setdefault(
            "mail_form",
            MailServerForm(initial=model_to_dict(server, exclude=["id", "password_encrypted"])),
        )
        kwargs.setdefault("test_form", TestEmailForm())
        return super().get_context_data(server=server, tab="email", **kwargs)

    def post(self, request):
        if "to" in request.POST:
            form, context = TestEmailForm(request.POST), "test_form"
        else:
            form, context = MailServerForm(request.POST), "mail_form"
        if not form.is_valid():
            return self.invalid(**{context: form})
        try:
            if context == "test_form":
                services.send_test_email(form.cleaned_data["to"], user=request.user)
                messages.success(request, f"Test e-mail sent to {form.cleaned_data['to']}.")
            else:
                services.save_mail_server(**form.cleaned_data, user=request.user)
                messages.success(request, "Email settings saved.")
        except ValidationError as exc:
            errors_to_form(form, exc)
            return self.invalid(**{context: form})
        return redirect("settings")

    def invalid(self, **forms):
        """The page again with the errors and a 400 status (nothing was written)."""
        response = self.render_to_response(self.get_context_data(**forms))
        response.status_code = 400
        return response


class _SettingsFormView(_SystemAdminOnly, TemplateView):
    """A Settings tab with one form: valid input goes to `save` (a service function), whose
    ValidationError lands next to the fields; the page again with a 400 when refused."""

    form_class: type
    success_url: str = ""

    def save(self, data: dict) -> str:
        """Apply the form's data; the message to show."""
        raise NotImplementedError

    def post(self, request):
        form = self.form_class(request.POST)
        if form.is_valid():
            try:
                message = self.save(form.cleaned_data)
            except ValidationError as exc:
                errors_to_form(form, exc)
            else:
                messages.success(request, message)
                return redirect(self.success_url)
        response = self.render_to_response(self.get_context_data(form=form))
        response.status_code = 400
        return response


class CiscoConnectivitySettingsView(_SettingsFormView):
    """Settings → Cisco Connectivity: CSC's URL, the HTTP proxy, and Test Connection."""

    template_name = "administration/settings_cisco.html"
    form_class = CiscoConnectionForm
    success_url = "settings-cisco"

    def get_context_data(self, **kwargs):
        row = connection()
        kwargs.setdefault(
            "form",
            CiscoConnectionForm(
                initial=model_to_dict(row, exclude=["id", "proxy_password_encrypted", "updated"])
            ),
        )
        return super().get_context_data(
            connection=row, effective_url=base_url(row), tab="cisco", **kwargs
        )

    def post(self, request):
        if "test" in request.POST:
            steps = accounts.check_cisco_connection(by_user=request.user)
            return self.render_to_response(self.get_context_data(steps=steps))
        return super().post(request)

    def save(self, data):
        accounts.save_cisco_connection(**data, by_user=self.request.user)
        return "Cisco connectivity saved."


class SyslogSettingsView(_SettingsFormView):
    """Settings → Syslog: the remote syslog servers every event is forwarded to (add, send a
    test message, remove), with how far each got."""

    template_name = "administration/settings_syslog.html"
    form_class = SyslogServerForm
    success_url = "settings-syslog"

    def get_context_data(self, **kwargs):
        kwargs.setdefault("form", SyslogServerForm())
        servers = list(SyslogServer.objects.all())
        for server in servers:  # events written since its cursor (some may be below its level)
            server.pending = Event.objects.filter(pk__gt=server.last_event_id).count()
        return super().get_context_data(servers=servers, tab="syslog", **kwargs)

    def save(self, data):
        server = syslog.add_syslog_server(**data, by_user=self.request.user)
        return f"Events are forwarded to {server} from now on."


class SyslogServerActionView(_SystemAdminOnly, TemplateView):
    """Send a test message to a syslog server, or remove it (after a confirmation page)."""

    template_name = "administration/settings_syslog_remove.html"

    def get(self, request, pk, action):
        if action != "remove":
            raise Http404("No such page")
        server = get_object_or_404(SyslogServer, pk=pk)
        return self.render_to_response(self.get_context_data(server=server, tab="syslog"))

    def post(self, request, pk, action):
        server = get_object_or_404(SyslogServer, pk=pk)
        if action == "test":
            try:
                syslog.send_test_message(server, by_user=request.user)
            except ValidationError as exc:
                messages.error(request, f"Test message not sent: {exc.messages[0]}")
            else:
                messages.success(request, f"Test message sent to {server}.")
        elif action == "remove":
            syslog.remove_syslog_server(server, by_user=request.user)
            messages.success(request, f"Events are no longer forwarded to {server}.")
        else:
            raise Http404("No such action")
        return redirect("settings-syslog")


class TimeSettingsView(_SettingsFormView):
    """Settings → Time: this server's time, the workspace's time zone, the NTP servers, and
    whether chrony keeps the clock synchronized (and its offset)."""

    template_name = "administration/settings_time.html"
    form_class = TimeSettingForm
    success_url = "settings-time"

    def get_context_data(self, **kwargs):
        row = timekeeping.time_setting()
        kwargs.setdefault(
            "form",
            TimeSettingForm(initial={"time_zone": row.time_zone, "ntp_servers": row.ntp_servers}),
        )
        return super().get_context_data(
            setting=row,
            now=timekeeping.now_in(timekeeping.workspace_time_zone()),
            clock=timekeeping.clock_status(),
            managed=timekeeping.chrony_managed(),
            applied=timekeeping.applied_generation() == row.generation,
            tab="time",
            **kwargs,
        )

    def save(self, data):
        timekeeping.save_time_setting(**data, by_user=self.request.user)
        return "Time settings saved."
