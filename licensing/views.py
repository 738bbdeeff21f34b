"""On-Prem License Workspace → Smart Licensing pages, and the API Toolkit widget."""

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Max, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from accounts import access
from accounts import services as accounts_services
from accounts.access import STAFF, SystemRoleRequiredMixin
from core.exports import csv_download, events_csv
from core.forms import errors_to_form
from core.models import Event
from core.views import get_by_id_or_404
from security.services import product_urls

from . import reports, services
from .choices import AuthorizationStatus, ReportState, TransactionKind
from .forms import (
    AlertPreferencesForm,
    ApiClientForm,
    LicenseTransferForm,
    RegistrationTokenForm,
    TransferForm,
)
from .models import ApiClient, Conversion, ProductInstance, RegistrationToken, RumReport
from .services import LicensingError

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
PAGE_SIZE = 25


def _chosen(objects: list, pk, what: str):
    """The object whose id is pk (a string from the query), else a 404."""
    found = [o for o in objects if str(pk).isdigit() and o.pk == int(pk)]
    if not found:
        raise Http404(f"No such {what}")
    return found[0]


def _selection(request):
    """The local account and virtual account chosen by ?account=&va= (or the first visible).

    Returns the visible accounts and the account's virtual accounts as lists (one query each).
    """
    accounts = list(access.accounts_for(request.user).order_by("name"))
    account_id = request.GET.get("account") or request.POST.get("account")
    account = _chosen(accounts, account_id, "account") if account_id else next(iter(accounts), None)
    if account is None:
        return accounts, None, None, []
    va_id = request.GET.get("va") or request.POST.get("va")
    vas = list(account.virtual_accounts.all())
    if va_id:
        va = _chosen(vas, va_id, "virtual account")
    else:
        va = next((v for v in vas if v.is_default), None) or next(iter(vas), None)
    return accounts, account, va, vas


def _query(account, va, **extra) -> str:
    params = {"account": account.pk, "va": va.pk, **extra}
    return "?" + "&".join(f"{k}={v}" for k, v in params.items())


class SmartLicensingView(LoginRequiredMixin, TemplateView):
    """The Smart Licensing frame with its tabs and the Inventory sub-tabs."""

    template_name = "licensing/smart_licensing.html"

    def get_context_data(self, tab="inventory", subtab="general", **kwargs):
        if tab not in dict(TABS) or subtab not in dict(INVENTORY_TABS):
            raise Http404("No such tab")
        accounts, account, va, virtual_accounts = _selection(self.request)
        context = super().get_context_data(
            tabs=TABS,
            tab=tab,
            inventory_tabs=INVENTORY_TABS,
            subtab=subtab,
            accounts=accounts,
            account=account,
            va=va,
            local_virtual_account=va.name if va else "Default",
            workspace="license",
            **kwargs,
        )
        if account is None:
            return context
        context["query"] = _query(account, va)
        context["can_use"] = access.can_use(self.request.user, account)
        context["virtual_accounts"] = virtual_accounts
        builder = getattr(self, f"_{(subtab if tab == 'inventory' else tab).replace('-', '_')}")
        builder(context, account, va)
        return context

    def _general(self, context, account, va):
        tokens = RegistrationToken.objects.filter(virtual_account=va).with_uses().order_by("-id")
        page = Paginator(tokens, PAGE_SIZE).get_page(self.request.GET.get("page"))
        context.update(tokens=page, page=page)
        context.setdefault("token_form", RegistrationTokenForm())
        context["urls"] = product_urls(account.name)

    def _paged(self, context, rows, *fields) -> None:
        """One page of `rows` (a queryset, or a list of dicts) matching the search box."""
        search = self.request.GET.get("search", "").strip()[:200]
        if search and isinstance(rows, list):
            needle = search.lower()
            rows = [r for r in rows if any(needle in str(r[f]).lower() for f in fields)]
        elif search:
            match = Q()
            for name in fields:
                match |= Q(**{f"{name}__icontains": search})
            rows = rows.filter(match)
        page = Paginator(rows, PAGE_SIZE).get_page(self.request.GET.get("page"))
        context.update(page=page, search=search)

    def _licenses(self, context, account, va):
        self._paged(context, services.license_rows(va), "name", "tag")
        context["licenses"] = context["page"]

    def _product_instances(self, context, account, va):
        search = self.request.GET.get("search", "").strip()
        qs = ProductInstance.objects.filter(virtual_account=va, status="registered").order_by(
            "name", "id"
        )
        if search:
            qs = qs.filter(Q(name__icontains=search) | Q(product_type__icontains=search))
        tag = self.request.GET.get("tag", "").strip()[:200]
        if tag:  # the Licenses tab's "Product Instances" of one license: those using it
            qs = qs.filter(usages__tag=tag, usages__count__gt=0).distinct()
            context["tag_name"] = services.license_name(tag)
        page = Paginator(qs, PAGE_SIZE).get_page(self.request.GET.get("page"))
        context.update(page=page, search=search, tag=tag)

    def _sl_using_policy(self, context, account, va):
        reports = RumReport.objects.filter(virtual_account=va)
        context["reporting_products"] = (
            reports.values("udi_pid", "udi_sn")
            .annotate(
                last=Max("received"),
                reports=Count("id"),
                waiting=Count("id", filter=Q(state=ReportState.CLOSED)),
                undelivered=Count(
                    "id", filter=Q(state=ReportState.ACK, ack_delivered__isnull=True)
                ),
            )
            .order_by("-last")[:PAGE_SIZE]
        )
        self._paged(context, reports, "udi_sn", "udi_pid", "tag", "report_id")
        context["reports"] = context["page"]

    def _event_log(self, context, account, va):
        self._paged(context, Event.objects.filter(account=account), "message", "username")
        context["events"] = context["page"]

    def _alerts(self, context, account, va):
        """Every open alert of the account (all its virtual accounts), dismissable."""
        context["alerts"] = services.account_alerts(account)

    def _activity(self, context, account, va):
        """License Transactions or the Event Log (?view=events), filtered and searchable."""
        view = "events" if self.request.GET.get("view") == "events" else "transactions"
        kind = self.request.GET.get("kind", "")
        try:
            scope = reports.scope_from(self.request.GET, account, va)
        except LicensingError as exc:
            context["scope_error"] = str(exc)
            scope = reports.Scope(account, None if self.request.GET.get("scope") else va)
        search = self.request.GET.get("search", "").strip()[:200]
        if view == "events":
            rows = reports.events(scope, search=search)
        else:
            rows = reports.transactions(scope, kind=kind, search=search)
        page = Paginator(rows, PAGE_SIZE).get_page(self.request.GET.get("page"))
        filters = {
            key: self.request.GET.get(key, "")
            for key in ("view", "kind", "scope", "start", "end", "search")
        }
        context.update(
            page=page,
            search=search,
            activity_view=view,
            activity_kinds=TransactionKind.choices,
            filters=filters,
            export_query="&".join(f"{k}={quote(v)}" for k, v in filters.items() if v),
        )

    def _reports(self, context, account, va):
        context["report_kinds"] = [(slug, label) for slug, (label, _) in reports.REPORTS.items()]

    def _convert(self, context, account, va):
        """Classic licenses CSC can convert, and the conversion history."""
        context["conversions"] = [
            (c, c.status_for(account)) for c in Conversion.objects.filter(account=account)[:50]
        ]
        try:
            context["classic_licenses"] = services.convertible_licenses(account)
        except LicensingError as exc:
            context["classic_error"] = str(exc)

    def _preferences(self, context, account, va):
        context["can_manage"] = access.can_manage(self.request.user, account)
        form = context.setdefault(
            "preferences_form", AlertPreferencesForm(instance=services.preferences(account))
        )
        context["preference_rows"] = [
            (form["not_reporting"], form["not_reporting_days"], "Product instances not "
             "reporting", "days without contact"),
            (form["expiring"], form["expiring_days"], "Tokens and certificates expiring",
             "days ahead"),
            (form["synchronization"], form["sync_overdue_days"], "Synchronization failed or "
             "overdue", "days without synchronization"),
        ]  # fmt: skip


class _AccountAction(LoginRequiredMixin, View):
    """A POST inside the selected account that needs Account User rights or above."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.accounts, self.account, self.va, _ = _selection(request)
        if self.account is None:
            raise Http404("No account")
        if not access.can_use(request.user, self.account):
            raise Http404("No such account")
        return super().dispatch(request, *args, **kwargs)

    def back(self, subtab):
        url = reverse("licensing:inventory", args=[subtab])
        return redirect(url + _query(self.account, self.va))


class RegistrationTokenCreateView(_AccountAction):
    """Create a registration token in the selected virtual account."""

    def post(self, request):
        form = RegistrationTokenForm(request.POST)
        if not form.is_valid():
            return self.refused(form)
        try:
            token = services.create_token(
                self.va,
                description=form.cleaned_data["description"],
                expires_after_days=form.cleaned_data["expires_after_days"],
                export_controlled=form.cleaned_data["export_controlled"],
                max_uses=form.cleaned_data["max_uses"],
                user=request.user,
            )
        except LicensingError as exc:
            form.add_error(None, str(exc))
            return self.refused(form)
        messages.success(request, f"Token {token.short_token} created.")
        return self.back("general")

    def refused(self, form):
        """The General tab again with the form's errors next to its fields (400)."""
        page = SmartLicensingView()
        page.setup(self.request, tab="inventory", subtab="general")
        context = page.get_context_data(tab="inventory", subtab="general", token_form=form)
        response = page.render_to_response(context)
        response.status_code = 400
        return response


class RegistrationTokenRevokeView(_AccountAction):
    """Revoke a registration token."""

    def post(self, request, pk):
        token = get_object_or_404(RegistrationToken, pk=pk, virtual_account=self.va)
        try:
            services.revoke_token(token, user=request.user)
        except LicensingError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Token {token.short_token} revoked.")
        return self.back("general")


class ProductInstanceRemoveView(_AccountAction):
    """Remove a product instance."""

    def post(self, request, pk):
        instance = get_object_or_404(ProductInstance, pk=pk, virtual_account__account=self.account)
        try:
            services.remove_instance(instance, user=request.user)
        except LicensingError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{instance.name} removed.")
        return self.back("product-instances")


class PreferencesView(_AccountAction):
    """Preferences (Account Administrator): notification e-mails and whether the account
    accepts unsigned RUM reports."""

    def post(self, request):
        url = reverse("licensing:smart-licensing-tab", args=["preferences"])
        form = AlertPreferencesForm(request.POST)
        if form.is_valid():
            accept = request.POST.get("accept_unsigned_rum_reports") == "on"
            try:
                with transaction.atomic():
                    accounts_services.set_unsigned_rum_reports(
                        self.account, accept, by_user=request.user
                    )
                    services.save_alert_preferences(
                        self.account, by_user=request.user, **form.cleaned_data
                    )
            except PermissionDenied as exc:
                messages.error(request, str(exc))
                return redirect(url + _query(self.account, self.va))
            except ValidationError as exc:
                errors_to_form(form, exc)
        if form.errors:
            page = SmartLicensingView()
            page.setup(request, tab="preferences")
            context = page.get_context_data(tab="preferences", preferences_form=form)
            return page.render_to_response(context, status=400)
        messages.success(request, "Preferences saved.")
        return redirect(url + _query(self.account, self.va))


class ConversionView(_AccountAction):
    """Convert a quantity of a classic (PAK) license to Smart Licensing."""

    def post(self, request):
        try:
            quantity = int(request.POST.get("quantity", ""))
        except ValueError:
            quantity = 0
        try:
            record = services.convert_licenses(
                self.account,
                request.POST.get("pak", ""),
                request.POST.get("tag", ""),
                quantity,
                user=request.user,
            )
        except (LicensingError, PermissionDenied) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                f"{record.quantity} × {record.license_name} converted: Purchased after the "
                "next synchronization.",
            )
        url = reverse("licensing:smart-licensing-tab", args=["convert"])
        return redirect(url + _query(self.account, self.va))


class AlertDismissView(_AccountAction):
    """Dismiss one open alert (Account User or up)."""

    def post(self, request):
        try:
            services.dismiss_alert(self.account, request.POST.get("key", ""), user=request.user)
        except LicensingError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Alert dismissed.")
        url = reverse("licensing:smart-licensing-tab", args=["alerts"])
        return redirect(url + _query(self.account, self.va))


class ProductInstanceTransferView(_AccountAction):
    """Transfer a product instance to another local virtual account."""

    def post(self, request, pk):
        instance = get_object_or_404(ProductInstance, pk=pk, virtual_account__account=self.account)
        form = TransferForm(request.POST, account=self.account)
        if not form.is_valid():
            messages.error(request, "Choose a local virtual account.")
            return self.back("product-instances")
        try:
            services.transfer_instance(
                instance, form.cleaned_data["virtual_account"], user=request.user
            )
        except LicensingError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request, f"{instance.name} transferred to {form.cleaned_data['virtual_account']}."
            )
        return self.back("product-instances")


class LicenseTransferView(_AccountAction):
    """Transfer a quantity of a purchased license to another local virtual account."""

    def post(self, request):
        form = LicenseTransferForm(request.POST, account=self.account)
        if not form.is_valid():
            messages.error(request, "Choose a local virtual account and a quantity of at least 1.")
            return self.back("licenses")
        target = form.cleaned_data["virtual_account"]
        try:
            record = services.transfer_licenses(
                self.va,
                target,
                form.cleaned_data["tag"],
                form.cleaned_data["quantity"],
                user=request.user,
            )
        except LicensingError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                f"{record.quantity} × {record.license_name} transferred to {target.name}.",
            )
        return self.back("licenses")


class ProductInstanceDetailView(LoginRequiredMixin, TemplateView):
    """One product instance: its licenses and its history."""

    template_name = "licensing/product_instance_detail.html"

    def get_context_data(self, pk, **kwargs):
        instance = get_object_or_404(
            ProductInstance.objects.select_related("virtual_account__account"),
            pk=pk,
            virtual_account__account__in=access.accounts_for(self.request.user),
        )
        account = instance.virtual_account.account
        usages = list(instance.usages.all())
        for usage in usages:  # the name CSC's catalog gives, else ours; never a bare tag
            usage.license_name = services.license_name(usage.tag)
            known = usage.status in AuthorizationStatus.values
            usage.status_enum = AuthorizationStatus(usage.status) if known else None
        return super().get_context_data(
            instance=instance,
            usages=usages,
            events=Event.objects.filter(account=account, data__instance=str(instance.uuid))[:100],
            virtual_accounts=account.virtual_accounts.exclude(pk=instance.virtual_account_id),
            can_use=access.can_use(self.request.user, account),
            query=_query(account, instance.virtual_account),
            workspace="license",
            **kwargs,
        )


class ReportDownloadView(LoginRequiredMixin, View):
    """CSV reports (Reports tab) for the selected virtual account or the whole account, within
    a date range, and Activity's License Transactions and Event Log as CSV."""

    def get(self, request, kind):
        _, account, va, _ = _selection(request)
        if account is None:
            raise Http404("No account")
        if kind not in reports.REPORTS and kind != "event-log":
            raise Http404("No such report")
        try:
            scope = reports.scope_from(request.GET, account, va)
        except LicensingError as exc:
            messages.error(request, str(exc))
            url = reverse("licensing:smart-licensing-tab", args=["reports"])
            return redirect(url + _query(account, va))
        filename = f"{scope.label}-{kind}.csv"
        search = request.GET.get("search", "").strip()[:200]
        if kind == "event-log":
            return events_csv(reports.events(scope, search=search), filename)
        if kind == "license-transactions":
            found = reports.transactions(scope, kind=request.GET.get("kind", ""), search=search)
            return csv_download(filename, *reports.transactions_csv(found))
        return csv_download(filename, *reports.REPORTS[kind][1](scope))


class ApiToolkitView(SystemRoleRequiredMixin, TemplateView):
    """API Toolkit widget: OAuth2 API clients, created and revoked here (system staff; the
    page is hidden from everyone else)."""

    template_name = "licensing/api_toolkit.html"
    system_roles = STAFF
    hide_from_others = True

    def get_context_data(self, **kwargs):
        accounts = access.accounts_for(self.request.user)
        clients = ApiClient.objects.prefetch_related("grants__account")
        page = Paginator(clients, PAGE_SIZE).get_page(self.request.GET.get("page"))
        return super().get_context_data(
            clients=page,
            page=page,
            form=kwargs.pop("form", None) or ApiClientForm(accounts=accounts),
            workspace="admin",
            **kwargs,
        )

    def post(self, request):
        if "revoke" in request.POST:
            client = get_by_id_or_404(ApiClient.objects.all(), request.POST.get("revoke"))
            try:
                services.revoke_api_client(client, user=request.user)
                messages.success(request, f"API client {client.name} revoked.")
            except LicensingError as exc:
                messages.error(request, str(exc))
            return redirect("api-toolkit")
        form = ApiClientForm(request.POST, accounts=access.accounts_for(request.user))
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        try:
            client, secret = services.create_api_client(
                form.cleaned_data["name"],
                form.cleaned_data["accounts"],
                read_only=form.cleaned_data["read_only_accounts"],
                user=request.user,
            )
        except LicensingError as exc:
            form.add_error("name" if "named" in str(exc) else None, str(exc))
            return self.render_to_response(self.get_context_data(form=form), status=400)
        return self.render_to_response(self.get_context_data(new_client=client, new_secret=secret))
