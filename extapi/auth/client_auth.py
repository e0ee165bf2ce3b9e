"""Client authentication shared by the token, revocation and introspection endpoints.

RFC 6749 section 2.3.1: credentials come either in an HTTP Basic header or as ``client_id``
and ``client_secret`` form fields, never both at once. Every failure reads the same
(``invalid_client``), whether the client is unknown, disabled or sent a wrong secret. Only
then is the client's IP allow-list checked, so that it never tells which client ids exist.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from sqlalchemy import Connection

from extapi.addresses import AddressList, stored_address_list
from extapi.auth.allow_lists import address_refusal
from extapi.auth.clients import credentials_row
from extapi.auth.oauth_errors import InvalidClient, InvalidRequest, UnauthorizedClient
from extapi.auth.secrets import SecretHasher
from extapi.http import Scope

__all__ = [
    "Credentials",
    "MAX_FIELDS",
    "parse_form",
    "basic_credentials",
    "credentials",
    "authenticate_client",
    "check_client_address",
]

MAX_FIELDS = 20
_NO_SUCH_CLIENT = "0" * 64


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
        if "\x00" in name or "\x00" in value:
            # No parameter of these endpoints can hold one, and PostgreSQL text refuses it.
            raise InvalidRequest(f"Check the `{name}` parameter: it holds a NUL character")
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


def authenticate_client(conn: Connection, hasher: SecretHasher, creds: Credentials) -> Any:
    """The enabled client these credentials prove, as its credentials row; else InvalidClient."""
    if creds.client_id is None:  # no client authentication at all
        raise InvalidClient()
    # A NUL character (possible in Basic credentials) is in no client id, and PostgreSQL
    # could not even compare it.
    row = None if "\x00" in creds.client_id else credentials_row(conn, creds.client_id)
    # Hash even for an unknown client so that timing does not tell the two apart.
    stored = row.secret_hash if row is not None else _NO_SUCH_CLIENT
    secret_ok = hasher.matches(creds.client_secret or "", stored)
    if row is None or not secret_ok or not row.status or creds.client_secret is None:
        raise InvalidClient()
    return row


def check_client_address(
    row: Any, scope: Scope, trusted: AddressList, site_level: int, what: str
) -> None:
    """Refuse an authenticated client calling from outside its IP allow-list, at its own
    error level (the site's when it has none); ``what`` names the request in the log."""
    allowed = stored_address_list(row.allowed_ips)
    if allowed is None:
        return
    level = site_level if row.response_debug is None else int(row.response_debug)
    refusal = address_refusal(allowed, scope, trusted, level)
    if refusal is not None:
        raise UnauthorizedClient(refusal.status, refusal.detail, int(row.id), refusal.label(what))
