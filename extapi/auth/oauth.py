"""``POST /totara/oauth2/token.php``: the client-credentials grant (RFC 6749 section 4.4)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_plus

import orjson

from extapi.auth.clients import credentials_row
from extapi.auth.oauth_errors import (
    AccessDenied,
    InvalidClient,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    UnsupportedGrantType,
)
from extapi.auth.tokens import issue_token, token_lifetime
from extapi.http import BodyTooLarge, Receive, Scope, Send, header, read_body, send_bytes
from extapi.runtime import Runtime

__all__ = ["TokenEndpoint"]

GRANT_TYPE = "client_credentials"
KNOWN_SCOPES = frozenset({"xapi:write"})
MAX_FIELDS = 20
_NO_SUCH_CLIENT = "0" * 64
ONLY_POST = "The token endpoint accepts only POST requests"
_CHALLENGE = b'Basic realm="extapi", charset="UTF-8"'
_NO_STORE = [
    (b"content-type", b"application/json; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"pragma", b"no-cache"),
    (b"x-content-type-options", b"nosniff"),
]


@dataclass(frozen=True)
class Credentials:
    client_id: str | None
    client_secret: str | None
    basic: bool


def parse_form(body: bytes, content_type: str | None) -> dict[str, str]:
    """Decode the form; a body of another type is read as no parameters at all (as Totara)."""
    if not content_type or content_type.split(";")[0].strip().lower() != (
        "application/x-www-form-urlencoded"
    ):
        return {}
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("The request body must be UTF-8 form data with few fields") from None
    form: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in pairs:
        if name in seen:  # RFC 6749 section 3.2: no parameter may be sent twice
            raise InvalidRequest(f"Check the `{name}` parameter: it must be sent only once")
        seen.add(name)
        if value != "":  # RFC 6749 section 3.2: empty parameters count as omitted
            form[name] = value
    return form


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if authorization is None or authorization[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient() from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClient()
    return unquote_plus(client_id), unquote_plus(secret)


def credentials(form: dict[str, str], authorization: str | None) -> Credentials:
    basic = basic_credentials(authorization)
    in_body = "client_id" in form or "client_secret" in form
    if basic and in_body:
        raise InvalidRequest("Use only one way of sending client credentials")
    if basic:
        return Credentials(basic[0] or None, basic[1] or None, True)
    return Credentials(form.get("client_id"), form.get("client_secret"), False)


def check_scope(scope: str | None) -> str:
    for item in (scope or "").split():
        if item not in KNOWN_SCOPES:
            raise InvalidScope(f"Check the `{item}` scope")
    return scope or ""


class TokenEndpoint:
    """Raw ASGI app; every answer is JSON and never cached."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":  # RFC 6749 section 3.2
            await _error(send, InvalidRequest(ONLY_POST), 405, [(b"allow", b"POST")])
            return
        try:
            body = await read_body(scope, receive, self.runtime.config.max_body_bytes)
            form = parse_form(body, header(scope, b"content-type"))
            payload = self.grant(form, header(scope, b"authorization"))
            await send_bytes(send, 200, orjson.dumps(payload), _NO_STORE)
        except BodyTooLarge as exc:
            await _error(send, InvalidRequest(str(exc)), 413)
        except OAuthError as exc:
            # HTTP requires a challenge on every 401; it names the scheme extapi accepts.
            challenge = [(b"www-authenticate", _CHALLENGE)] if exc.status == 401 else []
            await _error(send, exc, exc.status, challenge)

    def grant(self, form: dict[str, str], authorization: str | None) -> dict[str, object]:
        """Checks in the order Totara's OAuth library makes them, then issues a token."""
        runtime = self.runtime
        site = runtime.current_settings()
        with runtime.engine.begin() as conn:
            if not site.api_enabled:
                raise AccessDenied("'totara_api' feature is not enabled.")
            if "grant_type" not in form:
                raise InvalidRequest("Check the `grant_type` parameter")
            if form["grant_type"] != GRANT_TYPE:
                raise UnsupportedGrantType()
            creds = credentials(form, authorization)
            if creds.client_id is None:  # no client authentication at all
                raise InvalidClient()
            row = credentials_row(conn, creds.client_id)
            # Hash even for an unknown client so that timing does not tell the two apart.
            stored = row.secret_hash if row is not None else _NO_SUCH_CLIENT
            secret_ok = runtime.hasher.matches(creds.client_secret or "", stored)
            if row is None or not secret_ok or not row.status or creds.client_secret is None:
                raise InvalidClient()
            scope = check_scope(form.get("scope"))
            lifetime = token_lifetime(int(row.default_token_expiry_time), site)
            issued = issue_token(conn, runtime.hasher, int(row.id), lifetime, scope)
        return {
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "access_token": issued.access_token,
        }


async def _error(
    send: Send, exc: OAuthError, status: int, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send_bytes(send, status, orjson.dumps(exc.body()), [*_NO_STORE, *(extra or [])])
