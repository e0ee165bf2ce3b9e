"""Parsed and validated documents, cached per worker.

The key includes every setting that changes the outcome of validation (introspection, depth
limit), so a settings change can never serve a stale verdict.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationType,
    get_operation_ast,
    validate,
)

from extapi.graphql.deprecations import Deprecated, DeprecationIndex
from extapi.graphql.messages import parse_document, validation_message
from extapi.graphql.validation import rules_for, strip_suggestions
from extapi.limits.guards import GuardLimits, guard_rules

__all__ = ["CheckedDocument", "DocumentCache"]

MAX_TOKENS = 10_000
GUARDS = GuardLimits()


@dataclass(frozen=True)
class CheckedDocument:
    """``document`` is set only when the document is valid; ``parsed`` whenever it parsed
    (Totara picks the operation before it validates). ``deprecated``: the reported deprecated
    fields a valid document might run (:mod:`extapi.graphql.deprecations`)."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    parsed: DocumentNode | None = None
    deprecated: Deprecated = field(default_factory=dict)

    def is_mutation(self, operation_name: str | None) -> bool:
        if self.document is None:
            return False
        operation = get_operation_ast(self.document, operation_name)
        return operation is not None and operation.operation == OperationType.MUTATION


class DocumentCache:
    def __init__(self, schema: GraphQLSchema, size: int = 512) -> None:
        self.schema = schema
        self.size = size
        self.deprecations = DeprecationIndex(schema)
        self._entries: OrderedDict[tuple[str, bool, int], CheckedDocument] = OrderedDict()

    def get(self, query: str, introspection: bool, max_depth: int) -> CheckedDocument:
        key = (query, introspection, max_depth)
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            return entry
        entry = self._check(query, introspection, max_depth)
        self._entries[key] = entry
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return entry

    def _check(self, query: str, introspection: bool, max_depth: int) -> CheckedDocument:
        try:
            document = parse_document(query, max_tokens=MAX_TOKENS)
        except GraphQLError as error:
            return CheckedDocument(None, (error,))
        # The abuse guards run alone first: some standard rules are quadratic in the size of a
        # hostile document, and a guard's verdict makes running them pointless.
        errors = validate(self.schema, document, guard_rules(GUARDS))
        if not errors:
            errors = validate(self.schema, document, rules_for(introspection, max_depth))
        errors = [self._php_worded(error, introspection) for error in errors]
        if errors:
            return CheckedDocument(None, tuple(errors), document)
        return CheckedDocument(document, (), document, self.deprecations.selected(document))

    def _php_worded(self, error: GraphQLError, introspection: bool) -> GraphQLError:
        """graphql-php's text; without introspection, no suggestions naming schema items."""
        message = validation_message(error, self.schema)
        if not introspection:
            message = strip_suggestions(message)
        if message == error.message:
            return error
        return GraphQLError(message, error.nodes, error.source, error.positions)
