"""Compiled execution: a plan of closures, built once per document, in place of graphql-core's
general executor for the documents clients send again and again (issue 14).

graphql-core works out, for every field of every object of every request, what to run: it
collects the selection set, looks up the field definition, wraps the resolver in the
middleware, builds a ``GraphQLResolveInfo``, coerces the arguments and walks the return type to
complete the value. For a given document, operation and set of ``@skip``/``@include``
variables all of that is the same every time, so a plan works it out once: each field becomes
a closure that already knows its definition, resolver, cost, constant arguments and how to
complete its value, and each selection set a closure that runs its fields in order.

What a plan does is meant to be exactly what graphql-core 3.2 does: the same resolvers with
the same source, arguments and context, the same completion (serializers, lists, non-null
checks, abstract types, ``__typename``), the same errors (message, locations, path, original
error) in the same order with the same null propagation, and the same complexity points (the
counter is charged at the same moment, after the arguments are coerced and before the
resolver runs). Two differences are known and accepted:

* ``info`` is built once per field and request, not once per object: ``info.path`` is the path
  where the field first ran in the request (no resolver reads it);
* at the Developer error level the Python ``trace`` of an error names this module's frames
  instead of graphql-core's.

A document the plan would not answer exactly as graphql-core does is *declined* and runs
through graphql-core: subscriptions, introspection (``__schema``, ``__type``), schemas whose
object types decide membership with ``is_type_of``, operations of more than
:data:`MAX_PLAN_FIELDS` fields, and documents whose ``@skip``/``@include`` variables take more
than :data:`MAX_VARIANTS` combinations.

When a plan is built is :data:`MODES`' choice (``EXTAPI_COMPILED_EXECUTION``): ``hot``
compiles a cached document on its :data:`HOT_AFTER`-th run, ``always`` on its first, ``off``
never. Plans live on the document cache entry (:class:`PlanSlot`), so they go when the entry
goes; they are rebuilt when the site settings move to a new revision.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

from graphql import (
    DirectiveNode,
    DocumentNode,
    ExecutionContext,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLAbstractType,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    ListValueNode,
    MiddlewareManager,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    default_field_resolver,
    default_type_resolver,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
    located_error,
)
from graphql.execution.collect_fields import collect_fields, collect_sub_fields
from graphql.execution.execute import get_field_def
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, inspect, is_awaitable, is_iterable

from extapi.config import COMPILED_MODES
from extapi.limits.cost import ComplexityCounter, field_cost

__all__ = [
    "MODES",
    "HOT_AFTER",
    "MAX_VARIANTS",
    "MAX_PLAN_FIELDS",
    "PLAN_FIELD_BYTES",
    "PlanSlot",
    "Plan",
    "plan_for",
    "compile_plan",
]

MODES = COMPILED_MODES
# A document is compiled on this run of it (in "hot" mode): once it is sent again.
HOT_AFTER = 2
# The most @skip/@include variable combinations one operation gets a plan for.
MAX_VARIANTS = 8
# The most fields one plan compiles; a larger operation runs through graphql-core.
MAX_PLAN_FIELDS = 512
# What a plan holds per compiled field (measured with tracemalloc: about 1.7 KB), counted
# into the document cache's estimate of its entry (extapi.graphql.documents).
PLAN_FIELD_BYTES = 1800

# A path while executing: (parent path, key), None at the root. Lists only on error.
RunPath = tuple[Any, str | int] | None
FieldRunner = Callable[["_Run", Any, RunPath], Any]
Completer = Callable[["_Run", Any, RunPath], Any]
Fields = Callable[["_Run", Any, RunPath], dict[str, Any]]

_SCALARS = (str, int, float, bool, type(None))
_INTROSPECTION = frozenset({"__schema", "__type"})


class Declined(Exception):
    """The plan would not match graphql-core exactly: run the document there instead."""


class _ValidRuntimeType:
    """Just enough of an ExecutionContext for its ``ensure_valid_runtime_type`` (which only
    reads the schema), so abstract types are checked with graphql-core's own words."""

    __slots__ = ("schema",)

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema

    def check(
        self,
        name: Any,
        abstract: GraphQLAbstractType,
        nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        value: Any,
    ) -> GraphQLObjectType:
        ensure = cast(Any, ExecutionContext.ensure_valid_runtime_type)
        return cast(GraphQLObjectType, ensure(self, name, abstract, nodes, info, value))


class _Run:
    """The state of one execution of a plan."""

    __slots__ = ("errors", "context", "variables", "counter", "manager", "infos", "plan")

    def __init__(
        self,
        plan: Plan,
        context: Any,
        variables: dict[str, Any],
        counter: ComplexityCounter | None,
        manager: MiddlewareManager | None,
    ) -> None:
        self.plan = plan
        self.errors: list[GraphQLError] = []
        self.context = context
        self.variables = variables
        self.counter = counter
        self.manager = manager
        self.infos: dict[int, GraphQLResolveInfo] = {}


def _keys(path: RunPath) -> list[str | int]:
    keys: list[str | int] = []
    while path is not None:
        path, key = path
        keys.append(key)
    keys.reverse()
    return keys


class _FieldSite:
    """What is fixed about one field at one place of the plan; builds its info per run."""

    __slots__ = ("number", "name", "nodes", "definition", "parent", "fixed_path")

    def __init__(
        self,
        number: int,
        nodes: list[FieldNode],
        definition: GraphQLField,
        parent: GraphQLObjectType,
    ) -> None:
        self.number = number
        self.name = nodes[0].name.value
        self.nodes = nodes
        self.definition = definition
        self.parent = parent
        # The site's path when no list lies above it: the same on every run, so built once.
        self.fixed_path: Path | None = None

    def info(self, run: _Run, path: RunPath) -> GraphQLResolveInfo:
        """The resolver's info, built on the site's first call in the run (the module's
        docstring says why once): under a list its path is the first item's."""
        info = run.infos.get(self.number)
        if info is not None:
            return info
        plan = run.plan
        info = GraphQLResolveInfo(
            self.name,
            self.nodes,
            self.definition.type,
            self.parent,
            self.fixed_path or self._path(path),
            plan.schema,
            plan.fragments,
            None,
            plan.operation,
            run.variables,
            run.context,
            is_awaitable,
        )
        run.infos[self.number] = info
        return info

    def _path(self, path: RunPath) -> Path:
        """The graphql-core path of this site at ``path``; kept when it holds no list index
        (a site has one place in its plan: with no list above it, its path never changes)."""
        keys = _keys(path)
        made: Path | None = None
        for key in keys:
            made = Path(made, key, None)
        made = cast(Path, made)
        if all(type(key) is str for key in keys):
            self.fixed_path = made
        return made


def _has_variable(node: ValueNode) -> bool:
    if isinstance(node, VariableNode):
        return True
    if isinstance(node, ListValueNode):
        return any(_has_variable(v) for v in node.values)
    if isinstance(node, ObjectValueNode):
        return any(_has_variable(f.value) for f in node.fields)
    return False


def _constant_arguments(definition: GraphQLField, node: FieldNode) -> dict[str, Any] | None:
    """The field's coerced arguments when they are the same on every run and immutable
    (shared by every run); None when they must be coerced each time."""
    if any(_has_variable(argument.value) for argument in node.arguments):
        return None
    try:
        values = get_argument_values(definition, node, {})
    except Exception:  # noqa: BLE001 - the same error is raised again at run time
        return None
    if all(type(value) in _SCALARS for value in values.values()):
        return values
    return None


def _walk(document: DocumentNode) -> Iterator[Any]:
    pending: list[SelectionSetNode] = []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
            yield definition
            pending.append(definition.selection_set)
    while pending:
        for selection in pending.pop().selections:
            yield selection
            nested = getattr(selection, "selection_set", None)
            if nested is not None:
                pending.append(nested)


def _directive_variables(document: DocumentNode) -> tuple[str, ...]:
    """The variables that @skip or @include read: the field collection depends on them."""
    names: list[str] = []
    for node in _walk(document):
        directives: tuple[DirectiveNode, ...] = getattr(node, "directives", None) or ()
        for directive in directives:
            for argument in directive.arguments or ():
                if isinstance(argument.value, VariableNode):
                    name = argument.value.name.value
                    if name not in names:
                        names.append(name)
    return tuple(names)


def _declines(schema: GraphQLSchema, document: DocumentNode, operation: Any) -> str | None:
    """Why the document runs through graphql-core instead, or None."""
    if operation.operation == OperationType.SUBSCRIPTION:
        return "subscription"
    for node in _walk(document):
        if isinstance(node, FieldNode) and node.name.value in _INTROSPECTION:
            return "introspection"
    for type_ in schema.type_map.values():
        if isinstance(type_, GraphQLObjectType) and type_.is_type_of is not None:
            return "is_type_of"
    return None


class Plan:
    """The compiled form of one operation for one set of @skip/@include variable values.

    The closures hold the :class:`_Builder` (to compile an abstract type's selection for a
    runtime type the first time it comes back), never the plan: no reference cycle, so a plan
    is freed as soon as its document leaves the cache."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        directive_values: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        root = schema.get_root_type(operation.operation)
        if root is None:
            raise Declined("no root type")
        builder = _Builder(schema, self.fragments, directive_values)
        collected = collect_fields(
            schema, self.fragments, directive_values, root, operation.selection_set
        )
        self.run_root = builder.fields(root, collected)
        # How many fields it compiled; an abstract type's selection compiled later, for a
        # runtime type first seen while running, is not limited (nor counted).
        self.size = builder.compiled
        builder.limit = None

    def execute(
        self, context: Any, variables: dict[str, Any], middleware: list[Any] | None
    ) -> tuple[dict[str, Any] | None, list[GraphQLError]]:
        """Data (None when a null reached the root) and the errors, in the order they arose."""
        counter: ComplexityCounter | None = None
        manager: MiddlewareManager | None = None
        if middleware:
            if len(middleware) == 1 and type(middleware[0]) is ComplexityCounter:
                counter = middleware[0]
            else:
                manager = MiddlewareManager(*middleware)
        run = _Run(self, context, variables, counter, manager)
        try:
            data = self.run_root(run, None, None)
        except GraphQLError as error:
            return None, [*run.errors, error]
        return data, run.errors


class _Builder:
    """Turns selection sets into closures, for one plan."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        directive_values: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self._values = directive_values
        self.compiled = 0
        self.limit: int | None = MAX_PLAN_FIELDS
        self._lock = threading.Lock()
        self._runtime_check = _ValidRuntimeType(schema)

    # -- building -------------------------------------------------------------------------

    def fields(self, parent: GraphQLObjectType, collected: dict[str, list[FieldNode]]) -> Fields:
        runners: list[tuple[str, FieldRunner]] = []
        for key, nodes in collected.items():
            runner = self._field(parent, key, nodes)
            if runner is not None:
                runners.append((key, runner))
        ordered = tuple(runners)

        def run_fields(run: _Run, source: Any, path: RunPath) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for key, runner in ordered:
                out[key] = runner(run, source, path)
            return out

        return run_fields

    def _sub_fields(self, type_: GraphQLObjectType, nodes: list[FieldNode]) -> Fields:
        collected = collect_sub_fields(self.schema, self.fragments, self._values, type_, nodes)
        return self.fields(type_, collected)

    def _field(
        self, parent: GraphQLObjectType, key: str, nodes: list[FieldNode]
    ) -> FieldRunner | None:
        node = nodes[0]
        definition = get_field_def(self.schema, parent, node)
        if definition is None:
            return None  # graphql-core leaves such a field out
        with self._lock:
            self.compiled += 1
            site = _FieldSite(self.compiled, nodes, definition, parent)
        if self.limit is not None and self.compiled > self.limit:
            raise Declined("too many fields")
        name = site.name
        return_type = definition.type
        non_null = is_non_null_type(return_type)
        complete = self._completer(return_type, site)
        constant = _constant_arguments(definition, node)
        cost = field_cost(self.schema, parent.name, name)
        resolver = definition.resolve
        general = resolver or default_field_resolver
        typename = parent.name if name == "__typename" else None
        info_of = site.info

        def run_field(run: _Run, source: Any, path: RunPath) -> Any:
            here = (path, key)
            try:
                args = (
                    constant
                    if constant is not None
                    else get_argument_values(definition, node, run.variables)
                )
                if run.manager is not None:
                    chained = run.manager.get_field_resolver(general)
                    value = chained(source, info_of(run, here), **args)
                else:
                    if run.counter is not None:
                        run.counter.charge(cost)
                    if typename is not None:
                        value = typename
                    elif resolver is not None:
                        value = resolver(source, info_of(run, here), **args)
                    else:
                        value = (
                            source.get(name)
                            # a plain dict first: the ABC check costs more than the lookup
                            if type(source) is dict or isinstance(source, Mapping)
                            else getattr(source, name, None)
                        )
                        if callable(value):
                            value = value(info_of(run, here), **args)
                return complete(run, value, here)
            except Exception as raw:
                error = located_error(raw, nodes, _keys(here))
                if non_null:
                    raise error  # noqa: B904 - as graphql-core raises it
                run.errors.append(error)
                return None

        return run_field

    def _completer(self, type_: GraphQLOutputType, site: _FieldSite) -> Completer:
        if is_non_null_type(type_):
            return self._non_null(cast(GraphQLNonNull[Any], type_), site)
        if is_list_type(type_):
            return self._list(cast(GraphQLList[Any], type_), site)
        if is_leaf_type(type_):
            return _leaf(type_)
        if is_abstract_type(type_):
            return self._abstract(cast(GraphQLAbstractType, type_), site)
        if is_object_type(type_):
            return _object(self._sub_fields(cast(GraphQLObjectType, type_), site.nodes))
        raise Declined(f"unexpected output type {type_}")

    def _non_null(self, type_: GraphQLNonNull[Any], site: _FieldSite) -> Completer:
        inner = self._completer(type_.of_type, site)
        message = f"Cannot return null for non-nullable field {site.parent.name}.{site.name}."

        def complete_non_null(run: _Run, value: Any, path: RunPath) -> Any:
            if isinstance(value, Exception):
                raise value
            completed = inner(run, value, path)
            if completed is None:
                raise TypeError(message)
            return completed

        return complete_non_null

    def _list(self, type_: GraphQLList[Any], site: _FieldSite) -> Completer:
        item_type = type_.of_type
        inner = self._completer(item_type, site)
        items_non_null = is_non_null_type(item_type)
        nodes = site.nodes
        message = (
            f"Expected Iterable, but did not find one for field '{site.parent.name}.{site.name}'."
        )

        def complete_list(run: _Run, value: Any, path: RunPath) -> Any:
            if isinstance(value, Exception):
                raise value
            if value is None or value is Undefined:
                return None
            if not is_iterable(value):
                raise GraphQLError(message)
            out: list[Any] = []
            for index, item in enumerate(value):
                here = (path, index)
                try:
                    out.append(inner(run, item, here))
                except Exception as raw:
                    error = located_error(raw, nodes, _keys(here))
                    if items_non_null:
                        raise error  # noqa: B904 - as graphql-core raises it
                    run.errors.append(error)
                    out.append(None)
            return out

        return complete_list

    def _abstract(self, type_: GraphQLAbstractType, site: _FieldSite) -> Completer:
        resolve_type = type_.resolve_type or default_type_resolver
        by_type: dict[str, Fields] = {}
        check = self._runtime_check.check
        nodes = site.nodes

        def complete_abstract(run: _Run, value: Any, path: RunPath) -> Any:
            if isinstance(value, Exception):
                raise value
            if value is None or value is Undefined:
                return None
            info = site.info(run, path)
            runtime = check(resolve_type(value, info, type_), type_, nodes, info, value)
            fields = by_type.get(runtime.name)
            if fields is None:
                fields = self._sub_fields(runtime, nodes)
                by_type[runtime.name] = fields
            return fields(run, value, path)

        return complete_abstract


def _leaf(type_: Any) -> Completer:
    serialize = type_.serialize

    def complete_leaf(run: _Run, value: Any, path: RunPath) -> Any:
        if isinstance(value, Exception):
            raise value
        if value is None or value is Undefined:
            return None
        serialized = serialize(value)
        if serialized is Undefined or serialized is None:
            raise TypeError(
                f"Expected `{inspect(type_)}.serialize({inspect(value)})`"
                f" to return non-nullable value, returned: {inspect(serialized)}"
            )
        return serialized

    return complete_leaf


def _object(fields: Fields) -> Completer:
    def complete_object(run: _Run, value: Any, path: RunPath) -> Any:
        if isinstance(value, Exception):
            raise value
        if value is None or value is Undefined:
            return None
        return fields(run, value, path)

    return complete_object


class _OperationPlans:
    """The plans of one operation, one per combination of its @skip/@include variables."""

    __slots__ = ("schema", "document", "operation", "names", "plans")

    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
    ) -> None:
        self.schema = schema
        self.document = document
        self.operation = operation
        self.names = _directive_variables(document)
        self.plans: dict[tuple[Any, ...], Plan] = {}

    def plan(self, variables: dict[str, Any]) -> Plan | None:
        names = self.names
        # Most operations have no @skip/@include variable: their one plan needs no key built.
        key = tuple([variables.get(name) for name in names]) if names else ()
        plan = self.plans.get(key)
        if plan is None:
            if len(self.plans) >= MAX_VARIANTS:
                return None
            values = {name: variables.get(name) for name in self.names}
            plan = Plan(self.schema, self.document, self.operation, values)
            self.plans[key] = plan
        return plan


# An operation the slot has not seen yet (None there means declined).
_UNSEEN: Any = object()


class PlanSlot:
    """Kept with each cached document: how often it ran and its plans, per operation, for
    the settings revision they were built under (None: declined)."""

    __slots__ = ("runs", "site", "operations", "declined", "charge")

    def __init__(self) -> None:
        self.runs = 0
        self.site: object = None
        self.operations: dict[int, _OperationPlans | None] = {}
        self.declined: str | None = None
        # Told the estimated bytes of each new plan (the document cache counts them).
        self.charge: Callable[[int], None] | None = None


def compile_plan(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any],
) -> Plan:
    """A plan for ``operation`` with these variables (raises :class:`Declined`)."""
    reason = _declines(schema, document, operation)
    if reason is not None:
        raise Declined(reason)
    plan = _OperationPlans(schema, document, operation).plan(variables)
    if plan is None:
        raise Declined("too many variants")
    return plan


def plan_for(
    slot: PlanSlot,
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any],
    mode: str,
    site: object,
) -> Plan | None:
    """The plan to run, or None to run through graphql-core (off, not hot yet, declined).
    ``site``: the settings object of the request; a new one (a new revision) rebuilds."""
    if mode == "off":
        return None
    slot.runs += 1
    if mode == "hot" and slot.runs < HOT_AFTER:
        return None
    if slot.site is not site:
        slot.operations = {}
        slot.site = site
    key = id(operation)
    plans = slot.operations.get(key, _UNSEEN)
    if plans is _UNSEEN:
        reason = _declines(schema, document, operation)
        plans = None if reason is not None else _OperationPlans(schema, document, operation)
        slot.declined = reason
        slot.operations[key] = plans
    if plans is None:
        return None
    if not plans.names:  # the usual case: one plan, built already
        ready = plans.plans.get(())
        if ready is not None:
            return ready
    try:
        built = len(plans.plans)
        plan = plans.plan(variables)
        if plan is not None and len(plans.plans) > built and slot.charge is not None:
            slot.charge(plan.size * PLAN_FIELD_BYTES)
        return plan
    except Declined as declined:
        slot.declined = str(declined)
        slot.operations[key] = None
        return None
