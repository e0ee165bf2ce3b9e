"""How graphql-php 14 (and PHP under it) prints values inside its messages.

Totara decodes a request with ``json_decode(..., true)``, so a JSON object reaches graphql-php
as a PHP array. These helpers reproduce what PHP then prints: ``json_encode`` (``/`` as ``\\/``,
non-ASCII as ``\\uXXXX``, an empty object as ``[]``), graphql-php's ``printSafe`` and
``printSafeJson``, its "A, B, or C" lists and its Levenshtein suggestions.
"""

from __future__ import annotations

import json
from typing import Any

from graphql import (
    BooleanValueNode,
    EnumValueNode,
    FloatValueNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    StringValueNode,
    ValueNode,
    VariableNode,
)

__all__ = [
    "php_json",
    "php_string",
    "print_safe",
    "print_safe_json",
    "or_list",
    "quoted_or_list",
    "suggestion_list",
    "print_value",
    "is_php_list",
]


def is_php_list(value: dict[str, Any]) -> bool:
    """A decoded object whose keys are 0, 1, 2 ... is a list to PHP."""
    return all(key == str(index) for index, key in enumerate(value))


def _php_float(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return f"{value:.1f}"
    return repr(value)


def php_json(value: Any) -> str:
    """PHP ``json_encode`` with default flags."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _php_float(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=True).replace("/", "\\/")
    if isinstance(value, dict):
        if is_php_list(value):
            return "[" + ",".join(php_json(item) for item in value.values()) + "]"
        members = (f"{php_json(str(key))}:{php_json(item)}" for key, item in value.items())
        return "{" + ",".join(members) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(php_json(item) for item in value) + "]"
    return php_json(str(value))


def php_string(value: int | float) -> str:
    """PHP's ``(string)`` cast of a number."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value) if isinstance(value, int) else repr(value)


def _print_scalar(value: Any) -> str | None:
    if value == "" and isinstance(value, str):
        return "(empty string)"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return php_string(value)
    return None


def print_safe(value: Any) -> str:
    """graphql-php ``Utils::printSafe``: strings bare, arrays as JSON."""
    if isinstance(value, dict | list):
        return php_json(value)
    printed = _print_scalar(value)
    if printed is not None:
        return printed
    return str(value)


def print_safe_json(value: Any) -> str:
    """graphql-php ``Utils::printSafeJson``: strings in double quotes, unescaped."""
    if isinstance(value, dict | list):
        return php_json(value)
    printed = _print_scalar(value)
    if printed is not None:
        return printed
    return f'"{value}"'


def or_list(items: list[str]) -> str:
    """``A``, ``A or B``, ``A, B, or C`` (at most five)."""
    selected = items[:5]
    if len(selected) == 1:
        return selected[0]
    out = selected[0]
    for index in range(1, len(selected)):
        out += ", " if len(selected) > 2 else " "
        out += ("or " if index == len(selected) - 1 else "") + selected[index]
    return out


def quoted_or_list(items: list[str]) -> str:
    return or_list([f'"{item}"' for item in items])


def _levenshtein(a: bytes, b: bytes) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def suggestion_list(given: str, options: list[str]) -> list[str]:
    """Options within Levenshtein distance 0.4 x length + 1 (a case-only difference is 1),
    nearest first, ties in the given order."""
    threshold = len(given) * 0.4 + 1
    found: list[tuple[int, int, str]] = []
    for index, option in enumerate(options):
        if given == option:
            distance = 0
        elif given.lower() == option.lower():
            distance = 1
        else:
            distance = _levenshtein(given.encode(), option.encode())
        if distance <= threshold:
            found.append((distance, index, option))
    return [option for _, _, option in sorted(found)]


def print_value(node: ValueNode) -> str:
    """graphql-php's ``Printer::doPrint`` of a value literal."""
    if isinstance(node, IntValueNode | FloatValueNode | EnumValueNode):
        return node.value
    if isinstance(node, StringValueNode):
        return php_json(node.value)
    if isinstance(node, BooleanValueNode):
        return "true" if node.value else "false"
    if isinstance(node, NullValueNode):
        return "null"
    if isinstance(node, VariableNode):
        return "$" + node.name.value
    if isinstance(node, ListValueNode):
        return "[" + ", ".join(print_value(item) for item in node.values) + "]"
    if isinstance(node, ObjectValueNode):
        fields = (f"{field.name.value}: {print_value(field.value)}" for field in node.fields)
        return "{" + ", ".join(fields) + "}"
    raise TypeError(f"Not a value node: {node.kind}")
