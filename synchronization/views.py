"""The Synchronization widget: the accounts' table with live jobs, network and manual
(file) synchronization, and one job's page."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from accounts import access
from accounts.access import AdminPageMixin
from accounts.choices import SyncMode
from security.services import resynchronization_account_ids

from . import services
from .choices import SyncScope, SyncStatus
from .forms import ManualResponseForm
from .models import Synchronization


def _sync_rows(user, accounts):
    """One row per account of `accounts` (a page of those the user sees)."""
    active = Synchronization.objects.filter(
        status__in=[SyncStatus.QUEUED, SyncStatus.RUNNING]
    ).order_by("-created")
    rows = []
    flagged = resynchronization_account_ids()  # Host Common Name changed since their last sync
    accounts = accounts.prefetch_related(Prefetch("synchronizations", active, "active_jobs"))
    for account in accounts:
        job = account.active_jobs[0] if account.active_jobs else None
        rows.append(
            {
                "account": account,
                "job": job,
                "can_sync": access.can_synchronize(user, account),
                "resync_required": account.pk in flagged,
                "overdue": bool(
                    account.synchronization_due and account.synchronization_due < timezone.now()
                ),
            }
        )
    return rows


class SynchronizationView(AdminPageMixin, TemplateView):
    """Synchronization widget: the table, live jobs, and manual (file) synchronization."""

    template_name = "synchronization/synchronization.html"

    def get_template_names(self):
        if self.request.htmx:
            return ["synchronization/_sync_table.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        visible = access.accounts_for(self.request.user)
        search = self.request.GET.get("search", "").strip()[:200]
        shown = visible.filter(name__icontains=search) if search else visible
        page = Paginator(shown.order_by("name"), 25).get_page(self.request.GET.get("page"))
        rows = _sync_rows(self.request.user, page.object_list)
        jobs = list(
            Synchronization.objects.filter(account__in=visible).select_related("account")[:10]
        )
        # one snapshot of each job for the whole page: a row and Recent never disagree
        newest = {job.pk: job for job in jobs}
        for row in rows:
            if row["job"] is not None:
                row["job"] = newest.get(row["job"].pk, row["job"])
        return super().get_context_data(
            rows=rows,
            page=page,
            search=search,
            jobs=jobs,
            polling=any(r["job"] for r in rows)
            or any(j.status in (SyncStatus.QUEUED, SyncStatus.RUNNING) for j in jobs),
            upload_form=ManualResponseForm(),
            sync_modes=SyncMode.choices,
            **kwargs,
        )


class SynchronizeNowView(LoginRequiredMixin, View):
    """Synchronize now (network mode): queue a standard (what changed) or full (everything)
    synchronization."""

    def post(self, request, pk):
        account = access.get_account_or_404(request.user, pk)
        if not access.can_synchronize(request.user, account):
            raise PermissionDenied("You cannot synchronize this account.")
        scope = request.POST.get("scope") or SyncScope.STANDARD
        if scope not in SyncScope.values:
            messages.error(request, "Choose a standard or a full synchronization.")
            return redirect("synchronization:synchronization")
        try:
            job = services.request_synchronization(account, request.user, scope=scope)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            label = job.get_scope_display()
            messages.info(request, f"{label} synchronization of {account.name} started.")
            return redirect(reverse("synchronization:synchronization") + f"?job={job.pk}")
        return redirect("synchronization:synchronization")


class SyncModeView(LoginRequiredMixin, View):
    """Switch an account between network and manual synchronization."""

    def post(self, request, pk):
        account = access.get_account_or_404(request.user, pk)
        mode = request.POST.get("sync_mode", "")
        if mode not in SyncMode.values:
            messages.error(request, "Choose Network or Manual.")
            return redirect("synchronization:synchronization")
        services.set_sync_mode(account, mode, request.user)
        messages.success(request, f"{account.name} synchronizes in {SyncMode(mode).label} mode.")
        return redirect("synchronization:synchronization")


class ManualSyncRequestView(LoginRequiredMixin, View):
    """Manual mode: download the signed sync request file."""

    def post(self, request, pk):
        account = access.get_account_or_404(request.user, pk)
        try:
            filename, content = services.export_manual_sync_request(account, request.user)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
            return redirect("synchronization:synchronization")
        response = HttpResponse(content, content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class ManualSyncResponseView(LoginRequiredMixin, View):
    """Manual mode: upload CSC's signed response file."""

    def post(self, request, pk):
        account = access.get_account_or_404(request.user, pk)
        if not access.can_synchronize(request.user, account):
            raise PermissionDenied("You cannot synchronize this account.")
        form = ManualResponseForm(request.POST, request.FILES)
        if not form.is_valid():
            errors = [e for errs in form.errors.values() for e in errs]
            messages.error(request, errors[0] if errors else "Choose the response file.")
            return redirect("synchronization:synchronization")
        try:
            services.import_manual_sync_response(
                account, form.cleaned_data["response_file"].read(), request.user
            )
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(request, f"{account.name}: {services.SYNC_SUCCESS_ALERT}")
        return redirect("synchronization:synchronization")


class SynchronizationDetailView(AdminPageMixin, TemplateView):
    """One synchronization job with its log (polled live while it runs)."""

    template_name = "synchronization/sync_job.html"

    def get_template_names(self):
        if self.request.htmx:
            return ["synchronization/_sync_job.html"]
        return [self.template_name]

    def get_context_data(self, pk, **kwargs):
        job = get_object_or_404(
            Synchronization.objects.select_related("account").filter(
                account__in=access.accounts_for(self.request.user)
            ),
            pk=pk,
        )
        return super().get_context_data(job=job, **kwargs)
