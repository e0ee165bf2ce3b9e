"""Abuse limits on the shape of a document, as graphql-core validation rules.

Each guard reports at most one error per document, then stops visiting:

* ``max_aliases``: aliased fields in the whole document (alias flooding);
* ``max_field_repeats``: how often one response key is selected in one selection set, inline
  fragments included (field duplication, which makes field merging quadratic);
* ``max_directives``: directives on one operation, field, fragment spread, inline fragment or
  fragment definition;
* ``max_fragments``: fragment definitions in the document.

Named fragment spreads are not expanded when counting repeats: each fragment's own selection
set is checked where the fragment is defined.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    BREAK,
    ASTValidationRule,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
)

__all__ = ["GuardLimits", "guard_rules"]


@dataclass(frozen=True)
class GuardLimits:
    max_aliases: int = 50
    max_field_repeats: int = 10
    max_directives: int = 5
    max_fragments: int = 50


@lru_cache(maxsize=16)
def _alias_rule(max_aliases: int) -> type[ASTValidationRule]:
    class MaxAliases(ASTValidationRule):
        def __init__(self, context: Any) -> None:
            super().__init__(context)
            self.count = 0
            self.first_over: FieldNode | None = None

        def enter_field(self, node: FieldNode, *_args: Any) -> None:
            if node.alias is not None:
                self.count += 1
                if self.count == max_aliases + 1:
                    self.first_over = node

        def leave_document(self, _node: DocumentNode, *_args: Any) -> None:
            if self.count > max_aliases:
                self.report_error(
                    GraphQLError(
                        f"Too many aliases: {self.count} exceeds the limit of {max_aliases}.",
                        self.first_over,
                    )
                )

    return MaxAliases


def _collect_keys(selection_set: SelectionSetNode, counts: dict[str, list[FieldNode]]) -> None:
    """Fields by response key in one selection set, inline fragments merged in."""
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            key = selection.alias.value if selection.alias else selection.name.value
            counts.setdefault(key, []).append(selection)
        elif isinstance(selection, InlineFragmentNode):
            _collect_keys(selection.selection_set, counts)


@lru_cache(maxsize=16)
def _repeat_rule(max_repeats: int) -> type[ASTValidationRule]:
    class MaxFieldRepeats(ASTValidationRule):
        def _check(self, selection_set: SelectionSetNode | None) -> object:
            if selection_set is None:
                return None
            counts: dict[str, list[FieldNode]] = {}
            _collect_keys(selection_set, counts)
            for key, fields in counts.items():
                if len(fields) > max_repeats:
                    self.report_error(
                        GraphQLError(
                            f'Field "{key}" is repeated {len(fields)} times; '
                            f"the limit is {max_repeats}.",
                            fields[max_repeats],
                        )
                    )
                    return BREAK
            return None

        # Inline fragments are merged into the selection set that holds them, so only the
        # selection sets of operations, fields and fragment definitions are checked.
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> object:
            return self._check(node.selection_set)

        def enter_fragment_definition(self, node: FragmentDefinitionNode, *_args: Any) -> object:
            return self._check(node.selection_set)

        def enter_field(self, node: FieldNode, *_args: Any) -> object:
            return self._check(node.selection_set)

    return MaxFieldRepeats


@lru_cache(maxsize=16)
def _directive_rule(max_directives: int) -> type[ASTValidationRule]:
    class MaxDirectives(ASTValidationRule):
        def _check(self, node: Node, directives: tuple[DirectiveNode, ...] | None) -> object:
            if directives and len(directives) > max_directives:
                self.report_error(
                    GraphQLError(
                        f"Too many directives on one node: {len(directives)} exceeds the "
                        f"limit of {max_directives}.",
                        node,
                    )
                )
                return BREAK
            return None

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> object:
            return self._check(node, node.directives)

        def enter_field(self, node: FieldNode, *_args: Any) -> object:
            return self._check(node, node.directives)

        def enter_fragment_spread(self, node: FragmentSpreadNode, *_args: Any) -> object:
            return self._check(node, node.directives)

        def enter_inline_fragment(self, node: InlineFragmentNode, *_args: Any) -> object:
            return self._check(node, node.directives)

        def enter_fragment_definition(self, node: FragmentDefinitionNode, *_args: Any) -> object:
            return self._check(node, node.directives)

    return MaxDirectives


@lru_cache(maxsize=16)
def _fragment_rule(max_fragments: int) -> type[ASTValidationRule]:
    class MaxFragments(ASTValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> object:
            fragments = [d for d in node.definitions if isinstance(d, FragmentDefinitionNode)]
            if len(fragments) > max_fragments:
                self.report_error(
                    GraphQLError(
                        f"Too many fragments: {len(fragments)} exceeds the limit of "
                        f"{max_fragments}.",
                        fragments[max_fragments],
                    )
                )
            return BREAK  # nothing more to look at

    return MaxFragments


@lru_cache(maxsize=16)
def guard_rules(limits: GuardLimits) -> tuple[type[ASTValidationRule], ...]:
    """The guard rules for ``limits``; add them to the rules a document is validated with."""
    return (
        _alias_rule(limits.max_aliases),
        _repeat_rule(limits.max_field_repeats),
        _directive_rule(limits.max_directives),
        _fragment_rule(limits.max_fragments),
    )
