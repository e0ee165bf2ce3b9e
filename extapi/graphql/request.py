"""Turning a request body into operations, with Totara's request-shape rules and messages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from extapi.errors import ClientSafeError, RequestError

__all__ = ["Operation", "parse_operations", "EMPTY", "PERSISTED", "BAD_OPERATION_NAME", "NO_QUERY"]

EMPTY = "Invalid request, request cannot be empty"
PERSISTED = "Invalid request, we do not support standard persistent queries"
BAD_OPERATION_NAME = "Invalid request, validation of operationName failed"
NO_QUERY = "Query parameter is missing"
PERSISTED_KEYS = ("queryId", "id", "documentid")
# Any GraphQL name is accepted (Totara 17 allowed only lower-case snake case).
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")


@dataclass(frozen=True)
class Operation:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None


def _json_safe(value: Any) -> str:
    return orjson.dumps(value).decode()


def _object_param(name: str, value: Any) -> dict[str, Any] | None:
    """``variables`` and ``extensions``: an object, a JSON string holding one, or empty."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            value = Undecodable(value)
        if value == [] or value is None:
            return None
    if isinstance(value, dict):
        return value
    shown = value.text if isinstance(value, Undecodable) else value
    raise ClientSafeError(
        f'GraphQL Request parameter "{name}" must be object or JSON string parsed to object, '
        f"but got {_json_safe(shown)}",
        category="request",
    )


@dataclass(frozen=True)
class Undecodable:
    text: str


def _operation(item: Any) -> Operation:
    if not isinstance(item, dict) or not item:
        raise RequestError(EMPTY)
    if any(key in item for key in PERSISTED_KEYS):
        raise RequestError(PERSISTED)
    name = item.get("operationName")
    if name is not None and name != "" and (not isinstance(name, str) or not _NAME.match(name)):
        raise RequestError(BAD_OPERATION_NAME)
    query = item.get("query")
    if query is None or query == "":
        raise RequestError(NO_QUERY)
    if not isinstance(query, str):
        raise ClientSafeError(
            f'GraphQL Request parameter "query" must be string, but got {_json_safe(query)}',
            category="request",
        )
    variables = _object_param("variables", item.get("variables"))
    _object_param("extensions", item.get("extensions"))
    return Operation(query, variables, name or None)


def decode_body(body: bytes) -> Any:
    """The JSON document, or the "cannot be empty" error for an empty or unreadable body."""
    if not body.strip():
        raise RequestError(EMPTY)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RequestError(EMPTY) from None


def parse_operations(payload: Any, max_batch: int) -> tuple[list[Operation], bool]:
    """Operations in order and whether the body was a batch. One bad element fails the batch,
    as in Totara."""
    if isinstance(payload, list):
        if not payload:
            raise RequestError(EMPTY)
        if len(payload) > max_batch:
            raise RequestError(
                f"Invalid request, a batch may hold at most {max_batch} operations "
                f"but this one holds {len(payload)}"
            )
        return [_operation(item) for item in payload], True
    return [_operation(payload)], False
