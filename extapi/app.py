"""``create_app(config)``: the ASGI application."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from graphql import GraphQLSchema
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import BaseRoute, Route

from extapi.auth.introspection import IntrospectionEndpoint
from extapi.auth.metadata import (
    INTROSPECTION_PATH,
    METADATA_PATH,
    REVOCATION_PATH,
    TOKEN_PATH,
    MetadataEndpoint,
)
from extapi.auth.oauth import TokenEndpoint
from extapi.auth.revocation import RevocationEndpoint
from extapi.config import Config, load_config
from extapi.graphql.endpoint import GraphQLEndpoint
from extapi.graphql.schema import build_schema
from extapi.http import Receive, Scope, Send
from extapi.ops.logs import flush_request_lines
from extapi.ops.observe import Observer
from extapi.ops.readiness import Readiness
from extapi.requestlog.flusher import request_log_lifespan
from extapi.runtime import Runtime, open_runtime
from extapi.threads import prepare_serving_process
from extapi.web.lazy import LazyPages

__all__ = ["create_app", "create_app_from_env", "ExtapiApp"]

GRAPHQL_PATH = "/api/graphql.php"
# The metrics' endpoint label of each path that is not one of the raw endpoints.
PAGE_LABELS = {"/healthz": "health", "/readyz": "ready", "/metrics": "metrics"}


class ExtapiApp:
    """Sends the API and OAuth paths straight to their raw ASGI endpoints (the hot path skips
    the router) and everything else to a Starlette app; every HTTP request passes through the
    :class:`Observer` (request id, metrics, log line)."""

    def __init__(self, runtime: Runtime, schema: GraphQLSchema | None = None) -> None:
        self.runtime = runtime
        schema = schema or build_schema()
        graphql = GraphQLEndpoint(runtime, schema)
        self.fast: dict[str, Callable[[Scope, Receive, Send], Awaitable[None]]] = {
            TOKEN_PATH: TokenEndpoint(runtime),
            GRAPHQL_PATH: graphql,
            REVOCATION_PATH: RevocationEndpoint(runtime),
            INTROSPECTION_PATH: IntrospectionEndpoint(runtime),
            METADATA_PATH: MetadataEndpoint(runtime),
        }
        labels = {
            TOKEN_PATH: "token",
            GRAPHQL_PATH: "graphql",
            REVOCATION_PATH: "revoke",
            INTROSPECTION_PATH: "introspect",
            METADATA_PATH: "metadata",
        }
        # The GraphQL endpoint adds the request id to its answers itself (see Observer).
        self._routes = {
            path: (self.fast[path], label, path == GRAPHQL_PATH) for path, label in labels.items()
        }
        self.observe = Observer(runtime.metrics)
        self.readiness = Readiness(runtime.config, runtime.engine)
        routes: list[BaseRoute] = [
            Route("/", _home),
            Route("/healthz", self._health),
            Route("/readyz", self._ready),
        ]
        # Without EXTAPI_METRICS the address is not served at all (404 like any other).
        if runtime.metrics is not None and runtime.config.metrics is not None:
            from extapi.ops.scrapers import metrics_endpoint

            routes.append(
                Route("/metrics", metrics_endpoint(runtime.metrics, runtime.config.metrics))
            )

        def build() -> Starlette:
            from extapi.web.pages import build_pages

            return build_pages(runtime, schema, routes, graphql=graphql)

        # The admin pages and documentation are made on their first request (see LazyPages).
        self.pages = LazyPages(build, routes, lifespan=lambda _app: self._lifespan())

    @contextlib.asynccontextmanager
    async def _lifespan(self) -> AsyncIterator[None]:
        try:
            async with request_log_lifespan(self.runtime):
                yield
        finally:
            flush_request_lines()
            self.readiness.close()
            if self.runtime.metrics is not None:
                self.runtime.metrics.process_done()

    async def _health(self, _request: Request) -> JSONResponse:
        """Liveness, plus how often the shared rate-limit store could not be reached (the
        server then fails open: requests are served without rate limiting)."""
        windows = self.runtime.windows
        return JSONResponse(
            {
                "status": "ok",
                "rate_limit_backend": self.runtime.config.rate_limit_backend,
                "rate_limit_store_failures": getattr(windows, "failures", 0),
                "rate_limit_enforced": windows is not None and getattr(windows, "enforcing", True),
                "request_log_dropped": self.runtime.request_log.dropped,
            }
        )

    async def _ready(self, _request: Request) -> JSONResponse:
        """Readiness: 200 when every check passes, else 503; the body names each check."""
        ready, body = await self.readiness.report()
        return JSONResponse(
            body, status_code=200 if ready else 503, headers={"cache-control": "no-store"}
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.pages(scope, receive, send)
            return
        path = scope["path"]
        route = self._routes.get(path)
        if route is not None:
            await self.observe(route[0], route[1], scope, receive, send, route[2])
        else:
            await self.observe(self.pages, PAGE_LABELS.get(path, "pages"), scope, receive, send)


async def _home(_request: Request) -> PlainTextResponse:
    return PlainTextResponse(
        "extapi: a Totara-compatible external API.\n"
        f"Token endpoint: POST {TOKEN_PATH}\nGraphQL endpoint: POST {GRAPHQL_PATH}\n"
        f"OAuth server metadata: GET {METADATA_PATH}\n"
    )


def create_app(config: Config) -> ExtapiApp:
    return ExtapiApp(open_runtime(config))


def create_app_from_env() -> ExtapiApp:
    """Factory for uvicorn workers, which configure themselves from the environment."""
    app = create_app(load_config())
    prepare_serving_process()
    return app
