"""Bearer-token authentication of API Toolkit clients (OAuth2 client credentials)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from ..services import client_for_access_token


class ApiClientPrincipal:
    """request.user for a call made by an API client."""

    is_authenticated = True
    is_active = True
    is_superuser = False
    pk = None

    def __init__(self, client):
        self.client = client
        self.username = f"api:{client.name}"

    def __str__(self) -> str:
        return self.username


class BearerAuthentication(authentication.BaseAuthentication):
    """Authorization: Bearer <access_token> issued by POST /oauth/token."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Malformed bearer token.") from None
        client = client_for_access_token(raw)
        if client is None:
            raise exceptions.AuthenticationFailed("The access token is invalid or has expired.")
        return ApiClientPrincipal(client), raw

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describes the bearer scheme in the OpenAPI schema."""

    target_class = "licensing.api.auth.BearerAuthentication"
    name = "oauth2ClientCredentials"

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {}}},
        }
