"""The one place where errors become JSON, at Totara's three error levels.

None (0): message and category only; anything not client-safe reads "Internal server error".
Normal (1): adds the real reason as ``debugMessage`` (where Totara 17/18 clients read it) and
as ``extensions.debugMessage`` (where Totara 19 clients read it).
Developer (2): adds a ``trace`` of the Python frames.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any

from graphql import GraphQLError

from extapi.errors import ExtapiError
from extapi.graphql.messages import argument_message, executor_reason

__all__ = ["NONE", "NORMAL", "DEVELOPER", "format_error", "format_exception", "envelope"]

NONE, NORMAL, DEVELOPER = 0, 1, 2
INTERNAL = "Internal server error"
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
log = logging.getLogger("extapi.graphql")


def _trace(exc: BaseException) -> list[dict[str, Any]]:
    frames = traceback.extract_tb(exc.__traceback__)
    return [
        {
            "file": frame.filename.replace(_PACKAGE_ROOT, "").lstrip("/"),
            "line": frame.lineno,
            "call": frame.name,
        }
        for frame in reversed(frames)
    ]


def _hidden_reason(exc: BaseException, level: int) -> str:
    if isinstance(exc, ExtapiError):
        return exc.message
    # An unexpected failure may carry SQL or paths in its text: Normal names only its kind.
    log.error("Unexpected error while serving an API request", exc_info=exc)
    return str(exc) if level >= DEVELOPER else f"Unexpected error ({type(exc).__name__})"


def format_exception(
    exc: BaseException, level: int, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A GraphQL error object for ``exc``, masked unless it is client-safe."""
    if isinstance(exc, ExtapiError) and exc.client_safe:
        return {"message": exc.message, "extensions": {"category": exc.category}, **(extra or {})}
    out: dict[str, Any] = {}
    extensions: dict[str, Any] = {"category": "internal"}
    if level >= NORMAL:
        reason = _hidden_reason(exc, level)
        out["debugMessage"] = reason
        extensions["debugMessage"] = reason
    out["message"] = INTERNAL
    out["extensions"] = extensions
    out.update(extra or {})
    if level >= DEVELOPER:
        out["trace"] = _trace(exc)
    return out


def format_error(error: GraphQLError, level: int, message: str | None = None) -> dict[str, Any]:
    """One GraphQL error as JSON. graphql-core's own errors were already worded the graphql-php
    way (:mod:`extapi.graphql.messages`) and are client-safe, except the faults its executor
    raises while completing a field, which Totara reports as internal."""
    extra: dict[str, Any] = {}
    if error.locations:
        extra["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        extra["path"] = list(error.path)
    reason = executor_reason(error)
    if reason is not None:
        fault = ExtapiError(reason)
        original = error.original_error
        fault.__traceback__ = (original or error).__traceback__
        return format_exception(fault, level, extra)
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return {
            "message": message or argument_message(error),
            "extensions": {"category": "graphql"},
            **extra,
        }
    return format_exception(original, level, extra)


def envelope(
    errors: list[dict[str, Any]] | None,
    data: Any = None,
    extensions: dict[str, Any] | None = None,
    legacy: bool = True,
) -> dict[str, Any]:
    """Totara's key order (errors, data, extensions). A single response with errors also
    gets the legacy top-level ``error``: every message, one per line. Elements of a batch
    answer (``legacy=False``) never carry it."""
    out: dict[str, Any] = {}
    if errors:
        out["errors"] = errors
    if data is not None:
        out["data"] = data
    if extensions:
        out["extensions"] = extensions
    if errors and legacy:
        out["error"] = "\n".join(error["message"] for error in errors)
    return out
