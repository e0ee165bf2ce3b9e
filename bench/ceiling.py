"""The "ceiling" app of the benchmark: the fastest answer the HTTP stack can give.

A raw ASGI callable (no framework, no database, no GraphQL) that reads the whole request body
and answers every HTTP request with the bytes and headers the real server returns for the
authenticated status query (Totara's no-cache headers included, as every real response carries
them). ``bench/run.py`` serves it under uvicorn with the same options as
``extapi serve`` (httptools, uvloop, no access log, one worker), so its requests/s are the
limit of uvicorn + the event loop on this machine; the real server can only approach it.
``starlette_app`` gives the same answer through a one-route Starlette app.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["BODY", "app", "starlette_app"]

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

BODY = b'{"data":{"totara_webapi_status":{"status":"ok"}}}'
_START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"x-content-type-options", b"nosniff"),
        (b"cache-control", b"no-store, no-cache, must-revalidate, post-check=0, pre-check=0"),
        (b"pragma", b"no-cache"),
        (b"expires", b"Mon, 20 Aug 1969 09:23:00 GMT"),
        (b"accept-ranges", b"none"),
        (b"last-modified", b"Fri, 27 Nov 2026 00:00:00 GMT"),
        (b"content-length", str(len(BODY)).encode()),
    ],
}
_BODY: Message = {"type": "http.response.body", "body": BODY}


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def app(scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
    """Answer any HTTP request with :data:`BODY` as ``application/json``."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    await _read_body(receive)
    await send(dict(_START))
    await send(dict(_BODY))


async def _starlette_status(request: Request) -> Response:
    await request.body()
    headers = {k.decode(): v.decode() for k, v in _START["headers"] if k != b"content-length"}
    return Response(BODY, headers=headers)


# The same answer from the smallest Starlette app (one route, no middleware): the "bare
# Starlette endpoint" issue 14 measures the status query against. The route takes any path
# (and GET, which the benchmark's readiness probe sends).
starlette_app = Starlette(
    routes=[Route("/{path:path}", _starlette_status, methods=["GET", "POST"])]
)
