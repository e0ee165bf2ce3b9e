"""Parsing and serialising the shared custom scalars (Moodle's PARAM_* cleaners, in spirit).

A value a scalar refuses raises ``ValidationError("Invalid parameter value detected")``,
Totara's ``invalid_parameter_exception``: an internal error, unlike graphql's own scalars.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from graphql import GraphQLScalarType, GraphQLSchema, ValueNode
from graphql.language import BooleanValueNode, FloatValueNode, IntValueNode, StringValueNode
from graphql.pyutils import Undefined

from extapi.errors import CodingError, ValidationError

__all__ = ["bind_scalars", "TOTARA_SCALARS", "INVALID_PARAMETER"]

_DIGITS = re.compile(r"^\s*\d+\s*$")
_TAGS = re.compile(r"<[^>]*>")
# What Moodle's clean_param(PARAM_USERNAME) leaves unchanged (extendedusernamechars off).
_CLEAN_USERNAME = re.compile(r"[-.@_a-z0-9]+")
# validate_email(): the WHATWG pattern; PHP's "$" also matches before a final newline.
_EMAIL = re.compile(
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\n?"
)
INVALID_PARAMETER = "Invalid parameter value detected"
# PHP's integers are 64 bits: a larger JSON number decodes to a float, and a longer digit
# string is no ``is_number()``, so Totara's integer scalars refuse both.
PHP_INT_MAX, PHP_INT_MIN = 2**63 - 1, -(2**63)
ARRAY_PARAMETER = "clean_param() can not process arrays, please use clean_param_array() instead."


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
        raise ValidationError(INVALID_PARAMETER)
    if isinstance(value, int) and 0 < value <= PHP_INT_MAX:
        return value
    if isinstance(value, str) and _DIGITS.match(value) and int(value) <= PHP_INT_MAX:
        return int(value)
    raise ValidationError(INVALID_PARAMETER)


def parse_date(value: Any) -> int | str | None:
    """Left as given (number or text); services read it in the right timezone."""
    if value is None or value in ("", 0, "0"):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError(INVALID_PARAMETER)
    return value


def parse_integer(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationError(INVALID_PARAMETER)
    if isinstance(value, int) and PHP_INT_MIN <= value <= PHP_INT_MAX:
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        number = int(value)
        if PHP_INT_MIN <= number <= PHP_INT_MAX:
            return number
    raise ValidationError(INVALID_PARAMETER)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationError(INVALID_PARAMETER)
    return value


def _clean_param(value: Any, clean: re.Pattern[str]) -> str | None:
    """Totara's param_email / param_username: ``None`` and ``""`` mean none; any other value
    must already be what cleaning it would give, or it is refused (never rewritten)."""
    if value is None or value == "":
        return None
    if isinstance(value, dict | list):
        raise CodingError(ARRAY_PARAMETER)
    if not isinstance(value, str) or not clean.fullmatch(value):
        raise ValidationError(INVALID_PARAMETER)
    return value


def parse_email(value: Any) -> str | None:
    return _clean_param(value, _EMAIL)


def parse_username(value: Any) -> str | None:
    return _clean_param(value, _CLEAN_USERNAME)


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


def _text_literal(node: ValueNode) -> Any:
    """Totara hands a literal's text to the cleaner (the number 5 arrives as "5")."""
    if isinstance(node, StringValueNode | IntValueNode | FloatValueNode | BooleanValueNode):
        return node.value
    return Undefined


TOTARA_SCALARS = frozenset(_SCALARS)
_TEXT_LITERALS = frozenset({"param_email", "param_username"})


def _literal_parser(parse: Parser, read: Callable[[ValueNode], Any]) -> Callable[..., Any]:
    def parse_literal(node: ValueNode, _variables: Any = None) -> Any:
        value = read(node)
        if value is Undefined:
            raise ValidationError(INVALID_PARAMETER)
        return parse(value)

    return parse_literal


def bind_scalars(schema: GraphQLSchema) -> None:
    for name, (serialize, parse) in _SCALARS.items():
        scalar = schema.get_type(name)
        if not isinstance(scalar, GraphQLScalarType):
            continue
        scalar.serialize = serialize  # type: ignore[method-assign,assignment]
        scalar.parse_value = parse  # type: ignore[method-assign,assignment]
        read = _text_literal if name in _TEXT_LITERALS else _literal
        scalar.parse_literal = _literal_parser(parse, read)  # type: ignore[method-assign]
