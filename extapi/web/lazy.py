"""The web pages (sign-in, admin pages, API documentation, explorer) made on first use.

They import Jinja2, every view and the documentation model: about 3 MB that a worker serving
only the API never needs. Until a page other than the few plain routes (``/``, ``/healthz``,
``/readyz``, ``/metrics``) is asked for, those routes and the application's lifespan are
served by a small Starlette app with the same middleware; the first other request builds the
full pages app (a one-off cost of about a tenth of a second in that worker), which from then
on serves everything that is not one of the API's endpoints. A plain route asked for with
another method (an error page) goes to the full app too, so its answers stay the same.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route

from extapi.http import Receive, Scope, Send
from extapi.web.security import BodyLimit, NoNulBytes, SecureHeaders

__all__ = ["LazyPages", "MAX_FORM_BYTES", "page_middleware"]

MAX_FORM_BYTES = 256 * 1024
Lifespan = Callable[[Starlette], AbstractAsyncContextManager[Any]]
_PLAIN_METHODS = frozenset({"GET", "HEAD"})


def page_middleware() -> list[Middleware]:
    """What wraps every page, plain or not."""
    return [
        Middleware(SecureHeaders),
        Middleware(BodyLimit, limit=MAX_FORM_BYTES),
        Middleware(NoNulBytes),
    ]


class LazyPages:
    """``build()`` makes the full pages app (with ``routes`` among its own); until it is
    needed, ``routes`` and ``lifespan`` are served without it."""

    def __init__(
        self,
        build: Callable[[], Starlette],
        routes: list[BaseRoute],
        lifespan: Lifespan | None = None,
    ) -> None:
        self._build = build
        self._full: Starlette | None = None
        self._plain = Starlette(routes=routes, middleware=page_middleware(), lifespan=lifespan)
        self._plain_paths = frozenset(r.path for r in routes if isinstance(r, Route))

    @property
    def built(self) -> bool:
        return self._full is not None

    @property
    def full(self) -> Starlette:
        if self._full is None:
            self._full = self._build()
        return self._full

    @property
    def state(self) -> State:
        return self.full.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" or (
            self._full is None
            and scope["path"] in self._plain_paths
            and scope.get("method", "GET") in _PLAIN_METHODS
        ):
            await self._plain(scope, receive, send)
        else:
            await self.full(scope, receive, send)
