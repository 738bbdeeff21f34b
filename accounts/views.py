"""Admin Workspace widgets: Accounts, Synchronization, Users, Access Management, Event Log."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from core.exports import events_csv
from core.forms import errors_to_form
from core.models import Event
from core.views import get_by_id_or_404

from . import access, services
from .access import ADMIN, AdminPageMixin, SystemAdminRequiredMixin, SystemRoleRequiredMixin
from .choices import AccountRequestStatus, SystemRole
from .forms import (
    AccountRequestForm,
    EventFilterForm,
    LocalAccountEditForm,
    MembershipForm,
    RejectForm,
    SystemRoleForm,
    UserCreateForm,
    UserEditForm,
    VirtualAccountForm,
)
from .models import AccountMembership, AccountRequest

PAGE_SIZE = 25


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


# --- Accounts widget ----------------------------------------------------------------------


class LocalAccountListView(AdminPageMixin, TemplateView):
    """Accounts tab: Account, Requested By, Cisco Smart/Virtual Account, Account Status, Actions."""

    template_name = "accounts/account_list.html"

    def get_context_data(self, **kwargs):
        search = self.request.GET.get("search", "").strip()
        qs = access.accounts_for(self.request.user).order_by("name")
        if search:
            qs = qs.filter(name__icontains=search)
        return super().get_context_data(
            tab="accounts:account-list", page=_page(self.request, qs), search=search, **kwargs
        )


class AccountRequestCreateView(AdminPageMixin, TemplateView):
    """New Account form: files an account request."""

    template_name = "accounts/account_request_form.html"

    def get_context_data(self, **kwargs):
        kwargs.setdefault("form", AccountRequestForm())
        return super().get_context_data(tab="accounts:account-list", **kwargs)

    def post(self, request):
        form = AccountRequestForm(request.POST)
        if form.is_valid():
            try:
                account_request = services.create_account_request(
                    **form.cleaned_data, by_user=request.user
                )
            except ValidationError as exc:
                errors_to_form(form, exc)
            else:
                messages.success(
                    request,
                    f"Account request {account_request.name} submitted; a system administrator "
                    "will approve or reject it.",
                )
                return redirect("accounts:request-list")
        return self.render_to_response(self.get_context_data(form=form), status=400)


class AccountRequestListView(AdminPageMixin, TemplateView):
    """Account Requests tab: pending requests first; approve or reject (system administrator)."""

    template_name = "accounts/request_list.html"

    def get_context_data(self, **kwargs):
        qs = AccountRequest.objects.all()
        if not access.is_system_admin(self.request.user):
            qs = qs.filter(requested_by=self.request.user)
        status = self.request.GET.get("status", "pending")
        if status in AccountRequestStatus.values:
            qs = qs.filter(status=status)
        search = self.request.GET.get("search", "").strip()[:200]
        if search:
            qs = qs.filter(Q(name__icontains=search) | Q(requested_by_username__icontains=search))
        return super().get_context_data(
            tab="accounts:request-list",
            page=_page(self.request, qs),
            search=search,
            status=status,
            statuses=AccountRequestStatus.choices,
            reject_form=RejectForm(),
            **kwargs,
        )


class AccountRequestApproveView(SystemRoleRequiredMixin, View):
    """Approve: registers the account with CSC."""

    system_roles = ADMIN
    permission_denied_message = "Only a system administrator can approve account requests."

    def post(self, request, pk):
        account_request = get_object_or_404(AccountRequest, pk=pk)
        try:
            account = services.approve_account_request(account_request, request.user)
        except ValidationError as exc:
            messages.error(request, f"{account_request.name} was not approved: {exc.messages[0]}")
        else:
            messages.success(request, f"Account {account.name} approved and registered.")
        return redirect("accounts:request-list")


class AccountRequestRejectView(SystemRoleRequiredMixin, View):
    """Reject with a reason."""

    system_roles = ADMIN
    permission_denied_message = "Only a system administrator can reject account requests."

    def post(self, request, pk):
        account_request = get_object_or_404(AccountRequest, pk=pk)
        form = RejectForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Give a reason for the rejection.")
            return redirect("accounts:request-list")
        try:
            services.reject_account_request(
                account_request, form.cleaned_data["reason"], request.user
            )
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(request, f"Account request {account_request.name} rejected.")
        return redirect("accounts:request-list")


class LocalAccountDetailView(AdminPageMixin, TemplateView):
    """One account: details, Local Virtual Accounts, members."""

    template_name = "accounts/account_detail.html"

    def get_context_data(self, pk, **kwargs):
        account = access.get_account_or_404(self.request.user, pk)
        kwargs.setdefault("va_form", VirtualAccountForm())
        return super().get_context_data(
            tab="accounts:account-list",
            account=account,
            virtual_accounts=account.virtual_accounts.all(),
            memberships=account.memberships.select_related("user"),
            can_manage=access.can_manage(self.request.user, account),
            purchased=account.purchased_licenses.select_related("virtual_account"),
            **kwargs,
        )

    def post(self, request, pk):
        """Create a local virtual account."""
        account = access.get_account_or_404(request.user, pk)
        form = VirtualAccountForm(request.POST)
        if form.is_valid():
            try:
                va = services.create_virtual_account(
                    account, **form.cleaned_data, by_user=request.user
                )
            except ValidationError as exc:
                errors_to_form(form, exc)
            else:
                messages.success(request, f"Local virtual account {va.name} created.")
                return redirect("accounts:account-detail", pk=account.pk)
        return self.render_to_response(self.get_context_data(pk=pk, va_form=form), status=400)


class LocalAccountDeleteView(AdminPageMixin, TemplateView):
    """Confirm and delete an account (system administrator)."""

    template_name = "accounts/account_confirm_delete.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            account = access.get_account_or_404(request.user, kwargs["pk"])
            if not access.is_system_admin(request.user):
                raise PermissionDenied("Only a system administrator can delete accounts.")
            self.account = account
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(tab="accounts:account-list", account=self.account)

    def post(self, request, pk):
        name = self.account.name
        try:
            services.delete_local_account(self.account, request.user)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
            return redirect("accounts:account-detail", pk=pk)
        messages.success(request, f"Account {name} deleted.")
        return redirect("accounts:account-list")


class LocalAccountEditView(AdminPageMixin, TemplateView):
    """Edit an account's e-mail for notification and description (its Account Administrators
    and system administrators)."""

    template_name = "accounts/account_edit.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.account = access.get_account_or_404(request.user, kwargs["pk"])
            if not access.can_manage(request.user, self.account):
                raise PermissionDenied("Only an Account Administrator can edit the account.")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        kwargs.setdefault(
            "form",
            LocalAccountEditForm(
                initial={
                    "notification_email": self.account.notification_email,
                    "description": self.account.description,
                }
            ),
        )
        return super().get_context_data(tab="accounts:account-list", account=self.account, **kwargs)

    def post(self, request, pk):
        form = LocalAccountEditForm(request.POST)
        if form.is_valid():
            try:
                services.update_local_account(
                    self.account, **form.cleaned_data, by_user=request.user
                )
            except ValidationError as exc:
                errors_to_form(form, exc)
            else:
                messages.success(request, f"Account {self.account.name} saved.")
                return redirect("accounts:account-detail", pk=pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)


ACCOUNT_ACTIONS = {
    "deactivate": (
        "Deactivate",
        "btn-warning",
        'Its products are refused ("account_deactivated") when they register, renew, ask for '
        "authorization or report usage, and it does not synchronize with Cisco Software Central "
        "until you reactivate it. Nothing is deleted.",
    ),
    "reactivate": (
        "Reactivate",
        "btn-primary",
        "Its products are accepted again and it synchronizes again; Cisco Software Central's "
        "state of its virtual account then decides Active or Inactive.",
    ),
}


class LocalAccountActionView(AdminPageMixin, TemplateView):
    """Confirm, then deactivate or reactivate an account (system administrators)."""

    template_name = "accounts/account_confirm_action.html"

    def dispatch(self, request, *args, **kwargs):
        if kwargs["action"] not in ACCOUNT_ACTIONS:
            raise Http404("No such action")
        if request.user.is_authenticated:
            self.account = access.get_account_or_404(request.user, kwargs["pk"])
            if not access.is_system_admin(request.user):
                raise PermissionDenied(
                    "Only a system administrator can deactivate or reactivate accounts."
                )
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        label, style, description = ACCOUNT_ACTIONS[self.kwargs["action"]]
        return super().get_context_data(
            tab="accounts:account-list",
            account=self.account,
            label=label,
            style=style,
            description=description,
            **kwargs,
        )

    def post(self, request, pk, action):
        try:
            services.set_local_account_active(
                self.account, action == "reactivate", by_user=request.user
            )
        except ValidationError as exc:
            return self.render_to_response(
                self.get_context_data(error=" ".join(exc.messages)), status=400
            )
        messages.success(request, f"Account {self.account.name} {action}d.")
        return redirect("accounts:account-detail", pk=pk)


# --- Users widget -------------------------------------------------------------------------


class UserListView(SystemAdminRequiredMixin, TemplateView):
    """Users: local users with their system role; create users and change roles."""

    template_name = "accounts/user_list.html"

    def get_context_data(self, **kwargs):
        User = get_user_model()
        search = self.request.GET.get("search", "").strip()
        qs = (
            User.objects.select_related("ssm_profile")
            .prefetch_related("account_memberships__account")
            .order_by("username")
        )
        if search:
            qs = qs.filter(Q(username__icontains=search) | Q(email__icontains=search))
        page = _page(self.request, qs)
        for user in page:
            user.system_role_enum = access.system_role(user) or SystemRole.SYSTEM_USER
        kwargs.setdefault("form", UserCreateForm())
        return super().get_context_data(
            page=page, search=search, role_form=SystemRoleForm(), **kwargs
        )

    def post(self, request):
        form = UserCreateForm(request.POST)
        if form.is_valid():
            try:
                user = services.create_user(
                    username=form.cleaned_data["username"],
                    email=form.cleaned_data["email"],
                    password=form.cleaned_data["password"],
                    system_role_value=form.cleaned_data["system_role"],
                    by_user=request.user,
                )
            except ValidationError as exc:
                errors_to_form(form, exc)
            else:
                messages.success(request, f"User {user.username} created.")
                return redirect("accounts:user-list")
        return self.render_to_response(self.get_context_data(form=form), status=400)


class UserSystemRoleView(SystemRoleRequiredMixin, View):
    """Change a user's system role."""

    system_roles = ADMIN
    permission_denied_message = "Only a system administrator can change system roles."

    def post(self, request, pk):
        user = get_object_or_404(get_user_model(), pk=pk)
        form = SystemRoleForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose a system role.")
            return redirect("accounts:user-list")
        try:
            services.set_system_role(user, form.cleaned_data["system_role"], request.user)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(request, f"System role of {user.username} changed.")
        return redirect("accounts:user-list")


USER_ACTIONS = {
    "reset-password": (
        "Reset password",
        "btn-warning",
        "{user} gets a one-time password, shown to you once: give it to them. Their lockout "
        "ends, their current password stops working, and they must choose a new password when "
        "they next log in.",
    ),
    "deactivate": (
        "Deactivate",
        "btn-warning",
        "{user} can no longer log in, and their open sessions end at their next request. Their "
        "roles are kept for when you reactivate them.",
    ),
    "reactivate": ("Reactivate", "btn-primary", "{user} can log in again with their roles."),
    "delete": (
        "Delete",
        "btn-danger",
        "{user} and their account roles are deleted. The event logs keep their name. This "
        "cannot be undone.",
    ),
}


class UserDetailView(SystemAdminRequiredMixin, TemplateView):
    """A user's page: name and e-mail, roles, status, last log-in, and the lifecycle actions
    (reset password, deactivate or reactivate, delete)."""

    template_name = "accounts/user_detail.html"

    def get_context_data(self, pk, **kwargs):
        subject = get_object_or_404(
            get_user_model().objects.prefetch_related("account_memberships__account"), pk=pk
        )
        kwargs.setdefault(
            "form",
            UserEditForm(
                initial={
                    "first_name": subject.first_name,
                    "last_name": subject.last_name,
                    "email": subject.email,
                }
            ),
        )
        return super().get_context_data(
            subject=subject,
            role=access.system_role(subject) or SystemRole.SYSTEM_USER,
            one_time_password=services.one_time_password_in_use(subject),
            actions=[
                (slug, label, style)
                for slug, (label, style, _) in USER_ACTIONS.items()
                if slug != ("deactivate" if not subject.is_active else "reactivate")
            ],
            **kwargs,
        )

    def post(self, request, pk):
        subject = get_object_or_404(get_user_model(), pk=pk)
        form = UserEditForm(request.POST)
        if form.is_valid():
            try:
                services.update_user(subject, **form.cleaned_data, by_user=request.user)
            except ValidationError as exc:
                errors_to_form(form, exc)
            else:
                messages.success(request, f"User {subject.username} saved.")
                return redirect("accounts:user-detail", pk=pk)
        return self.render_to_response(self.get_context_data(pk=pk, form=form), status=400)


class UserActionView(SystemAdminRequiredMixin, TemplateView):
    """Confirm, then do, one action on a user: reset password, deactivate, reactivate or
    delete. A refusal (yourself, the last system administrator) is a 400 with the reason."""

    template_name = "accounts/user_confirm.html"

    def get_context_data(self, pk, action, **kwargs):
        if action not in USER_ACTIONS:
            raise Http404("No such action")
        subject = get_object_or_404(get_user_model(), pk=pk)
        label, style, description = USER_ACTIONS[action]
        return super().get_context_data(
            subject=subject,
            action=action,
            label=label,
            style=style,
            description=description.format(user=subject.username),
            **kwargs,
        )

    def post(self, request, pk, action):
        context = self.get_context_data(pk=pk, action=action)
        subject = context["subject"]
        try:
            if action == "reset-password":
                password = services.reset_password(subject, by_user=request.user)
                context["one_time_password"] = password
                return self.response_class(
                    request, ["accounts/user_password.html"], context, using=self.template_engine
                )
            if action == "delete":
                services.delete_user(subject, by_user=request.user)
                messages.success(request, f"User {subject.username} deleted.")
                return redirect("accounts:user-list")
            services.set_user_active(subject, action == "reactivate", by_user=request.user)
        except ValidationError as exc:
            context["error"] = " ".join(exc.messages)
            return self.render_to_response(context, status=400)
        messages.success(request, f"User {subject.username} {action}d.")
        return redirect("accounts:user-detail", pk=pk)


# --- Access Management widget -------------------------------------------------------------


class AccessManagementView(AdminPageMixin, TemplateView):
    """Access Management: who has which role in each account the user administers."""

    template_name = "accounts/access_management.html"

    def _accounts(self):
        visible = access.accounts_for(self.request.user).order_by("name")
        return [a for a in visible if access.can_manage(self.request.user, a)]

    def _selected(self, accounts):
        wanted = self.request.GET.get("account") or self.request.POST.get("account")
        if wanted:
            account = access.get_account_or_404(self.request.user, wanted)
            if not access.can_manage(self.request.user, account):
                raise PermissionDenied("You cannot manage access to this account.")
            return account
        return accounts[0] if accounts else None

    def get_context_data(self, **kwargs):
        accounts = self._accounts()
        account = kwargs.pop("account", None) or self._selected(accounts)
        kwargs.setdefault("form", MembershipForm())
        return super().get_context_data(
            accounts=accounts,
            account=account,
            memberships=(
                AccountMembership.objects.filter(account=account).select_related("user")
                if account
                else []
            ),
            **kwargs,
        )

    def post(self, request):
        account = self._selected(self._accounts())
        if account is None:
            raise Http404("No account to manage")
        action = request.POST.get("action", "set")
        if action == "remove":
            user = get_by_id_or_404(get_user_model().objects.all(), request.POST.get("user"))
            try:
                services.remove_account_role(user, account, request.user)
            except ValidationError as exc:
                messages.error(request, exc.messages[0])
            else:
                messages.success(
                    request, f"{user.username} no longer has access to {account.name}."
                )
            return redirect(reverse("accounts:access-management") + f"?account={account.pk}")
        form = MembershipForm(request.POST)
        if form.is_valid():
            services.set_account_role(
                form.cleaned_data["user"], account, form.cleaned_data["role"], request.user
            )
            messages.success(request, f"Access of {form.cleaned_data['user'].username} saved.")
            return redirect(reverse("accounts:access-management") + f"?account={account.pk}")
        return self.render_to_response(
            self.get_context_data(form=form, account=account), status=400
        )


# --- Event Log ----------------------------------------------------------------------------


def events_for(user):
    """The events a user may read: everything for system staff, else their accounts' events."""
    if access.is_system_staff(user):
        return Event.objects.all()
    return Event.objects.filter(account__in=access.accounts_for(user))


class EventLogView(AdminPageMixin, TemplateView):
    """Event Log with filters (text, category, result, account, dates), and as CSV."""

    template_name = "accounts/event_log.html"

    def get(self, request, *args, **kwargs):
        if request.GET.get("format") == "csv":
            form = EventFilterForm(request.GET)
            if not form.is_valid():
                errors = "; ".join(f"{f}: {' '.join(e)}" for f, e in form.errors.items())
                return HttpResponseBadRequest(f"The filters are not valid: {errors}")
            return events_csv(self.events(form), "event-log.csv")
        return super().get(request, *args, **kwargs)

    def events(self, form):
        """The reader's events narrowed by the filters (all of them when the form is bad)."""
        qs = events_for(self.request.user).select_related("account")
        if form.is_valid():
            data = form.cleaned_data
            if data["search"]:
                qs = qs.filter(
                    Q(message__icontains=data["search"])
                    | Q(username__icontains=data["search"])
                    | Q(action__icontains=data["search"])
                )
            if data["category"]:
                qs = qs.filter(category=data["category"])
            if data["result"]:
                qs = qs.filter(result=data["result"])
            if data["account"]:
                qs = qs.filter(account__name__iexact=data["account"])
            if data["since"]:
                qs = qs.filter(created__gte=dt.datetime.combine(data["since"], dt.time(), dt.UTC))
            if data["until"]:
                end = dt.datetime.combine(data["until"], dt.time(), dt.UTC) + dt.timedelta(days=1)
                qs = qs.filter(created__lt=end)
        return qs

    def get_context_data(self, **kwargs):
        form = EventFilterForm(self.request.GET or None)
        page = _page(self.request, self.events(form))
        query = self.request.GET.copy()
        query.pop("page", None)
        return super().get_context_data(
            tab="accounts:event-log", form=form, page=page, query=query.urlencode(), **kwargs
        )
