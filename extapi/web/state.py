"""What the web pages share: the runtime, the live schema, templates and the session codec."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from graphql import GraphQLSchema
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from extapi.runtime import Runtime
from extapi.web.sessions import SessionCodec

__all__ = ["WebState", "web_state", "TEMPLATES_DIR", "STATIC_DIR"]

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
T = TypeVar("T")


@dataclass
class WebState:
    runtime: Runtime
    schema: GraphQLSchema
    codec: SessionCodec
    templates: Environment

    @classmethod
    def create(cls, runtime: Runtime, schema: GraphQLSchema) -> WebState:
        env = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        return cls(runtime, schema, SessionCodec(runtime.hasher.derive("web-session")), env)

    async def write(self, work: Callable[..., T], *args: Any) -> T:
        """Run ``work(conn, *args)`` in one transaction, off the event loop."""
        return await run_in_threadpool(self._in_transaction, work, args)

    async def read(self, work: Callable[..., T], *args: Any) -> T:
        return await run_in_threadpool(self._connected, work, args)

    def _in_transaction(self, work: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self.runtime.engine.begin() as conn:
            return work(conn, *args)

    def _connected(self, work: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self.runtime.engine.connect() as conn:
            return work(conn, *args)


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state
