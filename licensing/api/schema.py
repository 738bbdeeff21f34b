"""OpenAPI description of the endpoints products and API clients call outside DRF:
the Transport Gateway envelope, CSLU RUM reports and the OAuth2 token endpoint."""

ENVELOPE = {
    "type": "object",
    "required": ["message"],
    "properties": {
        "message": {
            "type": "string",
            "description": "The message as JSON text: type (register, renew, authorize, "
            "reportUsage, deregister), timestamp (Unix seconds), nonce, instance, and the "
            "fields of that type. See docs/transport-gateway.md.",
        },
        "signature": {
            "type": "string",
            "description": "Base64 SHA-256 signature of message with the ID key "
            "(every type but register).",
        },
    },
}
ANSWER = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["SUCCESS", "FAILED"]},
        "type": {"type": "string"},
        "instance": {"type": "string", "format": "uuid"},
        "certificate": {"type": "string"},
        "chain": {"type": "array", "items": {"type": "string"}},
        "entitlements": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "tag": {"type": "string"},
                    "count": {"type": "integer"},
                    "status": {"type": "string", "enum": ["AUTHORIZED", "OUT_OF_COMPLIANCE"]},
                },
            },
        },
        "authorizationExpires": {"type": "string", "format": "date-time"},
        "error": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        },
    },
}


def _gateway(summary, operation_id):
    responses = {
        str(code): {
            "description": text,
            "content": {"application/json": {"schema": ANSWER}},
        }
        for code, text in (
            (200, "Accepted"),
            (400, "Malformed"),
            (401, "Signature"),
            (403, "Token"),
            (409, "Replay"),
            (413, "Too large"),
        )
    }
    return {
        "post": {
            "operationId": operation_id,
            "summary": summary,
            "tags": ["Transport Gateway"],
            "security": [],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ENVELOPE}},
            },
            "responses": responses,
        }
    }


def add_product_endpoints(result, generator, request, public):
    """drf-spectacular postprocessing hook: add the non-DRF product endpoints."""
    paths = result.setdefault("paths", {})
    paths["/Transportgateway/services/DeviceRequestHandler"] = _gateway(
        "Smart Call Home registration URL: register, renew, authorize, reportUsage, deregister",
        "transport_gateway_device_request",
    )
    paths["/SmartTransport"] = _gateway("Smart Transport URL (same envelope)", "smart_transport")
    paths["/cslu/v1/pi/{tenant}"] = {
        "post": {
            "operationId": "cslu_rum_report",
            "summary": "Smart Licensing Using Policy RUM reports; answers an ACK",
            "description": (
                "Each report carries `signature.value`: the base64 SHA-256 signature, with the "
                "product's ID key, of the report without `signature` as compact JSON with "
                "sorted keys. Unsigned reports are refused (401 unsigned_report) unless the "
                "local account's Preferences accept them; a signature that does not verify is "
                "401 bad_signature, a report from no registered product 401 unknown_instance. "
                "One refused report refuses the whole post."
            ),
            "tags": ["Transport Gateway"],
            "security": [],
            "parameters": [
                {
                    "name": "tenant",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "<local account name>-1",
                }
            ],
            "requestBody": {
                "content": {
                    "application/xml": {"schema": {"type": "string"}},
                    "application/json": {"schema": {"type": "object"}},
                }
            },
            "responses": {
                "200": {
                    "description": "received: the reports stored (CLOSED); ACK: CSC's "
                    "acknowledgements of the product's earlier reports, handed over once"
                },
                "400": {"description": "Malformed"},
                "401": {"description": "Unsigned, badly signed or from no registered product"},
            },
        }
    }
    paths["/oauth/token"] = {
        "post": {
            "operationId": "oauth_token",
            "summary": "OAuth2 client credentials grant for API Toolkit clients",
            "tags": ["API Toolkit"],
            "security": [],
            "requestBody": {
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "required": ["grant_type", "client_id", "client_secret"],
                            "properties": {
                                "grant_type": {"type": "string", "enum": ["client_credentials"]},
                                "client_id": {"type": "string"},
                                "client_secret": {"type": "string"},
                            },
                        }
                    }
                }
            },
            "responses": {
                "200": {
                    "description": "Token",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "access_token": {"type": "string"},
                                    "token_type": {"type": "string"},
                                    "expires_in": {"type": "integer"},
                                },
                            }
                        }
                    },
                },
                "401": {"description": "invalid_client"},
            },
        }
    }
    return result
