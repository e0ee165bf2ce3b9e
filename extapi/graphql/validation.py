"""Validation: the standard rules (values checked the graphql-php way), Totara's depth limit
and introspection switch. graphql-php's wording is applied to the results by
:func:`extapi.graphql.messages.validation_message`."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    ValuesOfCorrectTypeRule,
    specified_rules,
)

from extapi.graphql.literals import PhpValuesOfCorrectType

__all__ = ["rules_for", "INTROSPECTION_DISABLED", "strip_suggestions", "query_depth"]

INTROSPECTION_DISABLED = "GraphQL introspection is not enabled."
# graphql-php appends a suggestion either as a sentence or after a semicolon.
_SUGGESTION_AFTER_SEMICOLON = re.compile(r"; Did you mean .*\?$", re.DOTALL)
_SUGGESTION = re.compile(r"\s*Did you mean .*\?$", re.DOTALL)


def strip_suggestions(message: str) -> str:
    """Drop "Did you mean ..." hints, which would reveal schema names to a caller that may
    not introspect."""
    return _SUGGESTION.sub("", _SUGGESTION_AFTER_SEMICOLON.sub(".", message))


class DisableIntrospection(ValidationRule):
    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        if node.name.value in ("__schema", "__type"):
            self.report_error(GraphQLError(INTROSPECTION_DISABLED, node))


NO_FIELD = -1  # a selection set without any field that has a selection set of its own


def _deepest(
    selection_set: SelectionSetNode,
    level: int,
    fragments: dict[str, FragmentDefinitionNode],
    memo: dict[str, int],
) -> int:
    """The highest level of a field with a selection set, below ``selection_set`` at
    ``level``; fragments continue at the level they are spread at."""
    deepest = NO_FIELD
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.selection_set is not None:
                below = _deepest(selection.selection_set, level + 1, fragments, memo)
                deepest = max(deepest, level, below)
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _deepest(selection.selection_set, level, fragments, memo))
        elif isinstance(selection, FragmentSpreadNode):
            relative = _fragment_depth(selection.name.value, fragments, memo)
            if relative != NO_FIELD:
                deepest = max(deepest, level + relative)
    return deepest


def _fragment_depth(
    name: str, fragments: dict[str, FragmentDefinitionNode], memo: dict[str, int]
) -> int:
    """A fragment's depth relative to where it is spread: the same wherever that is, so it is
    counted once. Unknown fragments count nothing; a fragment met again while it is still
    being measured (a cycle, refused by another rule) adds nothing."""
    if name in memo:
        return memo[name]
    fragment = fragments.get(name)
    memo[name] = NO_FIELD
    if fragment is not None:
        memo[name] = _deepest(fragment.selection_set, 0, fragments, memo)
    return memo[name]


def query_depth(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
) -> int:
    """graphql-php's ``QueryDepth``: root fields are level 0 and only fields that have a
    selection set count."""
    return max(0, _deepest(operation.selection_set, 0, fragments, {}))


@lru_cache(maxsize=16)
def _depth_rule(max_depth: int) -> type[ValidationRule]:
    class QueryDepth(ValidationRule):
        def __init__(self, context: Any) -> None:
            super().__init__(context)
            self.memo: dict[str, int] = {}

        def leave_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            fragments = {
                d.name.value: d
                for d in self.context.document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            depth = max(0, _deepest(node.selection_set, 0, fragments, self.memo))
            if depth > max_depth:
                self.report_error(
                    GraphQLError(f"Max query depth should be {max_depth} but got {depth}.")
                )

    return QueryDepth


_STANDARD_RULES: tuple[type[ASTValidationRule], ...] = tuple(
    PhpValuesOfCorrectType if rule is ValuesOfCorrectTypeRule else rule for rule in specified_rules
)


@lru_cache(maxsize=32)
def rules_for(introspection: bool, max_depth: int) -> tuple[type[ASTValidationRule], ...]:
    extra: list[type[ASTValidationRule]] = []
    if max_depth > 0:
        extra.append(_depth_rule(max_depth))
    if not introspection:
        extra.append(DisableIntrospection)
    return (*_STANDARD_RULES, *extra)
