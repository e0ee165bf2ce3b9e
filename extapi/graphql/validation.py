"""Validation beyond the GraphQL standard rules: Totara's depth limit and introspection switch."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    specified_rules,
)

__all__ = ["rules_for", "INTROSPECTION_DISABLED", "strip_suggestions"]

INTROSPECTION_DISABLED = "GraphQL introspection is not enabled."
_SUGGESTION = re.compile(r"\s*Did you mean .*\?$", re.DOTALL)


def strip_suggestions(message: str) -> str:
    """Drop "Did you mean ..." hints, which would reveal schema names to a caller that may
    not introspect."""
    return _SUGGESTION.sub("", message)


class DisableIntrospection(ValidationRule):
    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        if node.name.value in ("__schema", "__type"):
            self.report_error(GraphQLError(INTROSPECTION_DISABLED, node))


def _depth(
    context: ValidationContext,
    selection_set: SelectionSetNode | None,
    depth: int,
    seen: frozenset[str],
) -> int:
    """Deepest nesting below ``selection_set``: a field with sub-fields adds one level."""
    if selection_set is None:
        return depth
    deepest = depth
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.selection_set is not None:
                deepest = max(deepest, _depth(context, selection.selection_set, depth + 1, seen))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(context, selection.selection_set, depth, seen))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = context.get_fragment(name)
            if fragment is not None and name not in seen:  # cycles are reported elsewhere
                deepest = max(
                    deepest, _depth(context, fragment.selection_set, depth, seen | {name})
                )
    return deepest


@lru_cache(maxsize=16)
def _depth_rule(max_depth: int) -> type[ValidationRule]:
    class QueryDepth(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            depth = _depth(self.context, node.selection_set, 0, frozenset())
            if depth > max_depth:
                self.report_error(
                    GraphQLError(f"Max query depth should be {max_depth} but got {depth}.", node)
                )

    return QueryDepth


@lru_cache(maxsize=32)
def rules_for(introspection: bool, max_depth: int) -> tuple[type[ASTValidationRule], ...]:
    extra: list[type[ASTValidationRule]] = [_depth_rule(max_depth)]
    if not introspection:
        extra.append(DisableIntrospection)
    return (*specified_rules, *extra)
