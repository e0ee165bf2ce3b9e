"""Errors graphql-core raises while it executes, in graphql-php's words: argument problems
(client-safe) and the executor's own faults (internal in Totara: server faults, not client
mistakes)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from graphql import GraphQLError, ValueNode

from extapi.graphql.messages.templates import BAD_ARGUMENT
from extapi.graphql.phpvalues import print_value

__all__ = ["argument_message", "executor_reason"]


_EXECUTOR: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"^Cannot return null for non-nullable field (.*)\.$"),
        lambda m: f'Cannot return null for non-nullable field "{m.group(1)}".',
    ),
    (
        re.compile(r"^Expected Iterable, but did not find one for field '(.*)'\.$"),
        lambda m: f"User Error: expected iterable, but did not find one for field {m.group(1)}.",
    ),
    (
        re.compile(r"^Expected `(.*)\.serialize\((.*)\)` to return non-nullable value"),
        lambda m: f'Expected a value of type "{m.group(1)}" but received: {m.group(2)}',
    ),
    (
        re.compile(r"^Runtime Object type '(.*)' is not a possible type for '(.*)'\.$"),
        lambda m: f'Runtime Object type "{m.group(1)}" is not a possible type for "{m.group(2)}".',
    ),
    (
        re.compile(r"^Expected value of type '(.*)' but got: (.*)\.$"),
        lambda m: f'Expected value of type "{m.group(1)}" but got: {m.group(2)}.',
    ),
]


_ARGUMENTS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"^Argument '(.*)' of non-null type '(.*)' must not be null\.$"),
        'Argument "{}" of non-null type "{}" must not be null.',
    ),
    (
        re.compile(
            r"^Argument '(.*)' of required type '(.*)' was provided the variable '\$(.*)' "
            r"which was not provided a runtime value\.$"
        ),
        'Argument "{}" of required type "{}" was provided the variable "${}" which was not '
        "provided a runtime value.",
    ),
    (
        re.compile(r"^Argument '(.*)' of required type '(.*)' was not provided\.$"),
        'Argument "{}" of required type "{}" was not provided.',
    ),
]
_INVALID_ARGUMENT = re.compile(r"^Argument '(.*)' has invalid value ")


def argument_message(error: GraphQLError) -> str:
    """graphql-php's text for an argument graphql-core refuses while resolving a field
    (validation normally catches these first); other texts pass unchanged."""
    for pattern, template in _ARGUMENTS:
        match = pattern.match(error.message)
        if match:
            return template.format(*match.groups())
    invalid = _INVALID_ARGUMENT.match(error.message)
    if invalid and error.nodes and isinstance(error.nodes[0], ValueNode):
        return BAD_ARGUMENT.format(name=invalid.group(1), value=print_value(error.nodes[0]))
    return error.message


def executor_reason(error: GraphQLError) -> str | None:
    """graphql-php's text when ``error`` is one graphql-core's executor raised while
    completing a field (a null in a non-null field, a non-list for a list, a value its
    scalar can not serialize); None for anything else."""
    if error.path is None:
        return None
    original: Any = error.original_error
    if original is not None and not isinstance(original, GraphQLError | TypeError):
        return None
    if isinstance(original, GraphQLError) and original.original_error is None and error.nodes:
        # A scalar's serializer refused the value (graphql-core reports the scalar's text).
        scalar = re.match(r"^(String|Int|Float|Boolean|ID) cannot represent", original.message)
        if scalar:
            return (
                f'Expected a value of type "{scalar.group(1)}" but received: '
                + original.message.split(": ", 1)[-1]
            )
    for pattern, rewrite in _EXECUTOR:
        match = pattern.match(error.message)
        if match:
            return rewrite(match)
    return None
