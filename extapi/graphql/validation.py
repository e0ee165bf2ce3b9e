"""Validation: the standard rules (values checked the graphql-php way), Totara's depth limit
and introspection switch. graphql-php's wording is applied to the results by
:func:`extapi.graphql.messages.validation_message`."""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    ParallelVisitor,
    SelectionSetNode,
    TypeInfo,
    TypeInfoVisitor,
    ValidationContext,
    ValidationRule,
    ValuesOfCorrectTypeRule,
    assert_valid_schema,
    specified_rules,
    visit,
)
from graphql.language.visitor import Visitor
from graphql.validation.validate import ValidationAbortedError
from graphql.validation.validation_context import (
    NodeWithSelectionSet,
    VariableUsage,
    VariableUsageVisitor,
)

from extapi.graphql.literals import PhpValuesOfCorrectType

__all__ = [
    "rules_for",
    "INTROSPECTION_DISABLED",
    "strip_suggestions",
    "query_depth",
    "validate_document",
]

INTROSPECTION_DISABLED = "GraphQL introspection is not enabled."
# graphql-php appends a suggestion either as a sentence or after a semicolon.
_SUGGESTION_AFTER_SEMICOLON = re.compile(r"; Did you mean .*\?$", re.DOTALL)
_SUGGESTION = re.compile(r"\s*Did you mean .*\?$", re.DOTALL)


# graphql-core's limit: past this many errors, one more says validation stopped.
MAX_ERRORS = 100
TOO_MANY_ERRORS = "Too many validation errors, error limit reached. Validation aborted."


def validate_document(
    schema: GraphQLSchema, document: DocumentNode, rules: Collection[type[ASTValidationRule]]
) -> list[GraphQLError]:
    """graphql-core's ``validate``, leaving no reference cycle behind.

    graphql-core's visitors keep their handlers, bound to themselves, in a map of their own:
    each visitor is a cycle, and through the rules and their context it holds the whole
    document (and every structure a rule built about it) until a full garbage collection,
    which stops all threads for as long as it takes to scan them. Emptying the maps once the
    document is visited lets all of it go as soon as validation returns."""
    assert_valid_schema(schema)
    errors: list[GraphQLError] = []

    def on_error(error: GraphQLError) -> None:
        if len(errors) >= MAX_ERRORS:
            errors.append(GraphQLError(TOO_MANY_ERRORS))
            raise ValidationAbortedError
        errors.append(error)

    type_info = TypeInfo(schema)
    context = _Context(schema, document, type_info, on_error)
    rule_visitors = [rule(context) for rule in rules]
    parallel = ParallelVisitor(rule_visitors)
    outer = TypeInfoVisitor(type_info, parallel)
    try:
        visit(document, outer)
    except ValidationAbortedError:
        pass
    finally:
        _forget_handlers(outer, parallel, *rule_visitors)
    return errors


def _forget_handlers(*visitors: Visitor) -> None:
    for visitor in visitors:
        visitor.enter_leave_map.clear()


class _Context(ValidationContext):
    """The rules' context, whose variable-usage visitors leave no cycle behind either (the
    same steps as graphql-core's own, which this version keeps in these attributes)."""

    def get_variable_usages(self, node: NodeWithSelectionSet) -> list[VariableUsage]:
        usages = self._variable_usages.get(node)
        if usages is None:
            collector = VariableUsageVisitor(self._type_info)
            outer = TypeInfoVisitor(self._type_info, collector)
            visit(node, outer)
            _forget_handlers(outer, collector)
            usages = self._variable_usages[node] = collector.usages
        return usages


def strip_suggestions(message: str) -> str:
    """Drop "Did you mean ..." hints, which would reveal schema names to a caller that may
    not introspect."""
    return _SUGGESTION.sub("", _SUGGESTION_AFTER_SEMICOLON.sub(".", message))


class DisableIntrospection(ValidationRule):
    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        if node.name.value in ("__schema", "__type"):
            self.report_error(GraphQLError(INTROSPECTION_DISABLED, node))


NO_FIELD = -1  # a selection set without any field that has a selection set of its own
Spreads = list[tuple[str, int]]


def _local_depth(selection_set: SelectionSetNode) -> tuple[int, Spreads]:
    """The highest level (0 at ``selection_set``) of a field with a selection set, not
    following fragment spreads, and the spreads met with the level they are at. Walked with a
    stack of its own, so that nesting costs no Python recursion."""
    deepest = NO_FIELD
    spreads: Spreads = []
    pending = [(selection_set, 0)]
    while pending:
        current, level = pending.pop()
        for selection in current.selections:
            if isinstance(selection, FieldNode):
                if selection.selection_set is not None:
                    deepest = max(deepest, level)
                    pending.append((selection.selection_set, level + 1))
            elif isinstance(selection, InlineFragmentNode):
                pending.append((selection.selection_set, level))
            elif isinstance(selection, FragmentSpreadNode):
                spreads.append((selection.name.value, level))
    return deepest, spreads


def _deepest(
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    memo: dict[str, int],
) -> int:
    """The highest level of a field with a selection set below ``selection_set`` (level 0);
    fragments continue at the level they are spread at."""
    deepest, spreads = _local_depth(selection_set)
    for name, level in spreads:
        relative = _fragment_depth(name, fragments, memo)
        if relative != NO_FIELD:
            deepest = max(deepest, level + relative)
    return deepest


def _fragment_depth(
    name: str, fragments: dict[str, FragmentDefinitionNode], memo: dict[str, int]
) -> int:
    """A fragment's depth relative to where it is spread: the same wherever that is, so it is
    counted once. Unknown fragments count nothing; a fragment met again while it is still
    being measured (a cycle, refused by another rule) adds nothing. Fragments spreading
    fragments are followed with a stack of their own, however long the chain."""
    pending: list[tuple[str, bool]] = [(name, False)]
    local: dict[str, tuple[int, Spreads]] = {}
    while pending:
        current, measured_below = pending.pop()
        if measured_below:
            deepest, spreads = local[current]
            for spread, level in spreads:
                relative = memo.get(spread, NO_FIELD)
                if relative != NO_FIELD:
                    deepest = max(deepest, level + relative)
            memo[current] = deepest
            continue
        if current in memo:
            continue
        memo[current] = NO_FIELD
        fragment = fragments.get(current)
        if fragment is None:
            continue
        local[current] = _local_depth(fragment.selection_set)
        pending.append((current, True))
        pending.extend((spread, False) for spread, _ in reversed(local[current][1]))
    return memo[name]


def query_depth(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
) -> int:
    """graphql-php's ``QueryDepth``: root fields are level 0 and only fields that have a
    selection set count."""
    return max(0, _deepest(operation.selection_set, fragments, {}))


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
            depth = max(0, _deepest(node.selection_set, fragments, self.memo))
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
