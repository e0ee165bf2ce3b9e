"""What the request log keeps of a request beyond its figures: the variables it sent (values
under secret-looking keys masked) and the errors it got, each as capped JSON text.

Both are built only for requests that carry variables or errors (the status query carries
neither, so its hot path pays nothing), on the request's own thread, so that the buffer holds
bounded text rather than the request's objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

__all__ = [
    "MASK",
    "DETAIL_MAX",
    "TRUNCATED",
    "masked",
    "variables_text",
    "errors_text",
    "errors_of",
]

MASK = "********"
# Each of the two texts is cut to this many characters; a cut text ends with TRUNCATED (and
# is then no longer valid JSON, which the detail page shows as it is).
DETAIL_MAX = 4096
TRUNCATED = "… [truncated]"
MESSAGE_MAX = 1000  # one error's message or debug message
ERRORS_MAX = 20  # errors kept of one request
DEPTH_MAX = 32  # deeper values are replaced by MASK: nobody debugs at that depth

# A key is secret when any of these appears in it, whatever the case: "password",
# "clientSecret", "api_key", "refresh-token", "Authorization", "credentials" ... Masking a
# harmless value ("keyword") costs less than showing a secret one.
_SECRET = re.compile(
    r"passw|passphrase|^pass$|pwd|secret|token|key|authori[sz]|auth(?!or)|credential"
    r"|private|signature|cookie|session",
    re.IGNORECASE,
)


def _secret_key(key: str) -> bool:
    return _SECRET.search(key) is not None


def masked(value: Any, depth: int = 0) -> Any:
    """``value`` with every value held under a secret-looking key, at any depth, replaced by
    MASK (a whole object or list under such a key included)."""
    if depth > DEPTH_MAX:
        return MASK
    if isinstance(value, dict):
        return {k: MASK if _secret_key(str(k)) else masked(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v, depth + 1) for v in value]
    return value


def _capped(value: Any) -> str:
    text = orjson.dumps(value).decode()
    if len(text) <= DETAIL_MAX:
        return text
    return text[: DETAIL_MAX - len(TRUNCATED)] + TRUNCATED


def variables_text(variables: Sequence[dict[str, Any] | None]) -> str | None:
    """The masked variables of each operation as JSON, capped: one object for a single
    operation, a list for a batch; None when no operation sent any."""
    if not any(variables):
        return None
    if len(variables) == 1:
        return _capped(masked(variables[0]))
    return _capped([masked(v) if v else None for v in variables])


def errors_of(payload: Any) -> list[dict[str, Any]]:
    """The error objects of a response (a batch answer is a list of responses)."""
    if isinstance(payload, dict):
        errors = payload.get("errors")
        return errors if isinstance(errors, list) else []
    if isinstance(payload, list):
        return [e for item in payload for e in errors_of(item)]
    if isinstance(payload, bytes) and payload:  # a refusal's bare text
        return [{"message": payload.decode(errors="replace")}]
    return []


def _cut(text: Any) -> str:
    text = str(text)
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 1] + "…"


def errors_text(errors: Iterable[dict[str, Any]]) -> str | None:
    """Each error's message and debug message (where the response gave one), as capped JSON;
    None when there were none."""
    kept: list[dict[str, str]] = []
    extra = 0
    for error in errors:
        if len(kept) == ERRORS_MAX:
            extra += 1
            continue
        entry = {"message": _cut(error.get("message", ""))}
        extensions = error.get("extensions")
        debug = error.get("debugMessage") or (
            extensions.get("debugMessage") if isinstance(extensions, dict) else None
        )
        if debug:
            entry["debugMessage"] = _cut(debug)
        kept.append(entry)
    if not kept:
        return None
    if extra:
        kept.append({"message": f"… and {extra} more error{'s' if extra != 1 else ''}"})
    return _capped(kept)
