"""Deprecation warnings: which deprecated fields a request ran, reported the way Totara does.

The rule, as Totara 17.3 applies it (its default field resolver and its request processor):

- A field counts when the executor actually resolves it. A field skipped by ``@skip`` or
  ``@include``, inside a fragment whose type did not match, under a parent that came back null,
  or inside an empty list, never runs and is not reported. A field that runs and then fails
  is reported: the check comes before the resolver and its middleware.
- Only fields of the object types the API defines count: not the root types (``Query``,
  ``Mutation``), not introspection types, and only types whose name holds an underscore
  (Totara checks while looking up a type's resolver class, which those names map to).
  Deprecated arguments, input fields and enum values are never reported.
- The reason is the one on the concrete type's field (graphql-core's "No longer supported"
  when ``@deprecated`` gives none).
- The report is ``{TypeName: {field: reason}}``: each field once, types and fields in the
  order they first ran. One record serves the whole request, so every result of a batch
  carries the fields of all its operations.
- It goes in ``extensions.deprecation_warnings``, before the perfdebug reports, and only when
  developer debugging is on; here, when the caller's effective error level is Developer.

Cost: the fields a document might run are worked out once, when the document is cached; the
watching middleware is added only at Developer level and only to operations whose document
selects a deprecated field. The live schema deprecates nothing, so no document is even walked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    visit,
)

__all__ = ["DeprecationIndex", "DeprecationLog", "Deprecated", "NOTHING"]

# (type name, field name) -> deprecation reason
Deprecated = Mapping[tuple[str, str], str]
NOTHING: Deprecated = {}


def _reported(schema: GraphQLSchema, type_: GraphQLObjectType) -> bool:
    roots = (schema.query_type, schema.mutation_type, schema.subscription_type)
    name = type_.name
    return type_ not in roots and not name.startswith("__") and "_" in name


class DeprecationIndex:
    """The deprecated fields of a schema that Totara would report."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self.reasons: dict[tuple[str, str], str] = {
            (type_.name, name): field.deprecation_reason
            for type_ in schema.type_map.values()
            if isinstance(type_, GraphQLObjectType) and _reported(schema, type_)
            for name, field in type_.fields.items()
            if field.deprecation_reason is not None
        }

    def selected(self, document: DocumentNode) -> Deprecated:
        """The reported deprecated fields a valid ``document`` might run, in any of its
        operations (at run time the watcher notes only those that did run)."""
        if not self.reasons:
            return NOTHING
        type_info = TypeInfo(self.schema)
        collector = _Collector(type_info, self)
        visit(document, TypeInfoVisitor(type_info, collector))
        return collector.found or NOTHING


class _Collector(Visitor):
    def __init__(self, type_info: TypeInfo, index: DeprecationIndex) -> None:
        super().__init__()
        self.type_info = type_info
        self.index = index
        self.found: dict[tuple[str, str], str] = {}

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        parent = self.type_info.get_parent_type()
        if parent is None:
            return
        # A field asked for on an interface or union runs on whichever object type comes back.
        owners: Sequence[GraphQLObjectType] = (
            [parent]
            if isinstance(parent, GraphQLObjectType)
            else self.index.schema.get_possible_types(parent)
        )
        for owner in owners:
            key = (owner.name, node.name.value)
            reason = self.index.reasons.get(key)
            if reason is not None:
                self.found[key] = reason


class DeprecationLog:
    """One per request at Developer level: the deprecated fields that ran, shared by the
    operations of a batch."""

    __slots__ = ("warnings",)

    def __init__(self) -> None:
        self.warnings: dict[str, dict[str, str]] = {}

    def watcher(self, deprecated: Deprecated) -> _Watcher:
        """Middleware noting the fields of ``deprecated`` as they run; put it last in the
        middleware list so it runs first, before anything that may refuse the field."""
        return _Watcher(deprecated, self.warnings)


class _Watcher:
    __slots__ = ("deprecated", "warnings")

    def __init__(self, deprecated: Deprecated, warnings: dict[str, dict[str, str]]) -> None:
        self.deprecated = deprecated
        self.warnings = warnings

    def resolve(
        self, next_: Callable[..., Any], root: Any, info: GraphQLResolveInfo, **args: Any
    ) -> Any:
        type_name = info.parent_type.name
        reason = self.deprecated.get((type_name, info.field_name))
        if reason is not None:
            self.warnings.setdefault(type_name, {}).setdefault(info.field_name, reason)
        return next_(root, info, **args)
