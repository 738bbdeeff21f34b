"""Licenses of a local virtual account or of the whole local account, and license transfers
between virtual accounts."""

from django.db import transaction
from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.models import PurchasedLicense

from ... import services
from ..serializers import (
    AccountLicenseListSerializer,
    LicenseListSerializer,
    LicenseTransactionSerializer,
    LicenseTransferResponseSerializer,
    LicenseTransferSerializer,
)
from .base import ACCOUNT_PARAMETER, PATH_PARAMETERS, AccountAPIView, VirtualAccountAPIView, actor


class LicensesAPIView(VirtualAccountAPIView):
    """The Licenses tab of a local virtual account."""

    @extend_schema(parameters=PATH_PARAMETERS, responses=LicenseListSerializer)
    def get(self, request, account, virtual_account):
        va = self.resolve(request, account, virtual_account)
        return Response(LicenseListSerializer({"licenses": services.license_rows(va)}).data)


class AccountLicensesAPIView(AccountAPIView):
    """The licenses of the whole local account, each with its virtual accounts' figures."""

    @extend_schema(parameters=[ACCOUNT_PARAMETER], responses=AccountLicenseListSerializer)
    def get(self, request, account):
        found = self.account(request, account)
        rows = services.account_license_rows(found)
        return Response(
            AccountLicenseListSerializer(
                {"status": "SUCCESS", "statusMessage": "", "licenses": rows}
            ).data
        )


class LicenseTransferAPIView(VirtualAccountAPIView):
    """POST {"licenses": [{"license", "quantity", "targetVirtualAccount"}]}: move purchased
    licenses from this virtual account to others of the account, all of them or none."""

    @extend_schema(
        parameters=PATH_PARAMETERS,
        request=LicenseTransferSerializer,
        responses={200: LicenseTransferResponseSerializer},
    )
    def post(self, request, account, virtual_account):
        va = self.resolve(request, account, virtual_account)
        self.require_use(request, va)
        body = LicenseTransferSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        targets = {v.name: v for v in va.account.virtual_accounts.all()}
        done = []
        try:
            with transaction.atomic():
                for n, item in enumerate(body.validated_data["licenses"]):
                    target = targets.get(item["targetVirtualAccount"])
                    if target is None:
                        raise ValidationError(
                            {"licenses": {n: "No such virtual account in this account."}}
                        )
                    wanted = item["license"]
                    held = PurchasedLicense.objects.filter(virtual_account=va).filter(
                        Q(tag=wanted) | Q(name__iexact=wanted)
                    )
                    tag = held.values_list("tag", flat=True).first()
                    if tag is None:
                        raise ValidationError(
                            {"licenses": {n: f"{va.name} holds no license {wanted}."}}
                        )
                    done.append(
                        services.transfer_licenses(
                            va, target, tag, item["quantity"], **actor(request)
                        )
                    )
        except services.LicensingError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        moved = ", ".join(f"{t.quantity} × {t.license_name} to {t.target}" for t in done)
        return Response(
            {
                "status": "SUCCESS",
                "statusMessage": f"Transferred from {va.name}: {moved}",
                "transactions": LicenseTransactionSerializer(done, many=True).data,
            }
        )
