"""Registered product instances of a local virtual account: list, remove, transfer."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from ... import services
from ...models import ProductInstance
from ..serializers import (
    ProductInstanceListSerializer,
    StatusSerializer,
    TransferSerializer,
)
from .base import PAGING_PARAMETERS, PATH_PARAMETERS, VirtualAccountAPIView, actor, paging


class ProductInstanceAPIView(VirtualAccountAPIView):
    """One registered product instance of a local virtual account: DELETE removes it (its
    licenses are released)."""

    def instance(self, request, account, virtual_account, instance_id) -> ProductInstance:
        va = self.resolve(request, account, virtual_account)
        self.require_use(request, va)
        found = ProductInstance.objects.filter(
            virtual_account=va, uuid=instance_id, status="registered"
        ).first()
        if found is None:
            raise NotFound("No such product instance in this virtual account.")
        return found

    @extend_schema(
        parameters=[*PATH_PARAMETERS, OpenApiParameter("instance_id", str, OpenApiParameter.PATH)],
        request=None,
        responses={200: StatusSerializer},
    )
    def delete(self, request, account, virtual_account, instance_id):
        found = self.instance(request, account, virtual_account, instance_id)
        try:
            services.remove_instance(found, **actor(request))
        except services.LicensingError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        return Response(
            {"status": "SUCCESS", "statusMessage": f"Product instance {found.name} removed"}
        )


class ProductInstanceTransferAPIView(ProductInstanceAPIView):
    """POST {"virtualAccount": name}: move the instance and its license usage there."""

    http_method_names = ["post", "options"]

    @extend_schema(
        parameters=[*PATH_PARAMETERS, OpenApiParameter("instance_id", str, OpenApiParameter.PATH)],
        request=TransferSerializer,
        responses={200: StatusSerializer},
    )
    def post(self, request, account, virtual_account, instance_id):
        found = self.instance(request, account, virtual_account, instance_id)
        body = TransferSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        target = found.virtual_account.account.virtual_accounts.filter(
            name=body.validated_data["virtualAccount"]
        ).first()
        if target is None:
            raise ValidationError({"virtualAccount": "No such virtual account in this account."})
        try:
            services.transfer_instance(found, target, **actor(request))
        except services.LicensingError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        return Response(
            {
                "status": "SUCCESS",
                "statusMessage": f"Product instance {found.name} transferred to {target.name}",
            }
        )


class ProductInstancesAPIView(VirtualAccountAPIView):
    """Registered product instances of a local virtual account (offset/limit paging)."""

    @extend_schema(
        parameters=[*PATH_PARAMETERS, *PAGING_PARAMETERS],
        responses=ProductInstanceListSerializer,
    )
    def get(self, request, account, virtual_account):
        va = self.resolve(request, account, virtual_account)
        offset, limit = paging(request)
        qs = ProductInstance.objects.filter(virtual_account=va, status="registered").order_by(
            "name", "id"
        )
        search = request.query_params.get("search", "").strip()
        if search:
            qs = qs.filter(name__icontains=search)
        data = ProductInstanceListSerializer(
            {"totalRecords": qs.count(), "productInstances": qs[offset : offset + limit]}
        ).data
        return Response(data)
