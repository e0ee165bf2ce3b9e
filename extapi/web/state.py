"""What the web pages share: the runtime, the live schema, templates and the session codec."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from graphql import GraphQLSchema
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from extapi.runtime import Runtime
from extapi.web.badges import outcome_badge
from extapi.web.sessions import SessionCodec
from extapi.web.setting_fields import choices_for

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
        env.filters["isotime"] = isotime
        env.filters["machine_time"] = machine_time
        env.filters["outcome_badge"] = outcome_badge
        env.globals["choices_for"] = choices_for
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


def isotime(seconds: int | float | None) -> str:
    """Unix seconds as an ISO 8601 UTC time, to the second."""
    if seconds is None:
        return ""
    return datetime.fromtimestamp(int(seconds), tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def machine_time(seconds: int | float | None) -> str:
    """Unix seconds as the ISO 8601 form a <time datetime> attribute takes."""
    if seconds is None:
        return ""
    return datetime.fromtimestamp(int(seconds), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state
