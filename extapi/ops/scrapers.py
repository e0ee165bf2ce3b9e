"""``/metrics``: the Prometheus exposition, for the addresses ``EXTAPI_METRICS`` allows."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Sequence

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from extapi.config import Network
from extapi.http import Scope
from extapi.ops.metrics import CONTENT_TYPE, Metrics

__all__ = ["scraper_allowed", "metrics_endpoint"]


def scraper_allowed(scope: Scope, networks: Sequence[Network]) -> bool:
    """Whether the connection's direct peer is in one of ``networks``. Forwarding headers are
    not looked at; an IPv4 peer seen through a dual-stack socket (``::ffff:a.b.c.d``) counts
    as its IPv4 address."""
    client = scope.get("client")
    if not client:
        return False
    try:
        address = ipaddress.ip_address(client[0])
    except (TypeError, ValueError):
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def metrics_endpoint(
    metrics: Metrics, networks: Sequence[Network]
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        if not scraper_allowed(request.scope, networks):
            return PlainTextResponse("Forbidden\n", status_code=403)
        # Reading every worker's files is file I/O: kept off the event loop.
        body = await run_in_threadpool(metrics.render)
        return Response(body, media_type=CONTENT_TYPE, headers={"cache-control": "no-store"})

    return endpoint
