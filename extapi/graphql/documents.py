"""Parsed and validated documents, cached per worker.

The key includes every setting that changes the outcome of validation (introspection, depth
limit), so a settings change can never serve a stale verdict.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationType,
    get_operation_ast,
    validate,
)

from extapi.graphql.messages import parse_document, validation_message
from extapi.graphql.roots import root_field_names, root_label
from extapi.graphql.validation import rules_for, strip_suggestions
from extapi.limits.guards import GuardLimits, guard_rules
from extapi.ops.metrics import Metrics

__all__ = ["CheckedDocument", "DocumentCache"]

MAX_TOKENS = 10_000
GUARDS = GuardLimits()
# Operation names remembered per document with their metrics label (names are the client's).
LABELS_KEPT = 8


@dataclass(frozen=True)
class CheckedDocument:
    """``document`` is set only when the document is valid; ``parsed`` whenever it parsed
    (Totara picks the operation before it validates)."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    parsed: DocumentNode | None = None
    # The metrics label of each operation name asked for (see root_label), worked out once.
    labels: dict[str | None, str] = field(default_factory=dict, compare=False, repr=False)

    def is_mutation(self, operation_name: str | None) -> bool:
        if self.document is None:
            return False
        operation = get_operation_ast(self.document, operation_name)
        return operation is not None and operation.operation == OperationType.MUTATION

    @cached_property
    def written_name(self) -> str | None:
        """The name of the operation a request without ``operationName`` runs (the valid
        document's only operation), None when it has no name or there is none."""
        operation = None if self.document is None else get_operation_ast(self.document)
        return None if operation is None or operation.name is None else operation.name.value

    def root_label(self, operation_name: str | None, known: frozenset[str]) -> str:
        """The metrics' label of the operation ``operation_name`` picks (see
        :mod:`extapi.graphql.roots`); ``known`` is the schema's root field names."""
        label = self.labels.get(operation_name)
        if label is None:
            label = root_label(self.document, operation_name, known)
            if len(self.labels) < LABELS_KEPT:
                self.labels[operation_name] = label
        return label


class DocumentCache:
    def __init__(self, schema: GraphQLSchema, size: int = 512, metrics: Metrics | None = None):
        self.schema = schema
        self.size = size
        self.metrics = metrics
        self.root_fields = root_field_names(schema)
        self._entries: OrderedDict[tuple[str, bool, int], CheckedDocument] = OrderedDict()

    def get(self, query: str, introspection: bool, max_depth: int) -> CheckedDocument:
        key = (query, introspection, max_depth)
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            if self.metrics is not None:
                self.metrics.cache_hit()
            return entry
        entry = self._check(query, introspection, max_depth)
        self._entries[key] = entry
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        if self.metrics is not None:
            self.metrics.cache_miss(len(self._entries))
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
        return CheckedDocument(None if errors else document, tuple(errors), document)

    def _php_worded(self, error: GraphQLError, introspection: bool) -> GraphQLError:
        """graphql-php's text; without introspection, no suggestions naming schema items."""
        message = validation_message(error, self.schema)
        if not introspection:
            message = strip_suggestions(message)
        if message == error.message:
            return error
        return GraphQLError(message, error.nodes, error.source, error.positions)
