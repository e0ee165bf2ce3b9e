"""``Observer``: what happens around every HTTP request, whichever endpoint answers it.

It picks the request id (and returns it as ``X-Request-Id``), times the request, counts it in
the metrics and writes its log line. An endpoint that crashes before answering gets a plain
500 carrying the id (the error is re-raised for the server to log, with the id).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from extapi.http import Message, Receive, Scope, Send
from extapi.ops.logs import access_enabled, log_request
from extapi.ops.note import NOTE, RequestNote, outcome_of_status
from extapi.ops.request_id import HEADER, REQUEST_ID, request_id

if TYPE_CHECKING:
    from extapi.ops.metrics import Metrics

__all__ = ["Observer", "Endpoint"]

Endpoint = Callable[[Scope, Receive, Send], Awaitable[None]]
_CRASH_HEADERS = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"21")]
_CRASH_BODY = b"Internal Server Error"


class Observer:
    def __init__(self, metrics: Metrics | None) -> None:
        self.metrics = metrics

    async def __call__(
        self,
        app: Endpoint,
        endpoint: str,
        scope: Scope,
        receive: Receive,
        send: Send,
        stamps: bool = False,
    ) -> None:
        """Serve an HTTP request with ``app``; ``endpoint`` is its metrics label. An app that
        ``stamps`` its answers adds ``note.header`` and sets ``note.status`` itself (the
        GraphQL endpoint: one wrapper less on the hot path); other apps' answers are
        stamped on their way out."""
        started = time.perf_counter()
        rid = request_id(scope)
        rid_text = rid.decode("ascii")
        # Not reset afterwards: each request runs in a task of its own, and a record the
        # server makes after the app returned (an uncaught error) still names the request.
        REQUEST_ID.set(rid_text)
        note = RequestNote((HEADER, rid))
        scope[NOTE] = note
        try:
            await app(scope, receive, send if stamps else _stamping(send, note))
        except Exception:
            if note.status == 0:
                stamped = _stamping(send, note)
                await stamped(
                    {"type": "http.response.start", "status": 500, "headers": _CRASH_HEADERS}
                )
                await stamped({"type": "http.response.body", "body": _CRASH_BODY})
            self._finish(endpoint, scope, note, started, rid_text)
            raise
        self._finish(endpoint, scope, note, started, rid_text)

    def _finish(
        self, endpoint: str, scope: Scope, note: RequestNote, started: float, rid: str
    ) -> None:
        seconds = time.perf_counter() - started
        status = note.status or 500
        outcome = note.outcome or outcome_of_status(status)
        if self.metrics is not None:
            self.metrics.request(endpoint, note.operation, outcome, seconds)
        if access_enabled():
            log_request(rid, scope["method"], scope["path"], seconds, note, status, outcome)


def _stamping(send: Send, note: RequestNote) -> Send:
    """``send`` adding the request id to the answer and noting its status; made only for the
    endpoints that do not stamp their own answers (the GraphQL endpoint does)."""

    async def send_with_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            note.status = message["status"]
            message["headers"] = [*message.get("headers", ()), note.header]
        await send(message)

    return send_with_id
