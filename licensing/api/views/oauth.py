"""OAuth2 token endpoint of the API Toolkit (client credentials grant)."""

import base64

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ... import services


@csrf_exempt
@require_POST
def oauth_token(request):
    """OAuth2 token endpoint, client credentials grant (RFC 6749 §4.4)."""
    if request.POST.get("grant_type") != "client_credentials":
        return JsonResponse(
            {
                "error": "unsupported_grant_type",
                "error_description": "grant_type must be client_credentials",
            },
            status=400,
        )
    client_id, secret = request.POST.get("client_id", ""), request.POST.get("client_secret", "")
    if not client_id or not secret:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                client_id = secret = ""
    if not client_id or not secret:
        return JsonResponse(
            {"error": "invalid_request", "error_description": "client_id and client_secret"},
            status=400,
        )
    try:
        raw, seconds = services.issue_access_token(client_id, secret)
    except services.LicensingError:
        return JsonResponse(
            {"error": "invalid_client", "error_description": "unknown client or wrong secret"},
            status=401,
        )
    response = JsonResponse({"access_token": raw, "token_type": "bearer", "expires_in": seconds})
    response["Cache-Control"] = "no-store"
    return response
