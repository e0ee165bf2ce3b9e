"""``POST /api/graphql.php``: authentication, request shape, execution, Totara's envelope.

Where a request runs is decided from its body before anything else, without I/O: a small
request whose token is already cached and whose document is already checked and cheap (the
status query: see :func:`extapi.graphql.documents.runs_inline`) runs on the event loop, since
handing it to a thread would cost about half of its own time. Everything else (any resolver
that reads the database, introspection, new or large documents, batches) runs in one of the
worker threads (:mod:`extapi.threads`), so that no request holds the others up.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLError, GraphQLSchema

from extapi.auth.allow_lists import Refusal, address_refusal
from extapi.auth.tokens import ApiCaller, TokenLookup, authenticate
from extapi.errors import AuthenticationError, ClientSafeError, ExtapiError
from extapi.graphql.context import RequestContext
from extapi.graphql.deprecations import DeprecationLog
from extapi.graphql.documents import CheckedDocument, DocumentCache
from extapi.graphql.errors import DEVELOPER, envelope, format_error, format_exception
from extapi.graphql.execute import Outcome, run
from extapi.graphql.performance import RequestMeter, measuring
from extapi.graphql.refused import refused_request
from extapi.graphql.request import (
    BodyNotJson,
    Operation,
    decode_body,
    get_request_body,
    has_nul,
    parse_operations,
)
from extapi.graphql.roots import request_label
from extapi.http import (
    BodyTooLarge,
    Receive,
    Scope,
    Send,
    header,
    http_date,
    read_body,
    site_address,
    weighted_items,
)
from extapi.limits.cost import ComplexityCounter, cost_table
from extapi.limits.policy import TOO_MANY_REQUESTS, RateLimiter, rate_headers, retry_headers
from extapi.limits.window import Budget, Verdict
from extapi.ops.note import INVALID, NONE, note_of
from extapi.ops.request_id import REQUEST_ID
from extapi.requestlog.buffer import ERROR, IP_NOT_ALLOWED, RATE_LIMITED, REFUSED, SUCCESS
from extapi.requestlog.details import errors_of, errors_text, variables_text
from extapi.runtime import Runtime
from extapi.settings.site import SiteSettings

__all__ = ["GraphQLEndpoint"]

JSON = b"application/json; charset=utf-8"
GRAPHQL_RESPONSE = b"application/graphql-response+json; charset=utf-8"
# A client that sends this header gets its remaining budget in RateLimit headers.
REPORT_HEADER = b"x-extapi-ratelimit"
ONLY_POST = "Invalid webapi request, only POST method is allowed"
MUTATION_NEEDS_POST = "Invalid webapi request, mutations are only allowed with the POST method"
FEATURE_OFF = "Feature api is not available."
FORBIDDEN = "Forbidden"
# A refusal at the None level: a bare 404 that says nothing about the API behind it.
NOT_FOUND_BODY = b"Not Found"
_PLAIN = b"text/plain; charset=utf-8"
_NO_TOKEN = b'Bearer realm="extapi"'
_INVALID_TOKEN = b'Bearer realm="extapi", error="invalid_token"'
# Root fields whose resolvers do no I/O and little work: documents of these alone, once
# checked, run on the event loop.
INLINE_FIELDS = frozenset({"totara_webapi_status", "__typename"})
# Bodies larger than this always go to a worker thread (the status query is about 60 bytes).
INLINE_MAX_BODY = 2048
# How many distinct small bodies the endpoint keeps read.
PARSED_BODIES_MAX = 256
# Request-log labels of requests without a usable operation name.
ANONYMOUS = "(anonymous)"
INVALID_REQUEST = "(invalid request)"
SERVER_ERROR = "(server error)"
_STATIC_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store, no-cache, must-revalidate, post-check=0, pre-check=0"),
    (b"pragma", b"no-cache"),
    (b"expires", b"Mon, 20 Aug 1969 09:23:00 GMT"),
    (b"accept-ranges", b"none"),
]


# Clients send the same few Accept headers again and again: each one's answer is kept (up to
# this many distinct headers, so that no client can grow the table without bound).
_ACCEPT_CACHE_SIZE = 64
_accept_answers: dict[str, bool] = {}


def wants_graphql_response(accept: str | None) -> bool:
    """True when the client prefers application/graphql-response+json to application/json."""
    if not accept:
        return False
    known = _accept_answers.get(accept)
    if known is None:
        known = _prefers_graphql_response(accept)
        if len(_accept_answers) < _ACCEPT_CACHE_SIZE:
            _accept_answers[accept] = known
    return known


def _prefers_graphql_response(accept: str) -> bool:
    best_grj, best_json = 0.0, 0.0
    for media, q in weighted_items(accept):
        if media == "application/graphql-response+json":
            best_grj = max(best_grj, q)
        elif media in ("application/json", "application/*", "*/*"):
            best_json = max(best_json, q)
    return best_grj > 0 and best_grj >= best_json


def bearer_token(authorization: str | None) -> str | None:
    """Totara matches ``Bearer`` case-sensitively after optional white space."""
    if authorization is None:
        return None
    stripped = authorization.lstrip()
    if not stripped.startswith("Bearer") or len(stripped) < 7 or not stripped[6].isspace():
        return None
    return stripped[7:].strip() or None


# What a request ran: each operation with its checked document (None when its parameters
# were refused before parsing).
Ran = tuple[list[CheckedDocument | None], list[Operation]]


class Reply:
    """A finished response: status, JSON document, extra headers; and for the request log
    and the metrics, what ran (the checked documents and operations), their complexity,
    whether any result carried errors, and the authenticated client."""

    __slots__ = ("status", "payload", "headers", "ran", "points", "failed", "client_id", "_label")

    def __init__(self, status: int, payload: Any, headers: list[tuple[bytes, bytes]] | None = None):
        self.status = status
        self.payload = payload
        self.headers = headers or []
        self.ran: Ran | None = None
        self.points = 0
        self.failed = False
        self.client_id: str | None = None
        self._label: str | None = None

    def noted(self, ran: Ran | None, points: int, failed: bool) -> Reply:
        self.ran, self.points, self.failed = ran, points, failed
        return self

    def label(self) -> str:
        """The request log's name for what ran; built only when a log asks, and once (the
        request log and the access log line both want it)."""
        label = self._label
        if label is None:
            if self.ran is None:
                label = SERVER_ERROR if self.status >= 500 else INVALID_REQUEST
            else:
                label = operation_names(*self.ran)
            self._label = label
        return label

    def outcome(self) -> str:
        """The request log's outcome: a 429, any error in the answer, or success."""
        if self.status == 429:
            return RATE_LIMITED
        return ERROR if self.failed or self.status >= 400 else SUCCESS

    def operation_label(self, known: frozenset[str]) -> str:
        """The metrics' operation label (extapi.graphql.roots): root fields, never names."""
        if self.ran is None:
            return NONE
        checked, operations = self.ran
        if len(operations) == 1:  # the usual request: no list to build
            first = checked[0]
            return (
                INVALID if first is None else first.root_label(operations[0].operation_name, known)
            )
        return request_label(
            [
                INVALID if c is None else c.root_label(op.operation_name, known)
                for c, op in zip(checked, operations, strict=True)
            ]
        )


class GraphQLEndpoint:
    def __init__(self, runtime: Runtime, schema: GraphQLSchema) -> None:
        self.runtime = runtime
        self.schema = schema
        self.documents = DocumentCache(
            schema,
            runtime.config.document_cache_bytes,
            metrics=runtime.metrics,
            inline_fields=INLINE_FIELDS,
        )
        self.limiter = RateLimiter(runtime.windows)
        self._costs = cost_table(schema)
        # Small bodies already read, and what they hold (see _operations).
        self._parsed: dict[bytes, tuple[list[Operation], bool]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        arrived = time.perf_counter()
        grj = wants_graphql_response(header(scope, b"accept"))
        method = scope["method"]
        read_only = method == "GET"
        if read_only and grj:
            # The GraphQL-over-HTTP GET, for clients that ask for the newer media type (urql
            # sends short queries this way); every other GET keeps Totara's answer.
            body = get_request_body(scope.get("query_string", b""))
        elif method != "POST":
            await self._send(scope, send, Reply(400, envelope([{"message": ONLY_POST}])), grj)
            return
        else:
            try:
                body = await read_body(scope, receive, self.runtime.config.max_body_bytes)
            except BodyTooLarge as exc:
                reply = Reply(413, envelope([_safe(str(exc), "request")]))
                await self._send(scope, send, reply, grj)
                return
        authorization = header(scope, b"authorization")
        if self.runs_inline(body, authorization):
            reply = self._handle(scope, body, grj, arrived, read_only, authorization)
        else:
            reply = await self.runtime.threads.run(
                self._handle, scope, body, grj, arrived, read_only, authorization
            )
        await self._send(scope, send, reply, grj)

    def runs_inline(self, body: bytes, authorization: str | None) -> bool:
        """Whether the request may run on the event loop, told without I/O: a small body of one
        operation whose document is cached and cheap, with a cached token or none at all."""
        if len(body) > INLINE_MAX_BODY:
            return False
        token = bearer_token(authorization)
        if token is not None and not self.runtime.tokens.knows(token):
            return False
        known = self._parsed.get(body)
        if known is not None:
            operations, batch = known
            if batch or len(operations) != 1:
                return False
            query: Any = operations[0].query
        else:
            try:
                payload = orjson.loads(body)
            except orjson.JSONDecodeError:
                return False
            query = payload.get("query") if type(payload) is dict else None
            if type(query) is not str:
                return False
        site = self.runtime.known_settings()
        checked = self.documents.peek(query, bool(site.enable_introspection), site.max_query_depth)
        return checked is not None and checked.inline

    async def _send(self, scope: Scope, send: Send, reply: Reply, grj: bool) -> None:
        plain = isinstance(reply.payload, bytes)  # a refusal's bare text, not JSON
        headers = [
            (b"content-type", _PLAIN if plain else GRAPHQL_RESPONSE if grj else JSON),
            *_STATIC_HEADERS,
            (b"last-modified", http_date(time.time())),
            *reply.headers,
        ]
        note = note_of(scope)
        if note is not None:  # see extapi.ops.observe: this endpoint stamps its answers
            headers.append(note.header)
            note.status = reply.status
            note.outcome = reply.outcome()
            note.operation = reply.operation_label(self.documents.root_fields)
            note.client_id = reply.client_id
            if reply.client_id is not None:
                note.names = reply.label
        body = reply.payload if plain else orjson.dumps(reply.payload)
        headers.append((b"content-length", b"%d" % len(body)))
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def handle(
        self,
        scope: Scope,
        body: bytes,
        grj: bool,
        arrived: float | None = None,
        read_only: bool = False,
    ) -> Reply:
        """Totara's order: the API feature, then authentication, then the request body (its
        Content-Type is never looked at). ``read_only`` requests (GET) may not run a mutation."""
        authorization = header(scope, b"authorization")
        return self._handle(scope, body, grj, arrived, read_only, authorization)

    def _handle(
        self,
        scope: Scope,
        body: bytes,
        grj: bool,
        arrived: float | None,
        read_only: bool,
        authorization: str | None,
    ) -> Reply:
        """:meth:`handle` with the Authorization header already read."""
        started = time.perf_counter()
        runtime = self.runtime
        token = bearer_token(authorization)
        found = runtime.tokens.check(token)
        site = runtime.settings_at(found.revision)
        if not site.api_enabled:
            return Reply(400, envelope([{"message": FEATURE_OFF}]))
        meter = _meter(found, arrived or started, started) if site.perfdebug else None
        now = int(time.time())
        try:
            caller = authenticate(found, authorization is not None, now)
        except AuthenticationError as exc:
            reply = _unauthenticated(exc, site, grj, meter, token is not None).noted(None, 0, True)
            if found.row is not None and runtime.request_log.enabled:
                self._log_refused(found.row, body, reply, site, now, started)
            return reply
        if caller.allowed_ips is not None:  # costs nothing for a client without a list
            refused = self._check_address(scope, caller, site, now, started)
            if refused is not None:
                refused.client_id = caller.client_id
                return refused
        context = RequestContext(runtime.engine, site, caller, partial(self._base_url, scope))
        report = header(scope, REPORT_HEADER) is not None
        reply = _CRASHED
        try:
            if meter is None:
                reply = self.execute(context, body, grj, report, read_only=read_only)
            else:
                with measuring(meter, runtime.engine):
                    reply = self.execute(context, body, grj, report, meter, read_only)
        finally:
            context.close()
            if runtime.request_log.enabled:
                self._log(caller, reply, site, now, started)
        reply.client_id = caller.client_id
        return reply

    def _check_address(
        self, scope: Scope, caller: ApiCaller, site: SiteSettings, now: int, started: float
    ) -> Reply | None:
        """The answer to a client calling from outside its IP allow-list, logged against the
        client; None when the address is allowed."""
        level = _level(site, caller.response_debug)
        runtime = self.runtime
        refusal = address_refusal(caller.allowed_ips, scope, runtime.trusted_proxies, level)
        if refusal is None:
            return None
        reply = _refused_address(refusal)
        if runtime.request_log.enabled:
            runtime.request_log.record(
                caller.client_pk,
                refusal.label("GraphQL request"),
                0,
                refusal.status,
                IP_NOT_ALLOWED,
                (time.perf_counter() - started) * 1000.0,
                now,
                min(caller.client_rate_limit, site.client_rate_limit),
                REQUEST_ID.get(),
                None,
                errors_text(errors_of(reply.payload)),
            )
        return reply

    def _log(
        self, caller: ApiCaller, reply: Reply, site: SiteSettings, now: int, started: float
    ) -> None:
        duration_ms = (time.perf_counter() - started) * 1000.0
        variables = errors = None
        if reply.ran is not None:
            operations = reply.ran[1]
            if len(operations) > 1 or (operations and operations[0].variables):
                variables = variables_text([op.variables for op in operations])
        if reply.failed or reply.status >= 400:
            errors = errors_text(errors_of(reply.payload))
        self.runtime.request_log.record(
            caller.client_pk,
            reply.label(),
            reply.points,
            reply.status,
            reply.outcome(),
            duration_ms,
            now,
            min(caller.client_rate_limit, site.client_rate_limit),
            REQUEST_ID.get(),
            variables,
            errors,
        )

    def _log_refused(
        self,
        row: dict[str, Any],
        body: bytes,
        reply: Reply,
        site: SiteSettings,
        now: int,
        started: float,
    ) -> None:
        """Log a request whose token is valid but whose client may not use it (disabled, or
        its service account or tenant not valid) against that client. Expired tokens are
        left out, as unknown ones are: they name no client still entitled to call."""
        if row["expires"] <= now:
            return
        label, variables = refused_request(body, self.runtime.config.max_batch_size)
        self.runtime.request_log.record(
            int(row["client_pk"]),
            label,
            0,
            reply.status,
            REFUSED,
            (time.perf_counter() - started) * 1000.0,
            now,
            min(int(row["client_rate_limit"]), site.client_rate_limit),
            REQUEST_ID.get(),
            variables,
            errors_text(errors_of(reply.payload)),
        )

    def _base_url(self, scope: Scope) -> str:
        return self.runtime.config.public_url or site_address(scope)

    def execute(
        self,
        context: RequestContext,
        body: bytes,
        grj: bool,
        report: bool,
        meter: RequestMeter | None = None,
        read_only: bool = False,
    ) -> Reply:
        level = _level(context.site, context.caller.response_debug)
        try:
            operations, batch = self._operations(body)
        except ExtapiError as exc:
            # A body that is not JSON at all is a 400 (the GraphQL-over-HTTP SHOULD); Totara's
            # other shape errors keep its 200 unless the client asked for the newer media type.
            status = 400 if grj or isinstance(exc, BodyNotJson) else 200
            payload = envelope([format_exception(exc, level)], None, _extensions(meter, 0))
            return Reply(status, payload).noted(None, 0, True)
        site = context.site
        checked = [
            None
            if op.errors
            else self.documents.get(op.query, bool(site.enable_introspection), site.max_query_depth)
            for op in operations
        ]
        mutation = False
        for c, op in zip(checked, operations, strict=True):
            if c is not None and c.is_mutation(op.operation_name):
                mutation = True
                break
        ran: Ran = (checked, operations)
        if mutation and read_only:
            payload = envelope([{"message": MUTATION_NEEDS_POST}], None, _extensions(meter, 0))
            return Reply(405, payload, [(b"allow", b"POST")]).noted(ran, 0, True)
        budgets = self.limiter.budgets(site, context.caller)
        admitted: Verdict | None = None
        if mutation:
            # A mutation must not start without room in the budgets; a query is simply refused
            # afterwards if its cost does not fit (it changed nothing), saving a window read.
            admitted = self.limiter.precheck(budgets, time.time())
            if admitted is not None and not admitted.allowed:
                return self._too_many(budgets, admitted).noted(ran, 0, False)
        counter = ComplexityCounter(
            self.schema,
            site.max_query_complexity,
            self.runtime.config.max_execution_seconds,
            self._costs,
        )
        deprecations = DeprecationLog() if level >= DEVELOPER else None
        context.complexity = counter
        compiled = self.runtime.config.compiled_execution
        outcomes = [
            _refused(op)
            if doc is None
            else run(
                self.schema,
                doc,
                op.variables,
                op.operation_name,
                context,
                _middleware(counter, deprecations, doc),
                compiled,
                site,
            )
            for doc, op in zip(checked, operations, strict=True)
        ]
        points = counter.points
        verdict = self.limiter.settle(budgets, points, time.time(), admitted, exact=report)
        if verdict is not None and not verdict.allowed:
            return self._too_many(budgets, verdict).noted(ran, points, False)
        if self.runtime.metrics is not None:
            self.runtime.metrics.points(points)
        extensions = _extensions(meter, points, deprecations)
        payloads = [_payload(o, level, extensions, not batch) for o in outcomes]
        headers = rate_headers(budgets, verdict) if report and verdict is not None else []
        failed = any(o.result.errors for o in outcomes)
        if batch:
            return Reply(200, payloads, headers).noted(ran, points, failed)
        status = 400 if grj and outcomes[0].request_error else 200
        return Reply(status, payloads[0], headers).noted(ran, points, failed)

    def _operations(self, body: bytes) -> tuple[list[Operation], bool]:
        """The body's operations, read once for each small body sent again and again (a
        sync sends the same few documents): the same bytes always read the same way. Only
        bodies without variables are kept, so that nothing a request may change is shared
        (the operations list is never changed once read)."""
        known = self._parsed.get(body)
        if known is not None:
            return known
        parsed = parse_operations(
            decode_body(body), self.runtime.config.max_batch_size, has_nul(body)
        )
        if len(body) <= INLINE_MAX_BODY and all(
            op.variables is None and not op.errors for op in parsed[0]
        ):
            if len(self._parsed) >= PARSED_BODIES_MAX:
                self._parsed.clear()
            self._parsed[body] = parsed
        return parsed

    def _too_many(self, budgets: list[Budget], verdict: Verdict) -> Reply:
        metrics = self.runtime.metrics
        if metrics is not None and verdict.blocked >= 0:
            metrics.rate_limited(budgets[verdict.blocked].key.partition(":")[0])
        return Reply(
            429, envelope([{"message": TOO_MANY_REQUESTS}]), retry_headers(budgets, verdict)
        )


def operation_names(checked: list[CheckedDocument | None], operations: list[Operation]) -> str:
    """The request log's label: each operation's name, as asked for or as written in its
    document, in order."""
    if len(operations) == 1:
        return operations[0].operation_name or _document_operation_name(checked[0])
    return ", ".join(
        op.operation_name or _document_operation_name(doc)
        for doc, op in zip(checked, operations, strict=True)
    )


def _document_operation_name(checked: CheckedDocument | None) -> str:
    name = None if checked is None else checked.written_name
    return ANONYMOUS if name is None else name


# What the log notes for a request that raised instead of answering (uvicorn then sends 500).
_CRASHED = Reply(500, None)


def _refused_address(refusal: Refusal) -> Reply:
    """404 with a bare body at the None level; else 403 in Totara's envelope, with the reason
    as ``debugMessage`` (both places, as hidden errors give it) at the Developer level."""
    if refusal.status == 404:
        return Reply(404, NOT_FOUND_BODY)
    error: dict[str, Any] = {"message": FORBIDDEN}
    if refusal.detail is not None:
        error["debugMessage"] = refusal.detail
        error["extensions"] = {"debugMessage": refusal.detail}
    return Reply(refusal.status, envelope([error]))


def _level(site: SiteSettings, client_level: int | None) -> int:
    return site.response_debug if client_level is None else client_level


def _safe(message: str, category: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"category": category}}


def _meter(found: TokenLookup, arrived: float, started: float) -> RequestMeter:
    meter = RequestMeter(arrived)
    meter.token_lookup(found.cached, found.row is not None, time.perf_counter() - started)
    return meter


def _middleware(
    counter: ComplexityCounter, deprecations: DeprecationLog | None, checked: CheckedDocument
) -> list[Any]:
    """The deprecation watcher goes last, so it sees a field before the counter may refuse it."""
    if deprecations is None or not checked.deprecated:
        return [counter]
    return [counter, deprecations.watcher(checked.deprecated)]


def _extensions(
    meter: RequestMeter | None, points: int, deprecations: DeprecationLog | None = None
) -> dict[str, Any] | None:
    """Totara's order: the deprecation warnings, then perfdebug's two reports. Built once
    and shared by every result of the request."""
    extensions: dict[str, Any] = {}
    if deprecations is not None and deprecations.warnings:
        extensions["deprecation_warnings"] = deprecations.warnings
    if meter is not None:
        extensions["complexity_data"] = {"query_complexity": points}
        extensions["performance_data"] = meter.report()
    return extensions or None


def _unauthenticated(
    exc: AuthenticationError,
    site: SiteSettings,
    grj: bool,
    meter: RequestMeter | None,
    presented: bool,
) -> Reply:
    """Totara applies a client's own error level only once authentication has fully
    succeeded, so these errors always use the site's level. RFC 6750 asks for a challenge on
    every such answer, naming ``invalid_token`` when a token was sent; Totara's 200 stays for
    clients that accept plain JSON."""
    headers = [(b"www-authenticate", _INVALID_TOKEN if presented else _NO_TOKEN)]
    payload = envelope([format_exception(exc, site.response_debug)], None, _extensions(meter, 0))
    return Reply(401 if grj else 200, payload, headers)


def _refused(operation: Operation) -> Outcome:
    """The answer for an operation whose parameters graphql-php refused: its errors, no data."""
    errors = [
        GraphQLError(message, original_error=ClientSafeError(message, category="request"))
        for message in operation.errors
    ]
    return Outcome(ExecutionResult(None, errors), True)


def _payload(outcome: Outcome, level: int, extensions: dict[str, Any] | None, single: bool) -> Any:
    result = outcome.result
    errors = [format_error(e, level) for e in result.errors] if result.errors else None
    return envelope(errors, result.data, extensions, legacy=single)
