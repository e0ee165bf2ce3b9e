"""``create_app(config)``: the ASGI application."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from graphql import GraphQLSchema
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

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
from extapi.requestlog.flusher import request_log_lifespan
from extapi.runtime import Runtime, open_runtime
from extapi.web.pages import build_pages

__all__ = ["create_app", "create_app_from_env", "ExtapiApp"]

GRAPHQL_PATH = "/api/graphql.php"


class ExtapiApp:
    """Sends the API and OAuth paths straight to their raw ASGI endpoints (the hot path skips
    the router) and everything else to a Starlette app."""

    def __init__(self, runtime: Runtime, schema: GraphQLSchema | None = None) -> None:
        self.runtime = runtime
        schema = schema or build_schema()
        self.fast: dict[str, Callable[[Scope, Receive, Send], Awaitable[None]]] = {
            TOKEN_PATH: TokenEndpoint(runtime),
            GRAPHQL_PATH: GraphQLEndpoint(runtime, schema),
            REVOCATION_PATH: RevocationEndpoint(runtime),
            INTROSPECTION_PATH: IntrospectionEndpoint(runtime),
            METADATA_PATH: MetadataEndpoint(runtime),
        }
        self.pages = build_pages(
            runtime,
            schema,
            [Route("/", _home), Route("/healthz", self._health)],
            lifespan=lambda _app: request_log_lifespan(runtime),
        )

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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            endpoint = self.fast.get(scope["path"])
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await self.pages(scope, receive, send)


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
    return create_app(load_config())
