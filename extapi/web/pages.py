"""``build_pages``: the Starlette app behind every path that is not one of the two API
endpoints: health, sign-in, the admin pages, the API documentation and static files."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from graphql import GraphQLSchema
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from extapi.graphql.endpoint import GraphQLEndpoint
from extapi.runtime import Runtime
from extapi.web.lazy import MAX_FORM_BYTES, page_middleware
from extapi.web.state import STATIC_DIR, WebState
from extapi.web.static_files import CompressedStaticFiles
from extapi.web.templating import render
from extapi.web.views import signin

__all__ = ["build_pages", "web_routes", "MAX_FORM_BYTES"]

log = logging.getLogger("extapi.web")
Lifespan = Callable[[Starlette], AbstractAsyncContextManager[Any]]


def _redirect(target: str) -> Callable[[Request], Any]:
    async def endpoint(_request: Request) -> Response:
        return RedirectResponse(target, status_code=301)

    return endpoint


def web_routes() -> list[BaseRoute]:
    """Every page route; each view module lists its own."""
    from extapi.web.views import ROUTES

    return [
        Route("/login", signin.signin_page, methods=["GET", "POST"]),
        Route("/logout", signin.signout, methods=["POST"]),
        # Totara's addresses, for admins' bookmarks and habits.
        Route("/login/index.php", _redirect("/login")),
        Route("/admin/", _redirect("/admin/clients")),
        Route("/admin", _redirect("/admin/clients")),
        *ROUTES,
        Mount("/static", CompressedStaticFiles(directory=STATIC_DIR), name="static"),
    ]


async def _not_found(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    titles = {404: "Page not found", 405: "Method not allowed"}
    return render(
        request,
        "error.html",
        status=status,
        title=titles.get(status, "Error"),
        message="There is nothing at this address." if status == 404 else "",
    )


async def _server_error(request: Request, exc: Exception) -> Response:
    """A plain page that names no internals; the traceback goes to the server log."""
    log.error("web page %s failed", request.url.path, exc_info=exc)
    return render(
        request,
        "error.html",
        status=500,
        title="Something went wrong",
        message="The page could not be shown. The error has been logged; try again in a moment.",
    )


def build_pages(
    runtime: Runtime,
    schema: GraphQLSchema,
    extra_routes: list[BaseRoute],
    lifespan: Lifespan | None = None,
    graphql: GraphQLEndpoint | None = None,
) -> Starlette:
    """``graphql`` is the API's endpoint, which the API explorer runs queries through (one
    of its own when not given)."""
    app = Starlette(
        routes=[*extra_routes, *web_routes()],
        middleware=page_middleware(),
        exception_handlers={HTTPException: _not_found, Exception: _server_error},
        lifespan=lifespan,
    )
    app.state.web = WebState.create(runtime, schema)
    app.state.graphql = graphql or GraphQLEndpoint(runtime, schema)
    return app
