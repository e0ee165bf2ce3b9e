"""``GET /.well-known/oauth-authorization-server``: RFC 8414 authorization server metadata.

Lets discovery-based clients (openid-client, Authlib) find the token, revocation and
introspection endpoints and the client authentication methods they accept.
"""

from __future__ import annotations

import orjson

from extapi.auth.form_endpoint import check_api_enabled, send_error
from extapi.auth.oauth import GRANT_TYPE
from extapi.auth.oauth_errors import InvalidRequest, OAuthError
from extapi.http import Receive, Scope, Send, send_bytes, site_address
from extapi.runtime import Runtime

__all__ = [
    "MetadataEndpoint",
    "METADATA_PATH",
    "TOKEN_PATH",
    "REVOCATION_PATH",
    "INTROSPECTION_PATH",
    "DOCUMENTATION_PATH",
    "AUTH_METHODS",
    "issuer",
    "server_metadata",
]

METADATA_PATH = "/.well-known/oauth-authorization-server"
TOKEN_PATH = "/totara/oauth2/token.php"
REVOCATION_PATH = "/totara/oauth2/revoke.php"
INTROSPECTION_PATH = "/totara/oauth2/introspect.php"
DOCUMENTATION_PATH = "/totara/api/documentation/"
# What the token endpoint really accepts (RFC 6749 section 2.3.1), and so the other two.
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
MAX_AGE_SECONDS = 300
_HEADERS = [
    (b"content-type", b"application/json"),
    (b"cache-control", f"public, max-age={MAX_AGE_SECONDS}".encode()),
    (b"x-content-type-options", b"nosniff"),
]


def issuer(runtime: Runtime, scope: Scope) -> str:
    """The site's public address: EXTAPI_PUBLIC_URL, else the address the client used."""
    return runtime.config.public_url or site_address(scope)


def server_metadata(base: str) -> dict[str, object]:
    """RFC 8414 section 2 members for a server whose issuer identifier is ``base``."""
    return {
        "issuer": base,
        "token_endpoint": base + TOKEN_PATH,
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "grant_types_supported": [GRANT_TYPE],
        # REQUIRED by section 2, yet no response type exists without an authorization
        # endpoint: the client-credentials grant never uses one.
        "response_types_supported": [],
        "service_documentation": base + DOCUMENTATION_PATH,
        "revocation_endpoint": base + REVOCATION_PATH,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint": base + INTROSPECTION_PATH,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
    }


class MetadataEndpoint:
    """Raw ASGI app answering GET (and HEAD) with the metadata document."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            refused = InvalidRequest("The metadata document is read with GET")
            await send_error(send, refused, 405, [(b"allow", b"GET, HEAD")])
            return
        try:
            check_api_enabled(self.runtime)
        except OAuthError as exc:
            await send_error(send, exc, exc.status)
            return
        body = orjson.dumps(server_metadata(issuer(self.runtime, scope)))
        await send_bytes(send, 200, body, _HEADERS)
