"""How Totara's PHP sees decoded request values, and how graphql-php 14 prints them.

One home for both: PHP's ``empty()`` and array indexing (the request-shape rules), and the
printing used inside messages.

Totara decodes a request with ``json_decode(..., true)``, so a JSON object reaches graphql-php
as a PHP array. These helpers reproduce what PHP then prints: ``json_encode`` (``/`` as ``\\/``,
non-ASCII as ``\\uXXXX``, an empty object as ``[]``), graphql-php's ``printSafe`` and
``printSafeJson``, its "A, B, or C" lists and its Levenshtein suggestions.
"""

from __future__ import annotations

import math
from decimal import Decimal
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
    "php_empty",
    "php_index",
    "php_float_string",
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


_ESCAPES = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n"}
_ESCAPES.update({"\r": "\\r", "\t": "\\t"})


def php_empty(value: Any) -> bool:
    """PHP's ``empty()``: null, false, 0, 0.0, "", "0" and empty arrays (lists or objects)."""
    if value is None or value is False:
        return True
    if type(value) is str:
        return value == "" or value == "0"
    if value is True:
        return False
    return not value if isinstance(value, int | float | list | dict) else False


def php_index(value: Any, key: int) -> Any:
    """``$value[key]`` for a decoded array: a list position or the object member whose name
    PHP turns into that integer key (only the canonical decimal form does)."""
    if isinstance(value, list):
        return value[key] if 0 <= key < len(value) else None
    if isinstance(value, dict):
        return value.get(str(key))
    return None


def php_float_string(value: float) -> str:
    """A float cast to a PHP string: 14 significant digits, ``1.0E+25`` style exponents."""
    return _gcvt(value, 14, "E")


def _gcvt(value: float, precision: int, exponent: str) -> str:
    """PHP's float formatting: ``precision`` significant digits (17 means the shortest form
    that reads back the same), plain notation unless the exponent is below -4 or reaches
    ``precision``."""
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0"
    text = repr(abs(value)) if precision == 17 else f"{abs(value):.{precision - 1}e}"
    parts = Decimal(text).normalize().as_tuple()
    digits = "".join(map(str, parts.digits))
    point = len(digits) + int(parts.exponent)
    if point < -3 or point > precision:
        power = point - 1
        mantissa = digits[0] + "." + (digits[1:] or "0")
        return f"{sign}{mantissa}{exponent}{'+' if power >= 0 else '-'}{abs(power)}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if len(digits) <= point:
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _encode_string(text: str) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif code < 0x20:
            out.append(f"\\u{code:04x}")
        elif code < 0x80:
            out.append(char)
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
    out.append('"')
    return "".join(out)


def php_json(value: Any) -> str:
    """PHP ``json_encode`` with default flags: ``/`` and non-ASCII escaped, objects whose
    member names are 0, 1, 2 ... in order written as lists, empty objects as ``[]``."""
    if isinstance(value, dict):
        if is_php_list(value):
            return "[" + ",".join(php_json(item) for item in value.values()) + "]"
        members = (f"{_encode_string(str(k))}:{php_json(v)}" for k, v in value.items())
        return "{" + ",".join(members) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(php_json(item) for item in value) + "]"
    if isinstance(value, str):
        return _encode_string(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _gcvt(value, 17, "e")
    if isinstance(value, int):
        return str(value)
    return _encode_string(str(value))


def php_string(value: int | float) -> str:
    """PHP's ``(string)`` cast of a number."""
    return str(value) if isinstance(value, int) else php_float_string(value)


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
