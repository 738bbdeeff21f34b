"""The mock CSC's HTTP API, its manual-sync page and its fault-injection control API."""

import functools
import hmac
import json
import time

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import pki, seed, signing
from .models import (
    ClassicLicense,
    Entitlement,
    Fault,
    Registration,
    ReportedProductInstance,
    ReportedUsage,
    SmartAccount,
    VirtualAccount,
)


class ApiError(Exception):
    """An answer with an HTTP status and a reason for the caller."""

    def __init__(self, status, detail):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def api(view):
    """JSON in and out, faults applied, errors as {"detail": ...}."""

    @csrf_exempt
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        fault = Fault.current()
        if fault.mode == Fault.Mode.SLOW:
            time.sleep(max(0.0, min(fault.delay, 120.0)))
        elif fault.mode == Fault.Mode.SERVER_ERROR:
            return JsonResponse({"detail": "Service temporarily unavailable."}, status=503)
        body = None
        if request.method == "POST":
            try:
                body = json.loads(request.body or b"null")
            except ValueError:
                return JsonResponse({"detail": "The request body is not JSON."}, status=400)
        try:
            answer = view(
                request, body, *args, bad=fault.mode == Fault.Mode.BAD_SIGNATURE, **kwargs
            )
        except ApiError as exc:
            return JsonResponse({"detail": exc.detail}, status=exc.status)
        return JsonResponse(answer, status=getattr(answer, "status", 200))

    return wrapper


@require_GET
@api
def ping(request, body, bad):
    return {"status": "ok", "time": timezone.now().isoformat()}


def _text(body, key, label):
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, f"{label} is required.")
    return value.strip()


@require_POST
@api
def register(request, body, bad):
    """Bind a local account to a virtual account; one local account per virtual account."""
    sa_name = _text(body, "smart_account", "Smart account")
    va_name = _text(body, "virtual_account", "Virtual account")
    local_account = _text(body, "local_account", "Local account")
    satellite_name = _text(body, "satellite_name", "Satellite name")
    server_id = _text(body, "server_id", "Server id")
    smart_account = SmartAccount.objects.filter(name__iexact=sa_name).first()
    if smart_account is None:
        raise ApiError(404, f"Smart account {sa_name} does not exist.")
    with transaction.atomic():
        virtual_account = (
            VirtualAccount.objects.select_for_update()
            .filter(smart_account=smart_account, name__iexact=va_name)
            .first()
        )
        if virtual_account is None:
            raise ApiError(
                404, f"Virtual account {va_name} does not exist in {smart_account.name}."
            )
        existing = Registration.objects.filter(virtual_account=virtual_account).first()
        if existing is not None:
            if existing.server_id == server_id and existing.local_account == local_account:
                registration = existing
            else:
                raise ApiError(
                    409,
                    f"Virtual account {virtual_account.name} is already registered to local "
                    f"account {existing.local_account} on {existing.satellite_name}.",
                )
        else:
            registration = Registration.objects.create(
                virtual_account=virtual_account,
                local_account=local_account,
                satellite_name=satellite_name,
                server_id=server_id,
            )
    return {
        "registration_id": registration.registration_id,
        "secret": registration.secret,
        "smart_account": smart_account.name,
        "virtual_account": virtual_account.name,
        "account_state": virtual_account.state,
    }


def _registration(registration_id) -> Registration:
    found = (
        Registration.objects.select_related("virtual_account__smart_account")
        .filter(registration_id=registration_id)
        .first()
    )
    if found is None:
        raise ApiError(404, "This local account is not registered with Cisco Software Central.")
    return found


def _verified(body, kind, registration) -> dict:
    try:
        payload = signing.verify(body, kind, registration.secret)
    except signing.BadEnvelope as exc:
        raise ApiError(401, str(exc)) from None
    if payload.get("registration_id") != registration.registration_id:
        raise ApiError(403, "The message names another registration.")
    if payload.get("server_id") != registration.server_id:
        raise ApiError(403, "The message comes from another server than the registered one.")
    return payload


def _answer(kind, registration, request_payload, extra, bad):
    payload = {
        "registration_id": registration.registration_id,
        "server_id": registration.server_id,
        "nonce": request_payload.get("nonce"),
        **extra,
    }
    return signing.envelope(kind, payload, registration.secret, bad_signature=bad)


def _synchronize(registration, payload, bad) -> dict:
    instances = payload.get("product_instances", [])
    usage = payload.get("usage", [])
    standard = payload.get("type") == "standard"  # changes since the last one, else all
    removed = payload.get("removed", [])
    if not isinstance(removed, list) or not all(isinstance(n, str) for n in removed):
        raise ApiError(400, "removed must be a list of product instance names.")
    if not isinstance(instances, list) or not all(
        isinstance(i, dict) and isinstance(i.get("name"), str) for i in instances
    ):
        raise ApiError(400, "product_instances must be a list of objects with a name.")
    if not isinstance(usage, list) or not all(
        isinstance(u, dict) and isinstance(u.get("tag"), str) and isinstance(u.get("count"), int)
        for u in usage
    ):
        raise ApiError(400, "usage must be a list of objects with a tag and a count.")
    rum_reports = payload.get("rum_reports", [])
    if not isinstance(rum_reports, list) or not all(
        isinstance(r, dict) and isinstance(r.get("report_id"), str) for r in rum_reports
    ):
        raise ApiError(400, "rum_reports must be a list of objects with a report_id.")
    # Smart Licensing Using Policy: every RUM report received is acknowledged
    extra = {
        "rum_acks": [
            {
                "report_id": r["report_id"],
                "udi_pid": str(r.get("udi_pid", "")),
                "udi_sn": str(r.get("udi_sn", "")),
                "status": "ACK",
            }
            for r in rum_reports
        ]
    }
    csr = payload.get("product_ca_csr")
    if csr is not None:
        if not isinstance(csr, str):
            raise ApiError(400, "product_ca_csr must be a PEM certificate request.")
        try:
            extra["product_ca_certificate"], extra["product_ca_chain"] = pki.sign_product_ca(
                settings.CSC_CA_DIR, csr
            )
        except pki.BadCsr as exc:
            raise ApiError(400, str(exc)) from None
    now = timezone.now()
    with transaction.atomic():
        if standard:
            names = [i["name"][:300] for i in instances] + [n[:300] for n in removed]
            registration.product_instances.filter(name__in=names).delete()
        else:
            registration.product_instances.all().delete()
        ReportedProductInstance.objects.bulk_create(
            ReportedProductInstance(
                registration=registration,
                name=i["name"][:300],
                product_type=str(i.get("product_type", ""))[:32],
                data=i,
            )
            for i in instances
        )
        registration.usage.all().delete()
        ReportedUsage.objects.bulk_create(
            ReportedUsage(registration=registration, tag=u["tag"][:200], count=u["count"])
            for u in usage
        )
        registration.last_synchronized = now
        registration.synchronizations += 1
        registration.save(update_fields=["last_synchronized", "synchronizations"])
    virtual_account = registration.virtual_account
    return _answer(
        "sync-response",
        registration,
        payload,
        {
            "synchronized_at": now.isoformat(),
            "account_state": virtual_account.state,
            "smart_account": virtual_account.smart_account.name,
            "virtual_account": virtual_account.name,
            "entitlements": [e.as_dict() for e in virtual_account.entitlements.all()],
            **extra,
        },
        bad,
    )


@require_POST
@api
def synchronize(request, body, registration_id, bad):
    """Take the product instances and usage; answer entitlements and account state."""
    registration = _registration(registration_id)
    return _synchronize(registration, _verified(body, "sync-request", registration), bad)


@require_POST
@api
def manual_sync(request, body, bad):
    """The same exchange as a file: the body is the request file, the answer the response file."""
    try:
        registration = _registration(signing.peek(body).get("registration_id"))
    except signing.BadEnvelope as exc:
        raise ApiError(400, str(exc)) from None
    return _synchronize(registration, _verified(body, "sync-request", registration), bad)


@require_POST
@api
def deregister(request, body, registration_id, bad):
    """Remove a registration and the product instances reported with it."""
    registration = _registration(registration_id)
    payload = _verified(body, "deregister-request", registration)
    answer = _answer("deregister-response", registration, payload, {"deregistered": True}, bad)
    registration.delete()
    return answer


@require_POST
@api
def sign_csr(request, body, registration_id, bad):
    """Sign the on-prem server's product CA certificate request."""
    registration = _registration(registration_id)
    payload = _verified(body, "sign-csr-request", registration)
    csr = payload.get("csr")
    if not isinstance(csr, str):
        raise ApiError(400, "csr (PEM) is required.")
    try:
        certificate, chain = pki.sign_product_ca(settings.CSC_CA_DIR, csr)
    except pki.BadCsr as exc:
        raise ApiError(400, str(exc)) from None
    return _answer(
        "sign-csr-response",
        registration,
        payload,
        {"certificate": certificate, "chain": chain},
        bad,
    )


@require_POST
@api
def classic_licenses(request, body, registration_id, bad):
    """The virtual account's classic (PAK) licenses that can still be converted."""
    registration = _registration(registration_id)
    payload = _verified(body, "classic-licenses-request", registration)
    rows = registration.virtual_account.classic_licenses.filter(quantity__gt=0)
    return _answer(
        "classic-licenses-response",
        registration,
        payload,
        {"classic_licenses": [c.as_dict() for c in rows]},
        bad,
    )


@require_POST
@api
def convert(request, body, registration_id, bad):
    """Convert a quantity of a PAK's license to Smart Licensing: it leaves the PAK and is added
    to the virtual account's entitlements (Purchased after the next synchronization)."""
    registration = _registration(registration_id)
    payload = _verified(body, "convert-request", registration)
    pak, tag, quantity = payload.get("pak"), payload.get("tag"), payload.get("quantity")
    if not isinstance(pak, str) or not isinstance(tag, str):
        raise ApiError(400, "pak and tag are required.")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise ApiError(400, "quantity must be a whole number of at least 1.")
    with transaction.atomic():
        classic = (
            ClassicLicense.objects.select_for_update()
            .filter(virtual_account=registration.virtual_account, pak=pak, tag=tag)
            .first()
        )
        if classic is None:
            raise ApiError(404, f"PAK {pak} holds no license {tag} in this virtual account.")
        if quantity > classic.quantity:
            raise ApiError(
                409, f"PAK {pak} has {classic.quantity} of {classic.name} left to convert."
            )
        classic.quantity -= quantity
        classic.save(update_fields=["quantity"])
        entitlement, _ = Entitlement.objects.get_or_create(
            virtual_account=registration.virtual_account,
            tag=tag,
            defaults={
                "name": classic.name.removesuffix(" (classic)"),
                "product_type": classic.product_type,
            },
        )
        Entitlement.objects.filter(pk=entitlement.pk).update(
            quantity=entitlement.quantity + quantity
        )
    return _answer(
        "convert-response",
        registration,
        payload,
        {"pak": pak, "tag": tag, "converted": quantity, "left": classic.quantity},
        bad,
    )


@require_http_methods(["GET", "POST"])
def manual_sync_page(request):
    """Upload a sync request file, download the response file (for air-gapped sites)."""
    error = None
    if request.method == "POST":
        upload = request.FILES.get("request_file")
        if upload is None:
            error = "Choose the sync request file downloaded from the on-prem server."
        else:
            try:
                body = json.loads(upload.read().decode("utf-8"))
                registration = _registration(signing.peek(body).get("registration_id"))
                fault = Fault.current()
                answer = _synchronize(
                    registration,
                    _verified(body, "sync-request", registration),
                    fault.mode == Fault.Mode.BAD_SIGNATURE,
                )
            except (UnicodeDecodeError, ValueError):
                error = "The file is not a sync request file."
            except signing.BadEnvelope as exc:
                error = str(exc)
            except ApiError as exc:
                error = exc.detail
            else:
                response = HttpResponse(
                    json.dumps(answer, indent=2), content_type="application/json"
                )
                name = f"sync-response-{registration.local_account}.json".replace(" ", "_")
                response["Content-Disposition"] = f'attachment; filename="{name}"'
                return response
    return render(
        request, "mockcsc/manual_sync.html", {"error": error}, status=400 if error else 200
    )


# --- Control API (fault injection and data set-up for tests), enabled by CSC_CONTROL_TOKEN ---


def control(view):
    @csrf_exempt
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        token = settings.CSC_CONTROL_TOKEN
        given = request.headers.get("X-CSC-Control-Token", "")
        if not token or not hmac.compare_digest(given, token):
            return JsonResponse({"detail": "Not found."}, status=404)
        try:
            body = json.loads(request.body or b"{}") if request.method == "POST" else {}
            return JsonResponse(view(request, body, *args, **kwargs))
        except ApiError as exc:
            return JsonResponse({"detail": exc.detail}, status=exc.status)
        except (ValueError, KeyError, TypeError) as exc:
            return JsonResponse({"detail": f"Bad control request: {exc}"}, status=400)

    return wrapper


@require_http_methods(["GET", "POST"])
@control
def control_fault(request, body):
    """GET the current fault; POST {"mode": none|slow|server_error|bad_signature, "delay": s}."""
    if request.method == "POST":
        mode = Fault.Mode(body.get("mode", "none"))
        Fault.objects.update_or_create(
            pk=1, defaults={"mode": mode, "delay": float(body.get("delay", 0))}
        )
    fault = Fault.current()
    return {"mode": fault.mode, "delay": fault.delay}


@require_POST
@control
def control_virtual_account(request, body):
    """Create a virtual account: {"smart_account", "name", "licenses": [{name, tag, quantity,
    product_type}] or omitted for the full seeded set}."""
    smart_account, _ = SmartAccount.objects.get_or_create(name=body["smart_account"])
    if VirtualAccount.objects.filter(smart_account=smart_account, name=body["name"]).exists():
        raise ApiError(409, "That virtual account exists.")
    licenses = body.get("licenses")
    rows = (
        [(x["name"], x["tag"], int(x["quantity"]), x["product_type"]) for x in licenses]
        if licenses is not None
        else seed.ALL_LICENSES
    )
    virtual_account = seed.add_virtual_account(smart_account, body["name"], rows)
    return {"id": virtual_account.pk, "name": virtual_account.name}


@require_POST
@control
def control_entitlement(request, body):
    """Set a purchased quantity: {"smart_account", "virtual_account", "tag", "quantity"}."""
    updated = Entitlement.objects.filter(
        virtual_account__smart_account__name=body["smart_account"],
        virtual_account__name=body["virtual_account"],
        tag=body["tag"],
    ).update(quantity=int(body["quantity"]))
    if not updated:
        raise ApiError(404, "No such entitlement.")
    return {"updated": updated}


@require_POST
@control
def control_virtual_account_state(request, body):
    """Set a virtual account's state: {"smart_account", "virtual_account", "state"}."""
    state = VirtualAccount.State(body["state"])
    updated = VirtualAccount.objects.filter(
        smart_account__name=body["smart_account"], name=body["virtual_account"]
    ).update(state=state)
    if not updated:
        raise ApiError(404, "No such virtual account.")
    return {"updated": updated}


@require_GET
@control
def control_registrations(request, body):
    """Every registration with its reported product instances and usage."""
    return {
        "registrations": [
            {
                "registration_id": r.registration_id,
                "smart_account": r.virtual_account.smart_account.name,
                "virtual_account": r.virtual_account.name,
                "local_account": r.local_account,
                "satellite_name": r.satellite_name,
                "server_id": r.server_id,
                "synchronizations": r.synchronizations,
                "product_instances": [p.name for p in r.product_instances.all()],
                "usage": {u.tag: u.count for u in r.usage.all()},
            }
            for r in Registration.objects.select_related("virtual_account__smart_account")
        ]
    }
