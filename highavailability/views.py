"""Admin Workspace → High Availability: the cluster widget (Host) and its Event Logs, and
the page a node serves when no database answers (no active server)."""

import subprocess
import sys

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.views import defaults
from django.views.generic import TemplateView

from accounts.access import ADMIN, STAFF, SystemRoleRequiredMixin
from core.exports import csv_download, events_csv

from . import cluster, services
from .models import HAJob

TABS = (
    ("highavailability:host", "Host"),
    ("highavailability:event-log", "Event Logs"),
    ("highavailability:rehearsals", "Rehearsals"),
)


class HAPageMixin(SystemRoleRequiredMixin):
    """System administrators and operators only; anyone else gets 404 (the page is hidden).

    While HA is not enabled (a stand-alone server, or after teardown) the widget does not
    exist: the page answers 404 with "HA is not enabled." and a live part that is polling
    shows the same sentence and stops polling.
    """

    system_roles = STAFF
    hide_from_others = True
    tab = ""

    def get(self, request, *args, **kwargs):
        if request.user.is_authenticated and not services.ha_enabled():
            if request.htmx:
                return self.response_class(
                    request, ["highavailability/_not_enabled.html"], {}, using=self.template_engine
                )
            return self.response_class(
                request,
                ["highavailability/not_enabled.html"],
                {"workspace": "admin"},
                status=404,
                using=self.template_engine,
            )
        if request.GET.get("format") == "csv" and hasattr(self, "export"):
            return self.export()
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(tabs=TABS, tab=self.tab, workspace="admin", **kwargs)


class HighAvailabilityHostView(HAPageMixin, TemplateView):
    """Host: status, heartbeat, VIP, Active and Standby Server cards, updated live."""

    template_name = "highavailability/host.html"
    tab = "highavailability:host"

    def get_template_names(self):
        if self.request.htmx:
            return ["highavailability/_host.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        status = services.cluster_status()
        active, standby = services.server_cards(status)
        return super().get_context_data(
            status=status,
            stale=services.is_stale(status),
            active=active,
            standby=standby,
            node_links=[n for n in (active, standby) if n and n.public_address],
            jobs=HAJob.objects.all()[:5],
            operations=services.offered_operations(self.request.user),
            **kwargs,
        )


OPERATION_DESCRIPTIONS = {
    "switchover": "The active role moves to the standby: pacemaker demotes the database on the "
    "active server, promotes the standby once it holds the last write, and moves the VIP. "
    "Registrations stall for a few seconds; nothing acknowledged is lost.",
    "fallback": "The active role moves back to the primary node, as a switchover does.",
    "rehearsal": "A failover and a fallback in one go (the tech note's scenarios 2 to 4): a "
    "probe registers products through the VIP meanwhile and the report shows, per "
    "transition, the write stall, the first acknowledged registration and what was lost.",
    "maintenance": "The standby leaves the cluster for patching: its database and application "
    "stop and the active server serves alone (Degraded) until the maintenance ends.",
    "maintenance_end": "The node rejoins as a standby; the cluster is Normal again once it is "
    "a promotable standby.",
}


class HighAvailabilityOperationView(HAPageMixin, TemplateView):
    """Confirm and start a cluster operation (system administrators only): it runs as a
    tracked job on a Celery worker; a refusal says why."""

    template_name = "highavailability/operation_confirm.html"
    tab = "highavailability:host"
    system_roles = ADMIN

    def dispatch(self, request, *args, **kwargs):
        if kwargs["operation"] not in services.OPERATIONS:
            raise Http404("No such operation")
        return super().dispatch(request, *args, **kwargs)

    def node(self) -> str:
        return (self.request.POST.get("node") or self.request.GET.get("node") or "")[:100]

    def get_context_data(self, **kwargs):
        kwargs.pop("operation", None)
        operation = self.kwargs["operation"]
        kind = services.OPERATIONS[operation]
        return super().get_context_data(
            operation=operation,
            label=kind.label,
            node=self.node(),
            description=OPERATION_DESCRIPTIONS[operation],
            refusal=kwargs.pop("refusal", None)
            or services.operation_refusal(operation, self.node()),
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        try:
            job = services.start_operation(kwargs["operation"], request.user, node=self.node())
        except services.OperationRefused as exc:
            return self.render_to_response(self.get_context_data(refusal=str(exc)), status=409)
        messages.success(request, f"{job.get_kind_display()} started: follow it below.")
        return redirect("highavailability:host")


class HighAvailabilityRehearsalView(HAPageMixin, TemplateView):
    """Rehearsals: every failover rehearsal's figures, a chart of the write stall over time,
    and the same table as CSV (?format=csv)."""

    template_name = "highavailability/rehearsals.html"
    tab = "highavailability:rehearsals"

    def get_context_data(self, **kwargs):
        rows = services.rehearsal_reports()
        return super().get_context_data(rows=rows, chart=services.stall_chart(rows), **kwargs)

    def export(self):
        rows = services.rehearsal_reports(limit=10000)
        header = ["Started", "Started by", "Status", "Failover stall (s)",
                  "Failover first acknowledged (s)", "Fallback stall (s)",
                  "Fallback first acknowledged (s)", "Acknowledged", "Lost"]  # fmt: skip
        lines = (
            [
                r["job"].started.strftime("%Y-%m-%d %H:%M:%S"),
                r["started_by"],
                r["job"].status,
                r["failover_stall"],
                r["failover_first"],
                r["fallback_stall"],
                r["fallback_first"],
                r["acknowledged"],
                r["lost"],
            ]  # fmt: skip
            for r in rows
        )
        return csv_download("ha-rehearsals.csv", header, lines)


class HighAvailabilityEventLogView(HAPageMixin, TemplateView):
    """Event Logs: every cluster transition and HA job, newest first, paged and searchable.

    The first page without a search refreshes itself (htmx), so new events show live.
    """

    template_name = "highavailability/event_log.html"
    tab = "highavailability:event-log"

    def get_template_names(self):
        if self.request.htmx:
            return ["highavailability/_event_table.html"]
        return [self.template_name]

    def events(self):
        events = services.ha_events()
        query = self.request.GET.get("search", "").strip()
        return events.filter(message__icontains=query) if query else events

    def export(self):
        return events_csv(self.events(), "ha-event-log.csv")

    def get_context_data(self, **kwargs):
        query = self.request.GET.get("search", "").strip()
        page = Paginator(self.events(), 25).get_page(self.request.GET.get("page"))
        polling = page.number == 1 and not query
        return super().get_context_data(page=page, query=query, polling=polling, **kwargs)


def server_error(request):
    """Django's 500 handler. On a cluster node whose database does not answer, a 503 page
    that says why from this node's own view of the cluster (no database needed): the
    failover under way, or no active server with the reason and the way out."""
    error = sys.exc_info()[1]
    if not isinstance(error, OperationalError | InterfaceError) or not cluster.ha_enabled():
        return defaults.server_error(request)
    try:
        state = cluster.cluster_state()
    except (cluster.ClusterError, OSError, subprocess.SubprocessError):
        state = None
    reason = state.no_active_server() if state else ""
    context = {
        "reason": reason,
        "healing": reason.startswith("promoting"),
        "promoted": state.promoted if state else None,
        "running": state is not None,
    }
    response = HttpResponse(
        render_to_string("highavailability/no_active_server.html", context), status=503
    )
    response["Retry-After"] = "5"
    return response
