"""Access tokens: issuing them, and the single-statement check behind every API request."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, text

from extapi.auth.secrets import SecretHasher, new_access_token
from extapi.auth.service_accounts import VALID, account_status
from extapi.db.tables import access_tokens
from extapi.errors import AuthenticationError
from extapi.settings.site import SiteSettings

__all__ = [
    "LIBRARY_DEFAULT_LIFETIME",
    "IssuedToken",
    "TokenLookup",
    "ApiCaller",
    "token_lifetime",
    "issue_token",
    "lookup",
    "authenticate",
    "MISSING_HEADER",
    "INVALID_TOKEN",
]

LIBRARY_DEFAULT_LIFETIME = 3600

MISSING_HEADERS = "Missing or invalid HTTP request headers"
MISSING_HEADER = (
    "The request did not contain the required Authorization header. Ensure you set the header "
    "in your request and that it is not being stripped by your server or proxy configuration."
)
INVALID_TOKEN = (
    "Missing, expired or invalid access token. Ensure the Authorization header is set to a "
    "valid Bearer token."
)
NO_PROVIDER = "Couldn't identify OAuth2 client provider for this request."
NO_API_USER = "Couldn't identify API user for this request."
INVALID_API_USER = "API user is invalid."


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int


def token_lifetime(client_expiry: int, site: SiteSettings) -> int:
    """Totara's order: the client's own setting, then the site default, then one hour."""
    if client_expiry > 0:
        return client_expiry
    if site.default_token_expiration > 0:
        return site.default_token_expiration
    return LIBRARY_DEFAULT_LIFETIME


def issue_token(
    conn: Connection, hasher: SecretHasher, client_pk: int, lifetime: int, scope: str = ""
) -> IssuedToken:
    """Store a new token (earlier ones stay valid) and sweep this client's expired ones."""
    now = int(time.time())
    token = new_access_token()
    conn.execute(
        delete(access_tokens).where(
            (access_tokens.c.client_id == client_pk) & (access_tokens.c.expires < now)
        )
    )
    conn.execute(
        insert(access_tokens).values(
            token_hash=hasher.digest(token),
            client_id=client_pk,
            scope=scope,
            expires=now + lifetime,
            time_created=now,
        )
    )
    return IssuedToken(token, lifetime)


# The site revision rides along with the token so that one statement both authenticates the
# caller and tells the worker whether its cached settings are still current.
_LOOKUP = text(
    """
    SELECT r.revision, t.expires, c.id AS client_pk, c.client_id, c.status, c.tenant_id,
           c.user_id, s.response_debug, s.client_rate_limit,
           u.id AS uid, u.suspended, u.deleted, u.tenant_id AS user_tenant_id, u.timezone,
           a.user_id AS admin_id
    FROM site_revision r
    LEFT JOIN access_tokens t ON t.token_hash = :token_hash
    LEFT JOIN api_clients c ON c.id = t.client_id
    LEFT JOIN api_client_settings s ON s.client_id = c.id
    LEFT JOIN users u ON u.id = c.user_id
    LEFT JOIN site_admins a ON a.user_id = u.id
    WHERE r.id = 1
    """
)


@dataclass(frozen=True)
class TokenLookup:
    revision: int
    row: Any  # the joined row, or None when no token was presented


@dataclass(frozen=True)
class ApiCaller:
    """An authenticated request: the client and the service account it acts as."""

    client_pk: int
    client_id: str
    tenant_id: int | None
    user_id: int
    user_tenant_id: int | None
    timezone: str
    response_debug: int | None
    client_rate_limit: int


def lookup(conn: Connection, hasher: SecretHasher, token: str | None) -> TokenLookup:
    row = conn.execute(_LOOKUP, {"token_hash": hasher.digest(token) if token else ""}).one()
    return TokenLookup(int(row.revision), row if token else None)


def client_debug_level(row: Any) -> int | None:
    """The client's own error level once the client is known (even if later checks fail)."""
    if row is None or row.client_pk is None or not row.status:
        return None
    return None if row.response_debug is None else int(row.response_debug)


def authenticate(found: TokenLookup, has_header: bool, now: int) -> ApiCaller:
    """Apply Totara's checks in order; raises AuthenticationError with its message."""
    if not has_header:
        raise AuthenticationError(MISSING_HEADER)
    row = found.row
    if row is None or row.expires is None or row.expires < now:
        raise AuthenticationError(INVALID_TOKEN)
    if row.client_pk is None or not row.status:
        raise AuthenticationError(NO_PROVIDER)
    if row.user_id is None:
        raise AuthenticationError(NO_API_USER)
    user_view = None
    if row.uid is not None:
        user_view = {
            "suspended": row.suspended,
            "deleted": row.deleted,
            "tenant_id": row.user_tenant_id,
        }
    if account_status(user_view, row.admin_id is not None, row.tenant_id) != VALID:
        raise AuthenticationError(INVALID_API_USER)
    return ApiCaller(
        client_pk=int(row.client_pk),
        client_id=row.client_id,
        tenant_id=row.tenant_id,
        user_id=int(row.uid),
        user_tenant_id=row.user_tenant_id,
        timezone=row.timezone,
        response_debug=None if row.response_debug is None else int(row.response_debug),
        client_rate_limit=int(row.client_rate_limit),
    )
