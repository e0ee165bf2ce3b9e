"""Running a query from the API explorer as one API client, on the server side.

The administrator picks a client; the server gives that client a short-lived access token of
its own (the real token service: the token is stored, expires, and stops working when the
client is disabled) and keeps it in this process only. The request then goes through the real
GraphQL endpoint handler with that token, so the client's rate limits, complexity limit, IP
allow-list and request-log entries all apply as if the client had sent it. Neither the token
nor the client's secret ever reaches the browser.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection

from extapi.auth import clients
from extapi.auth.tokens import issue_token, token_lifetime
from extapi.errors import ValidationError
from extapi.graphql.endpoint import REPORT_HEADER, GraphQLEndpoint, Reply
from extapi.http import BodyTooLarge, Scope
from extapi.runtime import Runtime

__all__ = [
    "ExplorerRequest",
    "ExplorerResult",
    "ExplorerTokens",
    "parse_request",
    "run_as_client",
    "TOKEN_SECONDS",
]

# The explorer's tokens live at most this long (less when the client's own lifetime is
# shorter), and are replaced once less than ``RENEW_SECONDS`` remain.
TOKEN_SECONDS = 300
RENEW_SECONDS = 30
# Headers of the administrator's request that the API request must not carry.
_DROPPED = frozenset({b"cookie", b"authorization", b"content-type", b"content-length", b"origin"})


@dataclass(frozen=True)
class ExplorerRequest:
    client_id: str
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None

    def body(self) -> bytes:
        """The JSON body a client would POST to the GraphQL endpoint."""
        payload: dict[str, Any] = {"query": self.query}
        if self.variables is not None:
            payload["variables"] = self.variables
        if self.operation_name:
            payload["operationName"] = self.operation_name
        return orjson.dumps(payload)


@dataclass(frozen=True)
class ExplorerResult:
    """What the page shows: the HTTP status, the response body, the complexity points the
    request cost and, when the rate-limit store was reached, the client's remaining budget."""

    status: int
    body: str
    points: int
    remaining: int | None = None
    limit: int | None = None
    reset_seconds: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "body": self.body,
            "points": self.points,
            "remaining": self.remaining,
            "limit": self.limit,
            "reset_seconds": self.reset_seconds,
        }


def parse_request(form: dict[str, str]) -> ExplorerRequest:
    """The run asked for by the explorer's form; ValidationError names what is wrong."""
    client_id = form.get("client_id", "").strip()
    if not client_id:
        raise ValidationError("Choose the API client to run the query as.")
    query = form.get("query", "")
    if not query.strip():
        raise ValidationError("Write a query to run.")
    text = form.get("variables", "").strip()
    variables = None
    if text:
        try:
            variables = json.loads(text)
        except ValueError as exc:
            raise ValidationError(
                f"The variables are not valid JSON: {exc.args[0] if exc.args else exc}."
            ) from None
        if not isinstance(variables, dict):
            raise ValidationError("The variables must be a JSON object, such as {}.")
    name = form.get("operation_name", "").strip() or None
    return ExplorerRequest(client_id, query, variables, name)


class ExplorerTokens:
    """One short-lived access token per client, issued on first use and kept in memory."""

    def __init__(self) -> None:
        self._tokens: dict[int, tuple[str, int]] = {}
        self._lock = threading.Lock()

    def token_for(self, runtime: Runtime, client_id: str) -> str:
        """A token of the client ``client_id`` with time left; raises NotFoundError."""
        now = int(time.time())
        with runtime.engine.connect() as conn:
            client = clients.get_client(conn, client_id)
        pk = int(client["id"])
        with self._lock:
            held = self._tokens.get(pk)
        if held is not None and held[1] - now > RENEW_SECONDS and self._still_stored(runtime, held):
            return held[0]
        site = runtime.current_settings()
        lifetime = min(
            token_lifetime(int(client["default_token_expiry_time"]), site), TOKEN_SECONDS
        )
        with runtime.engine.begin() as conn:
            issued = _issue(conn, runtime, pk, lifetime)
        with self._lock:
            self._tokens[pk] = (issued, now + lifetime)
        return issued

    @staticmethod
    def _still_stored(runtime: Runtime, held: tuple[str, int]) -> bool:
        """False once the token is gone (the secret was rotated, the client re-created)."""
        return runtime.tokens.check(held[0]).row is not None


def _issue(conn: Connection, runtime: Runtime, client_pk: int, lifetime: int) -> str:
    return issue_token(conn, runtime.hasher, client_pk, lifetime).access_token


def run_as_client(
    endpoint: GraphQLEndpoint, tokens: ExplorerTokens, scope: Scope, asked: ExplorerRequest
) -> ExplorerResult:
    """Run ``asked`` through the GraphQL endpoint as its client (in a worker thread: this
    reads and writes the database). Raises NotFoundError for an unknown client."""
    runtime = endpoint.runtime
    body = asked.body()
    limit = runtime.config.max_body_bytes
    if len(body) > limit:
        message = str(BodyTooLarge(limit))
        payload = {"errors": [{"message": message, "extensions": {"category": "request"}}]}
        return ExplorerResult(413, _pretty(payload), 0)
    token = tokens.token_for(runtime, asked.client_id)
    reply = endpoint.handle(_api_scope(scope, token), body, False, time.perf_counter())
    return _result(reply)


def _api_scope(scope: Scope, token: str) -> Scope:
    """The administrator's request, re-addressed to the API: same client address and host
    (so an IP allow-list applies to where the administrator is), the token instead of the
    session, and the header that asks for the remaining budget."""
    headers = [(k, v) for k, v in scope["headers"] if k not in _DROPPED]
    headers += [
        (b"authorization", b"Bearer " + token.encode()),
        (b"content-type", b"application/json"),
        (REPORT_HEADER, b"1"),
    ]
    return {**scope, "headers": headers, "method": "POST"}


def _result(reply: Reply) -> ExplorerResult:
    payload = reply.payload
    body = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else _pretty(payload)
    fields = _rate_fields(reply.headers)
    return ExplorerResult(
        reply.status,
        body,
        reply.points,
        remaining=fields.get("r"),
        limit=fields.get("q"),
        reset_seconds=fields.get("t"),
    )


def _pretty(payload: Any) -> str:
    return orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode()


def _rate_fields(headers: list[tuple[bytes, bytes]]) -> dict[str, int]:
    """The client's ``q`` (budget), ``r`` (remaining) and ``t`` (seconds to reset) from the
    RateLimit-Policy and RateLimit headers the endpoint sends when asked."""
    found: dict[str, int] = {}
    for name, value in headers:
        if name not in (b"ratelimit", b"ratelimit-policy"):
            continue
        for item in value.decode().split(","):
            label, _, params = item.strip().partition(";")
            if label not in ('"client"',):
                continue
            for param in params.split(";"):
                key, _, number = param.partition("=")
                if key in ("q", "r", "t") and number.lstrip("-").isdigit():
                    found[key] = int(number)
    return found
