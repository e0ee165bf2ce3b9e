"""Totara's query complexity points, counted while a query executes.

Every resolved field costs points by the object type it belongs to:

* a root field of ``Query`` costs 5, a root field of ``Mutation`` 10;
* a field of an *entity* type costs 1 per record (``core_user``, ``totara_webapi_status``,
  ``totara_job_job_assignment``, the hierarchy types ...);
* a field of a *result wrapper* costs nothing: a wrapper is an object type whose name ends
  with ``_result`` (``core_user_users_result``, ``core_user_delete_user_result`` ...);
* nor does a type Totara resolves without a type resolver (``core_user_custom_field``);
* introspection costs nothing: types named ``__*`` and the fields ``__typename``,
  ``__schema`` and ``__type``; nor do the reserved ``placeholder_query`` and
  ``placeholder_mutation``.

So ``{ totara_webapi_status { status timestamp } }`` costs 5 + 1 + 1 = 7, and listing ten
users with ``items { id firstname lastname }`` costs 5 + 10 x 3 = 35.

:class:`ComplexityCounter` is graphql-core middleware. One instance is shared by all the
operations of a batched request, so their points add up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from weakref import WeakKeyDictionary

from graphql import GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema

from extapi.errors import ClientSafeError

__all__ = [
    "ComplexityCounter",
    "cost_table",
    "QUERY_ROOT_COST",
    "MUTATION_ROOT_COST",
    "ENTITY_FIELD_COST",
    "WRAPPER_SUFFIX",
    "CATEGORY",
    "field_cost",
]

QUERY_ROOT_COST = 5
MUTATION_ROOT_COST = 10
ENTITY_FIELD_COST = 1
WRAPPER_SUFFIX = "_result"
CATEGORY = "query_complexity"

# Introspection fields may be selected on any type, the root types included: they are free.
# So are Totara's reserved root fields, which fail before they cost anything.
_FREE_FIELDS = frozenset(
    {"__typename", "__schema", "__type", "placeholder_query", "placeholder_mutation"}
)

# Object types that Totara resolves without a type resolver class of their own (their fields
# are read straight off the parent's data), so they cost nothing either.
_UNRESOLVED_TYPES = frozenset({"core_user_custom_field"})

_TABLES: WeakKeyDictionary[GraphQLSchema, dict[str, int]] = WeakKeyDictionary()


def _type_cost(schema: GraphQLSchema, type_: GraphQLObjectType) -> int:
    name = type_.name
    if name.startswith("__") or name.endswith(WRAPPER_SUFFIX) or name in _UNRESOLVED_TYPES:
        return 0
    if type_ is schema.query_type:
        return QUERY_ROOT_COST
    if type_ is schema.mutation_type:
        return MUTATION_ROOT_COST
    return ENTITY_FIELD_COST


def cost_table(schema: GraphQLSchema) -> Mapping[str, int]:
    """Points per resolved field, by the name of the object type that owns the field.

    Only costly types are listed (a missing name costs 0). Built once per schema.
    """
    table = _TABLES.get(schema)
    if table is None:
        table = {}
        for type_ in schema.type_map.values():
            if isinstance(type_, GraphQLObjectType):
                cost = _type_cost(schema, type_)
                if cost:
                    table[type_.name] = cost
        _TABLES[schema] = table
    return table


def field_cost(schema: GraphQLSchema, type_name: str, field_name: str) -> int:
    """The points one run of ``type_name.field_name`` costs (what the counter charges)."""
    if field_name in _FREE_FIELDS:
        return 0
    return cost_table(schema).get(type_name, 0)


class ComplexityCounter:
    """Middleware adding each field's points before it resolves; a field that takes the
    running total above ``max_complexity`` fails (and so does every field after it), leaving
    partial data."""

    __slots__ = ("points", "max_complexity", "_costs", "_deadline", "_budget")

    def __init__(
        self,
        schema: GraphQLSchema,
        max_complexity: int,
        time_budget: float | None = None,
        costs: Mapping[str, int] | None = None,
    ) -> None:
        """``costs``: the schema's :func:`cost_table`, when the caller keeps it at hand (one
        lookup less per request)."""
        self.points = 0
        self.max_complexity = max_complexity
        self._costs = cost_table(schema) if costs is None else costs
        # The per-request execution time budget rides along: checked once per field, it stops
        # a runaway request between two fields.
        self._budget = time_budget
        self._deadline = None if time_budget is None else time.monotonic() + time_budget

    @property
    def remaining(self) -> int:
        """Points still to spend before the limit."""
        return max(0, self.max_complexity - self.points)

    def exceeded(self) -> ClientSafeError:
        """Totara's error for a request over its complexity limit."""
        return ClientSafeError(
            f"Query complexity exceeded maximum allowed complexity of {self.max_complexity}.",
            category=CATEGORY,
        )

    def charge(self, cost: int) -> None:
        """Add one field's points (0 for a free field) and check the time budget, failing
        with Totara's error once the total is over the limit."""
        if cost:
            points = self.points + cost
            self.points = points
            if points > self.max_complexity:
                raise self.exceeded()
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise ClientSafeError(
                f"Execution time budget of {self._budget:g} seconds exceeded.",
                category="execution_time",
            )

    def resolve(
        self, next_: Callable[..., Any], root: Any, info: GraphQLResolveInfo, **args: Any
    ) -> Any:
        cost = self._costs.get(info.parent_type.name)
        self.charge(0 if cost is None or info.field_name in _FREE_FIELDS else cost)
        return next_(root, info, **args)
