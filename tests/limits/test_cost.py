"""Query complexity points: Totara's documented examples, batches and the exceeded limit."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from graphql import ExecutionResult, GraphQLResolveInfo, GraphQLSchema, execute, parse

from extapi.access.principal import Principal
from extapi.graphql.errors import format_error
from extapi.graphql.schema import RESOLVERS, assemble_schema, build_schema, schema_sdl
from extapi.limits.cost import ComplexityCounter, cost_table

USERS_QUERY = """
{ core_user_users(query: {pagination: {limit: 10}}) {
    items { id firstname lastname } total next_cursor } }
"""
STATUS_QUERY = "{ totara_webapi_status { status timestamp } }"
EXCEEDED = "Query complexity exceeded maximum allowed complexity of 10."


@dataclass
class FakeContext:
    """What the status and core_user resolvers read from a request context."""

    users: list[dict[str, Any]] = field(default_factory=list)
    principal: Principal = field(default_factory=lambda: Principal(1, None, is_site_admin=True))
    timezone: str = "UTC"
    base_url: str = "http://localhost"
    loaders: dict[str, Any] = field(default_factory=dict)
    conn: Any = None


def _user_rows(n: int) -> list[dict[str, Any]]:
    return [
        {"id": 100 + i, "firstname": f"First{i}", "lastname": f"Last{i}", "tenant_id": None}
        for i in range(n)
    ]


def _fake_users(_root: Any, info: GraphQLResolveInfo, query: Any = None) -> dict[str, Any]:
    rows: list[dict[str, Any]] = info.context.users
    limit = ((query or {}).get("pagination") or {}).get("limit")
    items = rows[: int(limit)] if limit else rows
    return {"items": items, "total": len(rows), "next_cursor": ""}


def _fake_delete(_root: Any, _info: GraphQLResolveInfo, target_user: Any) -> dict[str, Any]:
    return {"user_id": 1}


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return assemble_schema(
        schema_sdl(),
        {
            **RESOLVERS,
            "Query.core_user_users": _fake_users,
            "Mutation.core_user_delete_user": _fake_delete,
        },
    )


def _run(
    schema: GraphQLSchema, counter: ComplexityCounter, document: str, users: int = 0
) -> ExecutionResult:
    result = execute(
        schema, parse(document), context_value=FakeContext(_user_rows(users)), middleware=[counter]
    )
    assert not isinstance(result, dict | type(None)) and isinstance(result, ExecutionResult)
    return result


def test_the_cost_table_prices_roots_entities_and_wrappers() -> None:
    # given the external schema
    schema = build_schema()

    # when its cost table is built (twice)
    table = cost_table(schema)

    # then roots, entities and wrappers are priced as Totara prices them, once per schema
    assert table is cost_table(schema)
    assert table["Query"] == 5
    assert table["Mutation"] == 10
    for entity in (
        "totara_webapi_status",
        "core_user",
        "core_user_card_display",
        "core_user_card_display_field",
        "totara_job_job_assignment",
        "totara_hierarchy_position",
    ):
        assert table[entity] == 1, entity
    # core_user_custom_field has no type resolver in Totara 17.3: its fields are free
    free_types = ("core_user_users_result", "core_user_delete_user_result", "__Schema", "__Type")
    for free in (*free_types, "core_user_custom_field"):
        assert table.get(free, 0) == 0, free


def test_the_status_query_costs_seven(schema: GraphQLSchema) -> None:
    # given a fresh counter
    counter = ComplexityCounter(schema, max_complexity=1000)

    # when the documented status query runs
    result = _run(schema, counter, STATUS_QUERY)

    # then it costs 5 for the root field and 1 for each of its two fields
    assert result.errors is None
    assert result.data is not None and result.data["totara_webapi_status"]["status"] == "ok"
    assert counter.points == 7


def test_listing_ten_users_costs_thirty_five(schema: GraphQLSchema) -> None:
    # given twelve users and a page of ten
    counter = ComplexityCounter(schema, max_complexity=1000)

    # when the documented listing query runs
    result = _run(schema, counter, USERS_QUERY, users=12)

    # then it costs 5 + 10 x 3; total, next_cursor and items are free
    assert result.errors is None
    assert result.data is not None and len(result.data["core_user_users"]["items"]) == 10
    assert counter.points == 35


@pytest.mark.parametrize("users", [0, 1, 3, 9])
def test_a_short_page_costs_per_user_returned(schema: GraphQLSchema, users: int) -> None:
    # given fewer users than the page size
    counter = ComplexityCounter(schema, max_complexity=1000)

    # when the listing query runs
    result = _run(schema, counter, USERS_QUERY, users=users)

    # then each returned user costs its three fields
    assert result.errors is None
    assert counter.points == 5 + users * 3


def test_typename_and_introspection_are_free(schema: GraphQLSchema) -> None:
    # given a query selecting __typename at the root, on a wrapper and on an entity
    counter = ComplexityCounter(schema, max_complexity=1000)
    document = """
    { __typename
      totara_webapi_status { __typename status }
      core_user_users { __typename items { __typename id } }
      __type(name: "core_user") { name fields { name } } }
    """

    # when it runs with two users
    result = _run(schema, counter, document, users=2)

    # then only the two root fields and the real entity fields count
    assert result.errors is None
    assert counter.points == 5 + 1 + 5 + 2 * 1


def test_a_mutation_root_field_costs_ten(schema: GraphQLSchema) -> None:
    # given a delete whose result wrapper holds only the deleted id
    counter = ComplexityCounter(schema, max_complexity=1000)
    document = "mutation { core_user_delete_user(target_user: {id: 5}) { user_id } }"

    # when it runs
    result = _run(schema, counter, document)

    # then the root field costs 10 and the wrapper's field nothing
    assert result.errors is None
    assert result.data == {"core_user_delete_user": {"user_id": "1"}}
    assert counter.points == 10


def test_points_accumulate_across_the_operations_of_a_batch(schema: GraphQLSchema) -> None:
    # given one counter shared by the operations of a batched request
    counter = ComplexityCounter(schema, max_complexity=1000)

    # when the status query and the listing run one after the other
    _run(schema, counter, STATUS_QUERY)
    _run(schema, counter, USERS_QUERY, users=10)

    # then the counter holds the sum of both
    assert counter.points == 7 + 35


def test_a_batch_fails_once_its_shared_total_exceeds_the_maximum(schema: GraphQLSchema) -> None:
    # given a shared counter with room for one status query but not two
    counter = ComplexityCounter(schema, max_complexity=10)

    # when two status queries run in the same batch
    first = _run(schema, counter, STATUS_QUERY)
    second = _run(schema, counter, STATUS_QUERY)

    # then the first succeeds and the second fails at its root field
    assert first.errors is None
    assert second.data == {"totara_webapi_status": None}
    assert second.errors is not None
    assert [e.message for e in second.errors] == [EXCEEDED]


def test_a_query_at_the_maximum_passes(schema: GraphQLSchema) -> None:
    # given a maximum equal to the query's cost
    counter = ComplexityCounter(schema, max_complexity=35)

    # when the 35-point listing runs
    result = _run(schema, counter, USERS_QUERY, users=10)

    # then nothing fails: only exceeding the maximum is an error
    assert result.errors is None
    assert counter.points == 35


def test_exceeding_the_maximum_fails_the_fields_past_it(schema: GraphQLSchema) -> None:
    # given a maximum of 10
    counter = ComplexityCounter(schema, max_complexity=10)

    # when the 35-point listing runs
    result = _run(schema, counter, USERS_QUERY, users=10)

    # then the fields past the limit fail with Totara's message, client-safe, in its category
    assert result.errors
    formatted = [format_error(error, 1) for error in result.errors]
    assert {f["message"] for f in formatted} == {EXCEEDED}
    assert {f["extensions"]["category"] for f in formatted} == {"query_complexity"}
    assert all("debugMessage" not in f for f in formatted)
    # the second user's lastname is the 11th point (nullable: it alone fails); the third
    # user's id is the 12th, and a non-null id failing nulls the list and, through the
    # non-null items and root field, the whole data, so no later field runs
    paths = sorted(f["path"] for f in formatted)
    assert paths == [
        ["core_user_users", "items", 1, "lastname"],
        ["core_user_users", "items", 2, "id"],
    ]
    assert counter.points == 12
    assert result.data is None


def test_fields_within_the_maximum_keep_their_data(schema: GraphQLSchema) -> None:
    # given a maximum of 10 and two aliased status queries costing 6 each
    counter = ComplexityCounter(schema, max_complexity=10)
    document = "{ a: totara_webapi_status { status } b: totara_webapi_status { status } }"

    # when the document runs
    result = _run(schema, counter, document)

    # then the first keeps its data and the second (nullable) root field fails alone
    assert result.data == {"a": {"status": "ok"}, "b": None}
    assert result.errors is not None
    assert [(e.message, e.path) for e in result.errors] == [(EXCEEDED, ["b"])]


def test_middleware_overhead_per_field_is_small(schema: GraphQLSchema) -> None:
    # given a listing of 2000 users with three fields each (6001 resolved costly fields)
    users = 2000
    context = FakeContext(_user_rows(users))
    document = parse("{ core_user_users { items { id firstname lastname } } }")
    fields = 1 + users * 3

    def best_of(rounds: int, with_counter: bool) -> float:
        best = float("inf")
        for _ in range(rounds):
            middleware = [ComplexityCounter(schema, 10**9)] if with_counter else None
            start = time.perf_counter()
            execute(schema, document, context_value=context, middleware=middleware)
            best = min(best, time.perf_counter() - start)
        return best

    # when it runs with and without the counter (best of several rounds each)
    best_of(2, True)  # warm up
    without = best_of(7, False)
    with_counter = best_of(7, True)

    # then the difference per field is printed for the record
    per_field_ns = (with_counter - without) / fields * 1e9
    print(
        f"\ncomplexity middleware: {without * 1e3:.2f} ms without, "
        f"{with_counter * 1e3:.2f} ms with, for {fields} fields: "
        f"~{per_field_ns:.0f} ns per field"
    )
