"""On-Prem License Workspace → Smart Licensing pages."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.views.generic import TemplateView

TABS = [
    ("alerts", "Alerts"),
    ("inventory", "Inventory"),
    ("convert", "Convert to Smart Licensing"),
    ("reports", "Reports"),
    ("preferences", "Preferences"),
    ("activity", "Activity"),
]
INVENTORY_TABS = [
    ("general", "General"),
    ("licenses", "Licenses"),
    ("product-instances", "Product Instances"),
    ("sl-using-policy", "SL Using Policy"),
    ("event-log", "Event Log"),
]


class SmartLicensingView(LoginRequiredMixin, TemplateView):
    """The Smart Licensing frame with its tabs and the Inventory sub-tabs."""

    template_name = "licensing/smart_licensing.html"

    def get_context_data(self, tab="inventory", subtab="general", **kwargs):
        if tab not in dict(TABS) or subtab not in dict(INVENTORY_TABS):
            raise Http404("No such tab")
        return super().get_context_data(
            tabs=TABS,
            tab=tab,
            inventory_tabs=INVENTORY_TABS,
            subtab=subtab,
            local_virtual_account="Default",
            **kwargs,
        )
