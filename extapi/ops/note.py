"""``RequestNote``: what an endpoint tells the operations layer about the request it answered.

:class:`extapi.ops.observe.Observer` puts a fresh note in the ASGI scope under :data:`NOTE`;
an endpoint that knows more than the status (the GraphQL and token endpoints) fills it in.
The metrics' ``operation`` label takes its values from a small fixed vocabulary plus the
schema's root field names, so no client can create new series.
"""

from __future__ import annotations

from collections.abc import Callable

from extapi.http import Scope
from extapi.requestlog.outcomes import ERROR, RATE_LIMITED, SUCCESS

__all__ = [
    "NOTE",
    "RequestNote",
    "note_of",
    "outcome_of_status",
    "NONE",
    "INVALID",
    "MULTIPLE",
    "OTHER",
    "GRANTED",
]

NOTE = "extapi.note"
# The token endpoint's outcome when it grants a token (otherwise the OAuth error code).
GRANTED = "granted"

# The operation label when no GraphQL operation was looked at (not the API, no valid token,
# wrong method, body too large ...).
NONE = "none"
# The request or its document did not parse or validate, or named no operation it holds.
INVALID = "invalid"
# More than one root field (in one operation, or across a batch).
MULTIPLE = "multiple"
# A root field the schema does not list (cannot pass validation; kept as a guard).
OTHER = "other"


class RequestNote:
    """``header`` is the ``X-Request-Id`` header every answer carries; ``status`` is set as
    the answer starts; the rest by endpoints that know it."""

    __slots__ = ("header", "status", "operation", "outcome", "client_id", "names", "error")

    def __init__(self, header: tuple[bytes, bytes]) -> None:
        self.header = header
        self.status = 0
        self.operation = NONE
        self.outcome: str | None = None  # None: judged from the status
        self.client_id: str | None = None  # the API client, once authenticated
        self.names: Callable[[], str] | None = None  # the operation names, built only if logged
        self.error: str | None = None  # an OAuth error code


def note_of(scope: Scope) -> RequestNote | None:
    note = scope.get(NOTE)
    return note if isinstance(note, RequestNote) else None


def outcome_of_status(status: int) -> str:
    """The request log's vocabulary, for answers that carry no GraphQL result."""
    if status == 429:
        return RATE_LIMITED
    return ERROR if status >= 400 else SUCCESS
