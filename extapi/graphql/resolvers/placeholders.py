"""Totara's reserved root fields ``placeholder_query`` and ``placeholder_mutation``.

Totara declares them so that ``Query`` and ``Mutation`` are never empty; no resolver class
exists behind them, so selecting one always fails with a coding error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from extapi.errors import CodingError

__all__ = ["RESOLVERS"]


def _refuse(hint: str) -> Callable[..., NoReturn]:
    def resolve(_root: Any, _info: Any) -> NoReturn:
        raise CodingError(hint)

    return resolve


RESOLVERS: dict[str, Callable[..., Any]] = {
    "Query.placeholder_query": _refuse("GraphQL query name is invalid"),
    "Mutation.placeholder_mutation": _refuse("GraphQL mutation name is invalid"),
}
