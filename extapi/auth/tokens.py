"""Access tokens: issuing them, and the single-statement check behind every API request."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert

from extapi.addresses import AddressList
from extapi.auth.secrets import SecretHasher, new_access_token
from extapi.auth.service_accounts import VALID, account_status
from extapi.db.hot import HotReader
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
    "TokenGate",
    "client_debug_level",
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


# Built once: SQLAlchemy then reuses their compiled form instead of rebuilding them per call.
_SWEEP = delete(access_tokens).where(
    (access_tokens.c.client_id == bindparam("client"))
    & (access_tokens.c.expires < bindparam("now"))
)
_INSERT = insert(access_tokens)


def issue_token(
    conn: Connection, hasher: SecretHasher, client_pk: int, lifetime: int, scope: str = ""
) -> IssuedToken:
    """Store a new token (earlier ones stay valid) and sweep this client's expired ones."""
    now = int(time.time())
    token = new_access_token()
    conn.execute(_SWEEP, {"client": client_pk, "now": now})
    conn.execute(
        _INSERT,
        {
            "token_hash": hasher.digest(token),
            "client_id": client_pk,
            "scope": scope,
            "expires": now + lifetime,
            "time_created": now,
        },
    )
    return IssuedToken(token, lifetime)


class TokenLookup:
    """What the gate found for a token at a revision. A lookup served from the worker's cache
    is the same object on every request at that revision, so it also keeps what
    :func:`authenticate` worked out from its row (the row cannot change within a revision)."""

    __slots__ = ("revision", "row", "cached", "caller")

    def __init__(
        self, revision: int, row: dict[str, Any] | None, cached: bool | None = None
    ) -> None:
        self.revision = revision
        self.row = row  # the token's joined row, or None when unknown or absent
        # Whether the row came from the worker's cache; None when no token was presented.
        self.cached = cached
        self.caller: ApiCaller | None = None


class TokenGate:
    """Checks bearer tokens with at most one indexed lookup, usually none.

    Each request needs the site revision (read, or on PostgreSQL taken from the worker's
    revision lease, which costs no read: :mod:`extapi.db.lease`); rows of tokens already seen
    at that revision come from a per-worker cache. Any change that could affect a token (a
    client disabled, a service account suspended, a secret rotated ...) moves the revision and
    empties the cache, so the next request (within the lease) reads fresh rows.

    The event loop and the worker threads share one gate. The cache is a revision and the rows
    read at that revision, replaced together (a new revision starts a new map), so a row is
    used only while the database still reads the revision it was read at.
    """

    def __init__(self, reader: HotReader, hasher: SecretHasher, size: int = 10_000) -> None:
        self.reader = reader
        self.hasher = hasher
        self.size = size
        # The revision, and for each token seen at it the lookup later requests get.
        self._cache: tuple[int, dict[str, TokenLookup]] = (-1, {})
        self._lock = threading.Lock()  # one writer at a time; readers take no lock

    def knows(self, token: str) -> bool:
        """Whether ``token``'s row is cached (so checking it costs no lookup but the
        revision's)."""
        return token in self._cache[1]

    def check(self, token: str | None) -> TokenLookup:
        """At most one indexed read per request: none or the revision when the token is cached
        for it, else the revision and the token's row together."""
        # Keyed by the presented token itself, so a cache hit costs no HMAC; the map lives only
        # in this process's memory, like the request that carried the token.
        cached_at, rows = self._cache
        known = rows.get(token) if token else None
        if known is not None:
            revision = self.reader.revision()
            if revision == cached_at:
                return known
        if token is None:
            return self._at(self.reader.revision(), None, None)
        revision, row = self.reader.revision_and_token(self.hasher.digest(token))
        return self._at(revision, token, row)

    def _at(self, revision: int, token: str | None, row: dict[str, Any] | None) -> TokenLookup:
        with self._lock:
            cached_at, rows = self._cache
            if revision != cached_at:
                rows = {}
                self._cache = (revision, rows)
            if token is not None and row is not None:
                if len(rows) >= self.size:
                    rows.pop(next(iter(rows)))
                rows[token] = TokenLookup(revision, row, cached=True)
        return TokenLookup(revision, row, cached=None if token is None else False)


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
    # The client's IP allow-list, parsed; None when it may call from anywhere.
    allowed_ips: AddressList | None = None


def client_debug_level(row: dict[str, Any] | None) -> int | None:
    """The client's own error level, which applies once authentication has succeeded."""
    if row is None or not row["status"] or row["response_debug"] is None:
        return None
    return int(row["response_debug"])


def authenticate(found: TokenLookup, has_header: bool, now: int) -> ApiCaller:
    """Apply Totara's checks in order; raises AuthenticationError with its message."""
    if not has_header:
        raise AuthenticationError(MISSING_HEADER)
    row = found.row
    # A token is expired from its expiry second on (Totara's JWT check is now >= exp). A
    # disabled client's tokens read as revoked; they are kept and work again once the client
    # is enabled (as in Totara).
    if row is None or row["expires"] <= now or not row["status"]:
        raise AuthenticationError(INVALID_TOKEN)
    caller = found.caller
    if caller is None:
        caller = found.caller = _caller(row)
    return caller


def _caller(row: dict[str, Any]) -> ApiCaller:
    """The rest of Totara's checks, which depend on the row alone."""
    if row["user_id"] is None:
        raise AuthenticationError(NO_API_USER)
    user = (
        None
        if row["uid"] is None
        else {
            "suspended": row["suspended"],
            "deleted": row["deleted"],
            "tenant_id": row["user_tenant_id"],
        }
    )
    if account_status(user, row["admin_id"] is not None, row["tenant_id"]) != VALID:
        raise AuthenticationError(INVALID_API_USER)
    return ApiCaller(
        client_pk=int(row["client_pk"]),
        client_id=row["client_id"],
        tenant_id=row["tenant_id"],
        user_id=int(row["uid"]),
        user_tenant_id=row["user_tenant_id"],
        timezone=row["timezone"],
        response_debug=client_debug_level(row),
        client_rate_limit=int(row["client_rate_limit"]),
        allowed_ips=row["allowed_ips"],
    )
