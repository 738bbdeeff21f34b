"""The Admin Workspace frame and the Support Center."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.views.generic import TemplateView

from .health import system_health
from .network import network_state
from .workspace import visible_widgets, widget


class AdminWorkspaceView(LoginRequiredMixin, TemplateView):
    """The Admin Workspace: one tile per widget."""

    template_name = "ssm/admin_workspace.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(widgets=visible_widgets(self.request.user), **kwargs)


class WidgetPendingView(LoginRequiredMixin, TemplateView):
    """A widget that is not built yet says so."""

    template_name = "ssm/widget_pending.html"

    def get_context_data(self, slug, **kwargs):
        found = widget(slug)
        if found is None:
            raise Http404("No such widget")
        return super().get_context_data(widget=found, **kwargs)


class SupportCenterView(LoginRequiredMixin, TemplateView):
    """Support Center: System Health with live figures."""

    template_name = "ssm/support_center.html"

    def get_template_names(self):
        if self.request.htmx:
            return ["ssm/_system_health.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        return super().get_context_data(health=system_health(), **kwargs)


class NetworkView(LoginRequiredMixin, TemplateView):
    """Network: interfaces, routes and name servers as the machine reports them (read-only),
    for system administrators and operators; the VIP is marked on the node holding it."""

    template_name = "ssm/network.html"

    def dispatch(self, request, *args, **kwargs):
        from accounts.access import is_system_staff

        if request.user.is_authenticated and not is_system_staff(request.user):
            raise PermissionDenied("Only system administrators and operators see the network.")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        from highavailability.services import cluster_status

        status = cluster_status()
        vip = status.vip.split("/", 1)[0] if status and status.ha_enabled else ""
        return super().get_context_data(network=network_state(), vip=vip, **kwargs)
