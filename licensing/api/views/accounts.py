"""A local account's virtual accounts, license usage, License Transactions and Event Log."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from accounts import services as accounts_services

from ... import reports, services
from ...models import LicenseUsage
from ..serializers import (
    AlertListSerializer,
    EventListSerializer,
    LicenseTransactionListSerializer,
    UsageListSerializer,
    VirtualAccountListSerializer,
    VirtualAccountResponseSerializer,
    VirtualAccountSerializer,
)
from .base import ACCOUNT_PARAMETER, PAGING_PARAMETERS, AccountAPIView, actor, paging

DATE_PARAMETERS = [
    OpenApiParameter("start", str, required=False, description="From (YYYY-MM-DD)"),
    OpenApiParameter("end", str, required=False, description="To (YYYY-MM-DD), included"),
]
VA_PARAMETER = OpenApiParameter(
    "virtualAccount", str, required=False, description="One local virtual account (by name)"
)


def _error_text(exc: DjangoValidationError) -> str:
    messages = exc.message_dict.values() if hasattr(exc, "error_dict") else [exc.messages]
    return " ".join(m for group in messages for m in group)


class VirtualAccountsAPIView(AccountAPIView):
    """The local virtual accounts of a local account; POST creates one."""

    @extend_schema(parameters=[ACCOUNT_PARAMETER], responses=VirtualAccountListSerializer)
    def get(self, request, account):
        found = self.account(request, account)
        rows = VirtualAccountSerializer(found.virtual_accounts.all(), many=True).data
        return Response({"status": "SUCCESS", "statusMessage": "", "virtualAccounts": rows})

    @extend_schema(
        parameters=[ACCOUNT_PARAMETER],
        request=VirtualAccountSerializer,
        responses={201: VirtualAccountResponseSerializer},
    )
    def post(self, request, account):
        found = self.account(request, account)
        self.require_change(request, found)
        body = VirtualAccountSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        who = actor(request)
        try:
            created = accounts_services.create_virtual_account(
                found,
                name=body.validated_data["name"],
                description=body.validated_data.get("description", ""),
                by_user=who["user"],
                username=who.get("username", ""),
            )
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        except DjangoValidationError as exc:
            raise ValidationError({"detail": _error_text(exc)}) from None
        return Response(
            {
                "status": "SUCCESS",
                "statusMessage": f"Virtual account {created.name} created in {found.name}",
                "virtualAccount": VirtualAccountSerializer(created).data,
            },
            status=status.HTTP_201_CREATED,
        )


class _ScopedAPIView(AccountAPIView):
    """An account-wide list, narrowed by ?virtualAccount=, ?start=, ?end= and ?search=."""

    def scope(self, request, account) -> reports.Scope:
        found = self.account(request, account)
        va = None
        name = request.query_params.get("virtualAccount", "")
        if name:
            va = found.virtual_accounts.filter(name=name).first()
            if va is None:
                raise ValidationError({"virtualAccount": "No such virtual account."})
        try:
            scope = reports.scope_from(request.query_params, found, None)
        except services.LicensingError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        return reports.Scope(found, va, scope.start, scope.end)

    def search(self, request) -> str:
        return request.query_params.get("search", "").strip()[:200]


class UsageAPIView(_ScopedAPIView):
    """The licenses each registered product instance uses (in contact within the dates)."""

    @extend_schema(
        parameters=[ACCOUNT_PARAMETER, VA_PARAMETER, *DATE_PARAMETERS, *PAGING_PARAMETERS],
        responses=UsageListSerializer,
    )
    def get(self, request, account):
        scope = self.scope(request, account)
        offset, limit = paging(request)
        rows = LicenseUsage.objects.filter(instance__in=reports.instances_in(scope), count__gt=0)
        search = self.search(request)
        if search:
            rows = rows.filter(Q(instance__name__icontains=search) | Q(tag__icontains=search))
        total = rows.count()
        page = rows.order_by("instance__name", "tag").values(
            "tag",
            "count",
            "status",
            virtualAccount=F("instance__virtual_account__name"),
            productInstance=F("instance__name"),
            instanceId=F("instance__uuid"),
            lastContactDate=F("instance__last_contact"),
        )[offset : offset + limit]
        usage = [{**row, "license": services.license_name(row["tag"])} for row in page]
        return Response(UsageListSerializer({"totalRecords": total, "usage": usage}).data)


class LicenseTransactionsAPIView(_ScopedAPIView):
    """License Transactions of the account (to or from one virtual account), newest first."""

    @extend_schema(
        parameters=[
            ACCOUNT_PARAMETER,
            VA_PARAMETER,
            OpenApiParameter("type", str, required=False, enum=["license", "product_instance"]),
            *DATE_PARAMETERS,
            *PAGING_PARAMETERS,
        ],
        responses=LicenseTransactionListSerializer,
    )
    def get(self, request, account):
        scope = self.scope(request, account)
        offset, limit = paging(request)
        found = reports.transactions(
            scope, kind=request.query_params.get("type", ""), search=self.search(request)
        )
        data = {"totalRecords": found.count(), "transactions": found[offset : offset + limit]}
        return Response(LicenseTransactionListSerializer(data).data)


class EventsAPIView(_ScopedAPIView):
    """The account's Event Log, newest first."""

    @extend_schema(
        parameters=[ACCOUNT_PARAMETER, *DATE_PARAMETERS, *PAGING_PARAMETERS],
        responses=EventListSerializer,
    )
    def get(self, request, account):
        scope = self.scope(request, account)
        offset, limit = paging(request)
        found = reports.events(scope, search=self.search(request))
        data = {"totalRecords": found.count(), "events": found[offset : offset + limit]}
        return Response(EventListSerializer(data).data)


class AlertsAPIView(AccountAPIView):
    """The account's open alerts (those dismissed in the Alerts tab left out)."""

    @extend_schema(parameters=[ACCOUNT_PARAMETER], responses=AlertListSerializer)
    def get(self, request, account):
        found = self.account(request, account)
        data = {"status": "SUCCESS", "statusMessage": "", "alerts": services.account_alerts(found)}
        return Response(AlertListSerializer(data).data)
