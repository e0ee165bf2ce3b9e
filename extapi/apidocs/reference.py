"""``reference_for(schema)``: the documentation model of a live schema, built once per schema.

The schema object only changes with a restart, so a model cached on it can never be stale.
"""

from __future__ import annotations

from dataclasses import replace
from threading import Lock
from typing import Any, Literal
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
    GraphQLUnionType,
    ast_from_value,
    get_named_type,
    print_ast,
)
from graphql.pyutils import Undefined

from extapi.apidocs.examples import build_example
from extapi.apidocs.hidden import DEFAULT_HIDDEN, Hidden
from extapi.apidocs.model import (
    EnumValue,
    Field,
    InputValue,
    Kind,
    Operation,
    Reference,
    TypeDoc,
    TypeRef,
)

__all__ = ["build_reference", "reference_for", "BUILT_IN_SCALARS"]

# Our own words for the standard scalars (the schema itself carries no description of them).
BUILT_IN_SCALARS = {
    "String": "Text in UTF-8.",
    "Int": "A whole number from -2147483648 to 2147483647.",
    "Float": "A number that may have a fractional part.",
    "Boolean": "`true` or `false`.",
    "ID": "An identifier, always returned as a string.",
}

_cache: WeakKeyDictionary[GraphQLSchema, Reference] = WeakKeyDictionary()
_lock = Lock()


def reference_for(schema: GraphQLSchema) -> Reference:
    """The model of ``schema`` with the default hidden items left out, built on first use."""
    with _lock:
        found = _cache.get(schema)
        if found is None:
            found = _cache[schema] = build_reference(schema)
        return found


def build_reference(schema: GraphQLSchema, hidden: Hidden = DEFAULT_HIDDEN) -> Reference:
    builder = _Builder(schema, hidden)
    types = tuple(builder.type_doc(t) for t in builder.documented)
    # A name that is both a type and an operation links to the operation: descriptions name
    # operations far more often than the result types that share their names.
    links = {t.name: t.anchor for t in types}
    queries = builder.operations("query", schema.query_type)
    mutations = builder.operations("mutation", schema.mutation_type)
    links.update({op.name: op.anchor for op in (*queries, *mutations)})
    return Reference(queries, mutations, types, links)


class _Builder:
    def __init__(self, schema: GraphQLSchema, hidden: Hidden) -> None:
        self.schema = schema
        self.hidden = hidden
        roots = {t.name for t in (schema.query_type, schema.mutation_type) if t is not None}
        self.documented = sorted(
            (
                t
                for name, t in schema.type_map.items()
                if not name.startswith("__") and name not in roots and not hidden.hides_type(name)
            ),
            key=lambda t: t.name.lower(),
        )
        self.anchors = {t.name: f"type-{t.name}" for t in self.documented}

    def operations(
        self, kind: Literal["query", "mutation"], root: GraphQLObjectType | None
    ) -> tuple[Operation, ...]:
        if root is None:
            return ()
        fields = self.fields(root)
        return tuple(
            Operation(kind, f, build_example(self.schema, kind, f.name, self.hidden))
            for f in sorted(fields, key=lambda f: f.name)
        )

    def type_doc(self, named: GraphQLNamedType) -> TypeDoc:
        kind = _kind(named)
        description = BUILT_IN_SCALARS.get(named.name) or named.description or ""
        doc = TypeDoc(named.name, kind, description)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            interfaces = tuple(i.name for i in named.interfaces)
            members = (
                self._implementations(named) if isinstance(named, GraphQLInterfaceType) else ()
            )
            return _with(doc, fields=self.fields(named), interfaces=interfaces, members=members)
        if isinstance(named, GraphQLUnionType):
            return _with(doc, members=tuple(sorted(t.name for t in named.types)))
        if isinstance(named, GraphQLInputObjectType):
            values = tuple(self.input_value(n, f) for n, f in named.fields.items())
            return _with(doc, input_fields=values)
        if isinstance(named, GraphQLEnumType):
            return _with(doc, values=tuple(_enum_values(named)))
        return doc

    def fields(self, owner: GraphQLObjectType | GraphQLInterfaceType) -> tuple[Field, ...]:
        return tuple(
            Field(
                name,
                self.type_ref(f.type),
                f.description or "",
                tuple(self.input_value(n, a) for n, a in f.args.items()),
                f.deprecation_reason,
            )
            for name, f in owner.fields.items()
            if not self.hidden.hides_field(owner.name, name, get_named_type(f.type).name)
        )

    def input_value(self, name: str, value: GraphQLArgument | GraphQLInputField) -> InputValue:
        return InputValue(
            name,
            self.type_ref(value.type),
            value.description or "",
            _default(value),
            value.deprecation_reason,
        )

    def type_ref(self, type_: GraphQLType) -> TypeRef:
        prefix, suffix = _wrappers(type_)
        name = get_named_type(type_).name
        return TypeRef(prefix, name, suffix, self.anchors.get(name))

    def _implementations(self, interface: GraphQLInterfaceType) -> tuple[str, ...]:
        found = self.schema.get_implementations(interface)
        names = [t.name for t in (*found.objects, *found.interfaces)]
        return tuple(sorted(n for n in names if not self.hidden.hides_type(n)))


def _kind(named: GraphQLNamedType) -> Kind:
    if isinstance(named, GraphQLObjectType):
        return "object"
    if isinstance(named, GraphQLInterfaceType):
        return "interface"
    if isinstance(named, GraphQLUnionType):
        return "union"
    if isinstance(named, GraphQLInputObjectType):
        return "input"
    if isinstance(named, GraphQLEnumType):
        return "enum"
    return "scalar"


def _with(doc: TypeDoc, **changes: Any) -> TypeDoc:
    return replace(doc, **changes)


def _wrappers(type_: GraphQLType) -> tuple[str, str]:
    """The text before and after the named type: ``[X!]!`` gives ``("[", "!]!")``."""
    if isinstance(type_, GraphQLNonNull):
        prefix, suffix = _wrappers(type_.of_type)
        return prefix, suffix + "!"
    if isinstance(type_, GraphQLList):
        prefix, suffix = _wrappers(type_.of_type)
        return "[" + prefix, suffix + "]"
    return "", ""


def _default(value: GraphQLArgument | GraphQLInputField) -> str | None:
    if value.default_value is Undefined:
        return None
    node = ast_from_value(value.default_value, value.type)
    return print_ast(node) if node is not None else None


def _enum_values(enum: GraphQLEnumType) -> list[EnumValue]:
    return [
        EnumValue(name, value.description or "", value.deprecation_reason)
        for name, value in enum.values.items()
    ]
