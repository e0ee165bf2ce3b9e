"""Parsed and validated documents, cached per worker.

The key includes every setting that changes the outcome of validation (introspection, depth
limit), so a settings change can never serve a stale verdict.

The cache is bounded by an estimate of the memory its entries hold, not by their number, so
that many large distinct documents cannot grow a worker without end. An entry is counted as
its text plus :data:`TOKEN_BYTES` per token of its parsed tree plus :data:`ENTRY_BYTES` (both
measured with tracemalloc: the tree keeps every token, linked, so a token-dense document holds
far more than its text, and even the smallest entry holds some 16 KiB), plus what its compiled
plans hold once they are built (:data:`extapi.graphql.compiled.PLAN_FIELD_BYTES` per compiled
field); the least recently used entries go first. A document estimated above
:data:`LARGEST_SHARE` of the cap is checked and run but never cached.

The event loop and the worker threads share one cache: lookups and changes to its order are
made under a lock, parsing and validation outside it. Each entry also says whether the
document is cheap enough to run on the event loop (see :func:`runs_inline`), which
:meth:`DocumentCache.peek` tells without changing the cache. Checking a document leaves no
reference cycle behind (see :func:`_unlink_tokens` and
:func:`extapi.graphql.validation.validate_document`), so what a request parsed is freed as soon
as it is dropped, not at the next full garbage collection, which stops every thread.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_operation_ast,
)

from extapi.graphql.compiled import PlanSlot
from extapi.graphql.deprecations import Deprecated, DeprecationIndex
from extapi.graphql.messages import validation_message
from extapi.graphql.messages.syntax import parse_counting
from extapi.graphql.roots import root_field_names, root_label
from extapi.graphql.validation import rules_for, strip_suggestions, validate_document
from extapi.limits.guards import GuardLimits, guard_rules

if TYPE_CHECKING:
    from extapi.ops.metrics import Metrics

__all__ = [
    "CheckedDocument",
    "DocumentCache",
    "DEFAULT_MAX_BYTES",
    "runs_inline",
    "INLINE_MAX_FIELDS",
]

MAX_TOKENS = 10_000
GUARDS = GuardLimits()
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
TOKEN_BYTES = 640
ENTRY_BYTES = 16 * 1024
LARGEST_SHARE = 1 / 8
# Operation names remembered per document with their metrics label (names are the client's).
LABELS_KEPT = 8
# The most fields a document run on the event loop may select, all levels together.
INLINE_MAX_FIELDS = 16


@dataclass(frozen=True)
class CheckedDocument:
    """``document`` is set only when the document is valid; ``parsed`` whenever it parsed
    (Totara picks the operation before it validates). ``deprecated``: the reported deprecated
    fields a valid document might run (:mod:`extapi.graphql.deprecations`)."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    parsed: DocumentNode | None = None
    deprecated: Deprecated = field(default_factory=dict)
    # The metrics label of each operation name asked for (see root_label), worked out once.
    labels: dict[str | None, str] = field(default_factory=dict, compare=False, repr=False)
    # Cheap enough to run on the event loop (see runs_inline).
    inline: bool = False
    # The operation each operation name asked for picks in a valid document, once found
    # (see extapi.graphql.execute.run); at most LABELS_KEPT names.
    chosen: dict[str | None, OperationDefinitionNode] = field(
        default_factory=dict, compare=False, repr=False
    )
    # Whether the operation each name picks is a mutation, once worked out.
    mutations: dict[str | None, bool] = field(default_factory=dict, compare=False, repr=False)
    # How often it ran and its compiled plans (extapi.graphql.compiled).
    plans: PlanSlot = field(default_factory=PlanSlot, compare=False, repr=False)

    def is_mutation(self, operation_name: str | None) -> bool:
        known = self.mutations.get(operation_name)
        if known is None:
            operation = (
                None if self.document is None else get_operation_ast(self.document, operation_name)
            )
            known = operation is not None and operation.operation == OperationType.MUTATION
            if len(self.mutations) < LABELS_KEPT:
                self.mutations[operation_name] = known
        return known

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


def runs_inline(document: DocumentNode, fields: Collection[str]) -> bool:
    """True for a document of queries only, no fragments, whose root fields are all named in
    ``fields`` and which selects at most INLINE_MAX_FIELDS fields in all."""
    pending: list[SelectionSetNode] = []
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            return False
        if definition.operation != OperationType.QUERY:
            return False
        roots = definition.selection_set.selections
        if not all(isinstance(s, FieldNode) and s.name.value in fields for s in roots):
            return False
        pending.append(definition.selection_set)
    selected = 0
    while pending:
        for selection in pending.pop().selections:
            selected += 1
            if selected > INLINE_MAX_FIELDS:
                return False
            nested = getattr(selection, "selection_set", None)
            if nested is not None:
                pending.append(nested)
    return True


def _unlink_tokens(document: DocumentNode) -> None:
    """Unchain the document's tokens. The parser links each token to the one before and the
    one after it: a cycle that only a full garbage collection frees, and a full collection
    stops every thread (the event loop too) for as long as it takes to scan what it finds.
    Nothing follows the links once the document is parsed; unchained, each token lives only as
    long as a node's location that starts or ends with it."""
    token = document.loc.start_token if document.loc is not None else None
    while token is not None:
        following = token.next
        token.prev = token.next = None
        token = following


class DocumentCache:
    """Checked documents by (text, introspection, depth limit), at most ``max_bytes`` of them
    by estimate, least recently used evicted first. ``inline_fields``: the root fields of
    documents cheap enough for the event loop."""

    def __init__(
        self,
        schema: GraphQLSchema,
        max_bytes: int = DEFAULT_MAX_BYTES,
        metrics: Metrics | None = None,
        inline_fields: Collection[str] = (),
    ) -> None:
        self.schema = schema
        self.max_bytes = max_bytes
        self.bytes = 0
        self.metrics = metrics
        self.inline_fields = frozenset(inline_fields)
        self.deprecations = DeprecationIndex(schema)
        self.root_fields = root_field_names(schema)
        self._entries: OrderedDict[tuple[str, bool, int], CheckedDocument] = OrderedDict()
        self._sizes: dict[tuple[str, bool, int], int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def queries(self) -> list[str]:
        """The cached document texts, least recently used first."""
        with self._lock:
            return [key[0] for key in self._entries]

    def get(self, query: str, introspection: bool, max_depth: int) -> CheckedDocument:
        key = (query, introspection, max_depth)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is not None:
            if self.metrics is not None:
                self.metrics.cache_hit()
            return entry
        entry, tokens = self._check(query, introspection, max_depth)
        size = len(query) + tokens * TOKEN_BYTES + ENTRY_BYTES
        with self._lock:
            if size <= self.max_bytes * LARGEST_SHARE and key not in self._entries:
                self._entries[key] = entry
                self._sizes[key] = size
                self.bytes += size
                self._evict()
                entry.plans.charge = self._charger(key)
            entries = len(self._entries)
        if self.metrics is not None:
            self.metrics.cache_miss(entries)
        return entry

    def _evict(self) -> None:
        """Drop the least recently used entries until the estimate fits (under the lock)."""
        while self.bytes > self.max_bytes:
            oldest, _ = self._entries.popitem(last=False)
            self.bytes -= self._sizes.pop(oldest)

    def _charger(self, key: tuple[str, bool, int]) -> Callable[[int], None]:
        """What an entry's plans call with their size; it reaches the cache through a weak
        reference, so that the cache and its entries make no reference cycle."""
        this = weakref.ref(self)

        def charge(size: int) -> None:
            cache = this()
            if cache is not None:
                cache._grow(key, size)

        return charge

    def _grow(self, key: tuple[str, bool, int], size: int) -> None:
        """Count ``size`` more bytes (a compiled plan) into an entry still cached."""
        with self._lock:
            if key in self._sizes:
                self._sizes[key] += size
                self.bytes += size
                self._evict()

    def peek(self, query: str, introspection: bool, max_depth: int) -> CheckedDocument | None:
        """The cached entry, if any, leaving the cache as it is. Taken without the lock: a
        single lookup in the map is atomic, and the answer is only a hint (the request then
        gets its entry with :meth:`get`)."""
        return self._entries.get((query, introspection, max_depth))

    def _check(
        self, query: str, introspection: bool, max_depth: int
    ) -> tuple[CheckedDocument, int]:
        """The verdict on ``query`` and how many tokens its parsed tree holds."""
        try:
            document, tokens = parse_counting(query, MAX_TOKENS)
        except GraphQLError as error:
            return CheckedDocument(None, (error,)), 0
        _unlink_tokens(document)
        # The abuse guards run alone first: some standard rules are quadratic in the size of a
        # hostile document, and a guard's verdict makes running them pointless.
        errors = validate_document(self.schema, document, guard_rules(GUARDS))
        if not errors:
            errors = validate_document(self.schema, document, rules_for(introspection, max_depth))
        errors = [self._php_worded(error, introspection) for error in errors]
        if errors:
            return CheckedDocument(None, tuple(errors), document), tokens
        deprecated = self.deprecations.selected(document)
        inline = runs_inline(document, self.inline_fields)
        return CheckedDocument(document, (), document, deprecated, inline=inline), tokens

    def _php_worded(self, error: GraphQLError, introspection: bool) -> GraphQLError:
        """graphql-php's text; without introspection, no suggestions naming schema items."""
        message = validation_message(error, self.schema)
        if not introspection:
            message = strip_suggestions(message)
        if message == error.message:
            return error
        return GraphQLError(message, error.nodes, error.source, error.positions)
