"""Parsing and serialising the shared custom scalars (Moodle's PARAM_* cleaners, in spirit)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from graphql import GraphQLError, GraphQLScalarType, GraphQLSchema, ValueNode
from graphql.language import IntValueNode, StringValueNode
from graphql.pyutils import Undefined

__all__ = ["bind_scalars"]

_DIGITS = re.compile(r"^\s*\d+\s*$")
_TAGS = re.compile(r"<[^>]*>")
_USERNAME_STRIP = re.compile(r"[^a-z0-9_\-.@]")
INVALID_PARAMETER = "Invalid parameter value detected"


def _literal(node: ValueNode) -> Any:
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, StringValueNode):
        return node.value
    return Undefined  # any other literal kind is a type error


def serialize_id(value: Any) -> str | None:
    if value in (None, "", 0, "0"):
        return None
    return str(int(value))


def parse_id(value: Any) -> int | None:
    if value is None or value in ("", 0, "0"):
        return None
    if isinstance(value, bool):
        raise GraphQLError(INVALID_PARAMETER)
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str) and _DIGITS.match(value):
        return int(value)
    raise GraphQLError(INVALID_PARAMETER)


def parse_date(value: Any) -> int | str | None:
    """Left as given (number or text); services read it in the right timezone."""
    if value is None or value in ("", 0, "0"):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise GraphQLError("Invalid date format")
    return value


def parse_integer(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise GraphQLError(INVALID_PARAMETER)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise GraphQLError(INVALID_PARAMETER)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise GraphQLError(INVALID_PARAMETER)
    return value


def parse_email(value: Any) -> str | None:
    text = _text(value).strip() if value is not None else ""
    return text or None


def parse_username(value: Any) -> str | None:
    text = _text(value).strip().lower() if value is not None else ""
    return _USERNAME_STRIP.sub("", text) or None


def parse_text(value: Any) -> str | None:
    text = _TAGS.sub("", _text(value)) if value is not None else ""
    return text or None


Parser = Callable[[Any], Any]
_SCALARS: dict[str, tuple[Parser, Parser]] = {
    "core_id": (serialize_id, parse_id),
    "core_date": (str, parse_date),
    "param_email": (str, parse_email),
    "param_integer": (int, parse_integer),
    "param_username": (str, parse_username),
    "param_text": (str, parse_text),
}


def _literal_parser(parse: Parser) -> Callable[..., Any]:
    def parse_literal(node: ValueNode, _variables: Any = None) -> Any:
        return parse(_literal(node))

    return parse_literal


def bind_scalars(schema: GraphQLSchema) -> None:
    for name, (serialize, parse) in _SCALARS.items():
        scalar = schema.get_type(name)
        if not isinstance(scalar, GraphQLScalarType):
            continue
        scalar.serialize = serialize  # type: ignore[method-assign,assignment]
        scalar.parse_value = parse  # type: ignore[method-assign,assignment]
        scalar.parse_literal = _literal_parser(parse)  # type: ignore[method-assign]
