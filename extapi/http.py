"""Small helpers for the raw ASGI endpoints on the hot path."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from email.utils import formatdate
from functools import lru_cache
from typing import Any

__all__ = [
    "site_address",
    "Scope",
    "Receive",
    "Send",
    "BodyTooLarge",
    "header",
    "read_body",
    "send_bytes",
    "http_date",
    "weighted_items",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def weighted_items(value: str) -> Iterator[tuple[str, float]]:
    """The items of a header such as Accept or Accept-Encoding, each in lower case with its
    ``q`` weight: 1 when it has none, 0 when the weight cannot be read."""
    for part in value.split(","):
        item, *params = (p.strip() for p in part.split(";"))
        weight = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    weight = float(param[2:])
                except ValueError:
                    weight = 0.0
        yield item.lower(), weight


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The request body exceeds the limit of {limit} bytes.")
        self.limit = limit


def header(scope: Scope, name: bytes) -> str | None:
    """First value of a header (``name`` in lower case), decoded as Latin-1."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """Read the whole body, refusing more than ``limit`` bytes before buffering them."""
    declared = header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    message = await receive()
    if message["type"] == "http.request" and not message.get("more_body", False):
        whole = message.get("body", b"")  # the usual case: the body in one message
        if len(whole) > limit:
            raise BodyTooLarge(limit)
        return whole if type(whole) is bytes else bytes(whole)
    chunks: list[bytes] = []
    size = 0
    while True:
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
        message = await receive()
    return b"".join(chunks)


async def send_bytes(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


@lru_cache(maxsize=4)
def _format_second(second: int) -> bytes:
    return formatdate(second, usegmt=True).encode()


def http_date(now: float) -> bytes:
    """RFC 7231 date for ``now``; formatted once per second, not once per request."""
    return _format_second(int(now))


_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


def site_address(scope: Scope) -> str:
    """``scheme://host[:port]`` as the client addressed us; a malformed Host header (an
    injection attempt) gives ``localhost`` instead."""
    return _address(scope.get("scheme", "http"), header(scope, b"host") or "localhost")


@lru_cache(maxsize=64)
def _address(scheme: str, host: str) -> str:
    """Worked out once per scheme and Host header seen lately (clients repeat theirs)."""
    if not _HOST.match(host):
        host = "localhost"
    return f"{scheme}://{host}"
