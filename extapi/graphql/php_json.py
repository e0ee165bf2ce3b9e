"""How Totara's PHP sees and prints decoded JSON values.

Totara decodes request bodies into PHP arrays and then tests them with PHP's ``empty()`` and
prints them in messages with graphql-php's ``Utils::printSafeJson``. Clients match on those
messages, so extapi reproduces both rules here, on the values ``orjson`` decodes.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

__all__ = ["php_empty", "print_safe_json", "php_json_encode", "php_float_string", "php_index"]

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


def print_safe_json(value: Any) -> str:
    """graphql-php's ``printSafeJson``: strings in double quotes exactly as received,
    arrays as PHP ``json_encode`` output, scalars as PHP prints them."""
    if isinstance(value, list | dict):
        return php_json_encode(value)
    if value == "":
        return "(empty string)"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return php_float_string(value)
    return str(value)


def php_float_string(value: float) -> str:
    """A float cast to a PHP string: 14 significant digits, ``1.0E+25`` style exponents."""
    return _gcvt(value, 14, "E")


def php_json_encode(value: Any) -> str:
    """PHP ``json_encode`` with default flags: ``/`` and non-ASCII escaped, objects whose
    member names are 0, 1, 2 ... in order written as lists, empty objects as ``[]``."""
    if isinstance(value, dict):
        if _is_php_list(value):
            return "[" + ",".join(php_json_encode(v) for v in value.values()) + "]"
        members = (f"{_encode_string(k)}:{php_json_encode(v)}" for k, v in value.items())
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(php_json_encode(v) for v in value) + "]"
    if isinstance(value, str):
        return _encode_string(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _gcvt(value, 17, "e")
    return str(value)


def _is_php_list(value: dict[str, Any]) -> bool:
    return not value or all(key == str(i) for i, key in enumerate(value))


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
