"""What the client does, written once, without I/O.

Each call is a generator that *yields effects* (send this HTTP request, sleep this long, give
me a token) and receives their results; :mod:`extapi.client.sync` and
:mod:`extapi.client.aio` are thin shells that perform the effects with ``httpx.Client`` or
``httpx.AsyncClient``. All decisions (retries, waits, renewals, errors) live here.
"""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from extapi.client.errors import (
    RateLimitedError,
    TransportError,
    classify_error,
    is_token_refusal,
    token_endpoint_error,
)
from extapi.client.tokens import Token

__all__ = [
    "Settings",
    "HttpRequest",
    "HttpResponse",
    "HttpFailure",
    "Send",
    "Sleep",
    "NeedToken",
    "Effect",
    "Flow",
    "Operation",
    "Result",
    "RateLimitInfo",
    "token_flow",
    "execute_flow",
    "batch_flow",
    "is_mutation",
    "rate_limit_wait",
]

TOKEN_PATH = "/totara/oauth2/token.php"
GRAPHQL_PATH = "/api/graphql.php"
REPORT_HEADER = "X-Extapi-RateLimit"
TOO_MANY_REQUESTS = "Too many requests"
# Backoff without Retry-After (Totara sends none): 1, 2, 4 ... seconds, capped by max_wait.
BACKOFF_BASE_SECONDS = 1.0
JITTER_SHARE = 0.1
RETRYABLE_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class Settings:
    """A client's fixed choices (see :class:`extapi.client.Client` for their meaning)."""

    base_url: str
    client_id: str
    client_secret: str
    auth_method: Literal["basic", "post"] = "basic"
    max_retries: int = 3
    max_wait: float = 60.0
    renew_before: float = 30.0
    report_complexity: bool = False
    auto_renew: bool = True

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path


@dataclass(frozen=True)
class HttpRequest:
    url: str
    headers: dict[str, str]
    content: bytes


@dataclass(frozen=True)
class HttpResponse:
    """An answer as the shells hand it over: lower-case header names, the raw body, and the
    client's clock when it arrived."""

    status: int
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass(frozen=True)
class HttpFailure:
    """No answer at all (connection refused, timeout ...)."""

    reason: str


@dataclass(frozen=True)
class Send:
    request: HttpRequest


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class NeedToken:
    """Ask for a usable token; ``stale`` is one the server just refused."""

    stale: str | None = None


Effect = Send | Sleep | NeedToken
Flow = Generator[Effect, Any, Any]


@dataclass(frozen=True)
class Operation:
    """One GraphQL operation, for :meth:`Client.batch`."""

    query: str
    variables: Mapping[str, Any] | None = None
    operation_name: str | None = None

    def payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {"query": self.query}
        if self.variables is not None:
            out["variables"] = dict(self.variables)
        if self.operation_name is not None:
            out["operationName"] = self.operation_name
        return out


@dataclass(frozen=True)
class RateLimitInfo:
    """The IETF RateLimit fields extapi sends when asked (``report_complexity=True``):
    the client's budget per window, what is left of it, and seconds until it resets."""

    policy: str
    limit: int | None
    remaining: int | None
    reset: int | None


@dataclass(frozen=True)
class Result:
    """One operation's answer. ``errors`` is empty unless the call was made with
    ``raise_errors=False``; ``complexity`` is the request's complexity when the server reports
    it (Totara's and extapi's ``perfdebug``), ``rate_limit`` the budget when asked for."""

    data: dict[str, Any] | None
    errors: list[dict[str, Any]] = field(default_factory=list)
    extensions: dict[str, Any] = field(default_factory=dict)
    rate_limit: RateLimitInfo | None = None

    @property
    def complexity(self) -> int | None:
        found = self.extensions.get("complexity_data")
        if isinstance(found, Mapping) and isinstance(found.get("query_complexity"), int):
            return int(found["query_complexity"])
        return None


# --- tokens -------------------------------------------------------------------------------
def token_request(settings: Settings) -> HttpRequest:
    form = {"grant_type": "client_credentials"}
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    if settings.auth_method == "basic":
        pair = f"{_form_quote(settings.client_id)}:{_form_quote(settings.client_secret)}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    else:
        form["client_id"] = settings.client_id
        form["client_secret"] = settings.client_secret
    body = "&".join(f"{_form_quote(k)}={_form_quote(v)}" for k, v in form.items())
    return HttpRequest(settings.url(TOKEN_PATH), headers, body.encode())


def _form_quote(text: str) -> str:
    from urllib.parse import quote_plus

    return quote_plus(text)


def token_flow(settings: Settings, now: float) -> Flow:
    """Obtain a token with the client credentials; ``now`` is taken before sending."""
    response = yield Send(token_request(settings))
    if isinstance(response, HttpFailure):
        raise TransportError(f"Token request failed: {response.reason}")
    body = _json(response)
    if not isinstance(body, Mapping):
        raise TransportError(_unusable(response), status=response.status)
    if "error" in body:
        raise token_endpoint_error(body, response.status)
    token, lifetime = body.get("access_token"), body.get("expires_in")
    if response.status != 200 or not isinstance(token, str) or not isinstance(lifetime, int):
        raise TransportError(_unusable(response), status=response.status)
    return Token(token, now, float(lifetime))


# --- GraphQL --------------------------------------------------------------------------------
_IGNORED = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*')
_MUTATION = re.compile(r"(?:^|[\s},])mutation\b")


def is_mutation(document: str) -> bool:
    """Whether the document defines a mutation (strings and comments ignored). A false
    positive only costs a retry that is not made."""
    return _MUTATION.search(_IGNORED.sub(" ", document)) is not None


def graphql_request(settings: Settings, token: str, payload: Any) -> HttpRequest:
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    if settings.report_complexity:
        headers[REPORT_HEADER] = "1"
    return HttpRequest(settings.url(GRAPHQL_PATH), headers, orjson.dumps(payload))


def rate_limit_wait(
    settings: Settings, retry_after: float | None, attempt: int, rng: random.Random
) -> float | None:
    """Seconds to wait before retry number ``attempt`` (1-based) after a 429, or None to
    give up: retries are used up, or the server asked for longer than ``max_wait`` (waiting
    less could not succeed). Without ``Retry-After`` (Totara) the wait doubles from 1 s, capped
    by ``max_wait``. A little jitter keeps many clients from retrying in step."""
    if attempt > settings.max_retries:
        return None
    if retry_after is None:
        base = min(BACKOFF_BASE_SECONDS * 2 ** (attempt - 1), settings.max_wait)
    elif retry_after > settings.max_wait:
        return None
    else:
        base = retry_after
    return base + rng.uniform(0, JITTER_SHARE * max(base, 1.0))


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after", "").strip()
    return float(value) if value.isdigit() else None


def _rate_limit_info(headers: Mapping[str, str]) -> RateLimitInfo | None:
    policy = headers.get("ratelimit-policy")
    if policy is None:
        return None
    limit = _param(policy, "client", "q")
    current = headers.get("ratelimit", "")
    return RateLimitInfo(
        policy, limit, _param(current, "client", "r"), _param(current, "client", "t")
    )


def _param(field_value: str, item: str, key: str) -> int | None:
    for member in field_value.split(","):
        name, *params = (p.strip() for p in member.split(";"))
        if name.strip('"') != item:
            continue
        for param in params:
            k, _, v = param.partition("=")
            if k == key and v.isdigit():
                return int(v)
    return None


def _json(response: HttpResponse) -> Any:
    try:
        return orjson.loads(response.body) if response.body else None
    except orjson.JSONDecodeError:
        return None


def _unusable(response: HttpResponse) -> str:
    return f"Unusable answer (HTTP {response.status}): {response.body[:200]!r}"


def _first_error(body: Any) -> dict[str, Any] | None:
    if isinstance(body, Mapping):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return errors[0]
    return None


def _result(body: Mapping[str, Any], info: RateLimitInfo | None) -> Result:
    data = body.get("data")
    errors = body.get("errors")
    extensions = body.get("extensions")
    return Result(
        data if isinstance(data, dict) else None,
        [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else [],
        extensions if isinstance(extensions, dict) else {},
        info,
    )


def _raise_for(result: Result, response: HttpResponse) -> None:
    if result.errors:
        raise classify_error(
            result.errors[0],
            status=response.status,
            headers=response.headers,
            errors=result.errors,
        )


def _exchange(settings: Settings, payload: Any, mutation: bool, rng: random.Random) -> Flow:
    """Send one request until it has an answer worth interpreting: renews the token once on
    a refusal, waits out 429s, retries a query (never a mutation) after a failed connection or
    a 502/503/504. Returns the response and its decoded JSON body."""
    token: Token = yield NeedToken()
    renewed = False
    attempt = 0
    while True:
        response = yield Send(graphql_request(settings, token.value, payload))
        if isinstance(response, HttpFailure) or response.status in RETRYABLE_STATUSES:
            reason = response.reason if isinstance(response, HttpFailure) else _unusable(response)
            status = None if isinstance(response, HttpFailure) else response.status
            attempt += 1
            if mutation or attempt > settings.max_retries:
                raise TransportError(reason, status=status)
            yield Sleep(rate_limit_wait(settings, None, attempt, rng) or 0.0)
            continue
        body = _json(response)
        if response.status == 429:
            attempt += 1
            retry_after = _retry_after(response.headers)
            wait = rate_limit_wait(settings, retry_after, attempt, rng)
            if wait is None:
                raise RateLimitedError(
                    TOO_MANY_REQUESTS,
                    retry_after=retry_after,
                    status=429,
                    errors=_errors_of(body),
                )
            yield Sleep(wait)
            continue
        first = _first_error(body)
        refused = first is not None or response.status == 401
        if refused and is_token_refusal(first, response.status, response.headers):
            if settings.auto_renew and not renewed:
                renewed = True
                token = yield NeedToken(stale=token.value)
                continue
            raise classify_error(
                first or {"message": "Unauthorized"},
                status=response.status,
                headers=response.headers,
                token_expired=token.expired_at(response.at),
                errors=_errors_of(body),
            )
        if response.status >= 500 or body is None:
            raise TransportError(_unusable(response), status=response.status)
        return response, body


def _errors_of(body: Any) -> list[dict[str, Any]]:
    first = _first_error(body)
    return [] if first is None else list(body["errors"])


def execute_flow(
    settings: Settings, operation: Operation, raise_errors: bool, rng: random.Random
) -> Flow:
    response, body = yield from _exchange(
        settings, operation.payload(), is_mutation(operation.query), rng
    )
    if not isinstance(body, Mapping):
        raise TransportError(_unusable(response), status=response.status)
    result = _result(body, _rate_limit_info(response.headers))
    if raise_errors or response.status != 200:
        _raise_for(result, response)
    return result


def batch_flow(
    settings: Settings, operations: Sequence[Operation], raise_errors: bool, rng: random.Random
) -> Flow:
    payload = [op.payload() for op in operations]
    mutation = any(is_mutation(op.query) for op in operations)
    response, body = yield from _exchange(settings, payload, mutation, rng)
    info = _rate_limit_info(response.headers)
    if isinstance(body, Mapping):
        # The whole batch was refused (request shape, feature off ...): one envelope.
        _raise_for(_result(body, info), response)
        raise TransportError(_unusable(response), status=response.status)
    if not isinstance(body, list) or len(body) != len(operations):
        raise TransportError(_unusable(response), status=response.status)
    results = [_result(item if isinstance(item, Mapping) else {}, info) for item in body]
    if raise_errors:
        for result in results:
            _raise_for(result, response)
    return results


def drive_sync(flow: Flow, perform: Any) -> Any:
    """Run ``flow`` to its end, ``perform(effect)`` giving each effect's result."""
    try:
        effect = next(flow)
        while True:
            effect = flow.send(perform(effect))
    except StopIteration as stop:
        return stop.value
