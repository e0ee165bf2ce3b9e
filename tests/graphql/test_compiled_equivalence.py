"""Compiled plans answer exactly as graphql-core's executor does (issue 14).

Each document runs twice against the same seeded database and caller, once through
graphql-core (``off``) and once through a compiled plan (``always``), and the two answers
must match: data, every error as the client sees it (message, locations, path, extensions at
the Normal level), and the complexity points charged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from graphql import GraphQLSchema, OperationDefinitionNode, SelectionSetNode, parse, print_ast
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

from extapi.auth.tokens import ApiCaller
from extapi.config import load_config
from extapi.errors import ClientSafeError, ConfigError, ValidationError
from extapi.graphql.compiled import HOT_AFTER, MAX_PLAN_FIELDS, PLAN_FIELD_BYTES, PlanSlot
from extapi.graphql.context import RequestContext
from extapi.graphql.documents import CheckedDocument, DocumentCache
from extapi.graphql.errors import NORMAL, format_error
from extapi.graphql.execute import run
from extapi.graphql.schema import RESOLVERS, assemble_schema, build_schema, schema_sdl
from extapi.limits.cost import ComplexityCounter
from extapi.runtime import Runtime
from extapi.settings.site import SiteSettings, load_site_settings
from tests.factories import make_api_client, make_user
from tests.graphql.test_garbage_free import collector_off
from tests.support.fuzzing import derandomised

SCHEMA = build_schema()

PROBE_SDL = """
extend type Query {
  probe_items: [probe_item]
  probe_strict_items: [probe_item!]
  probe_required: String!
  probe_fail(kind: String!): String
  probe_nested: probe_item!
  probe_things(bad: Boolean = false): [probe_thing]
  probe_counted(n: Int = 3): [probe_item!]!
}

type probe_item {
  n: Int!
  name: String
  bad: String!
  count: Int
}

interface probe_thing { id: Int }
type probe_a implements probe_thing { id: Int a: String }
type probe_b implements probe_thing { id: Int b: String }
"""


def _items(_root: Any, _info: Any) -> list[Any]:
    return [
        {"n": 1, "name": "one", "count": 1},
        {"n": None, "name": "no number", "count": "many"},
        RuntimeError("an item that failed"),
        None,
        {"n": 4, "name": None, "count": 4},
    ]


def _required(_root: Any, _info: Any) -> str:
    raise ValidationError("Required field failed")


def _fail(_root: Any, _info: Any, kind: str) -> str:
    if kind == "safe":
        raise ClientSafeError("You may see this", category="query_complexity")
    raise RuntimeError("SELECT secret FROM somewhere")


def _bad(_item: Any, _info: Any) -> str:
    raise ValidationError("bad field")


def _things(_root: Any, _info: Any, bad: bool) -> list[Any]:
    things: list[Any] = [{"__typename": "probe_a", "id": 1, "a": "A"}]
    things.append({"__typename": "probe_b", "id": 2, "b": "B"})
    if bad:
        things.append({"__typename": "core_user", "id": 3})
        things.append({"__typename": "nowhere", "id": 4})
        things.append({"id": 5})
    return things


def _counted(_root: Any, _info: Any, n: int) -> list[Any]:
    return [{"n": i, "name": f"item {i}"} for i in range(n)]


PROBE_SCHEMA = assemble_schema(
    schema_sdl() + PROBE_SDL,
    {
        **RESOLVERS,
        "Query.probe_items": _items,
        "Query.probe_strict_items": _items,
        "Query.probe_required": _required,
        "Query.probe_fail": _fail,
        "Query.probe_nested": lambda _r, _i: {"n": None},
        "Query.probe_things": _things,
        "Query.probe_counted": _counted,
        "probe_item.bad": _bad,
    },
)


class Seeded:
    """A database with a few people and a caller allowed to see them."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        for n in range(4):
            make_user(runtime, f"equiv{n}", idnumber=f"E{n}", firstname=f"First{n}")
        client = make_api_client(runtime)
        self.caller = ApiCaller(
            client.id, client.client_id, None, client.user_id, None, "99", None, 100
        )
        with runtime.engine.connect() as conn:
            self.site = load_site_settings(conn)

    def answer(
        self,
        schema: GraphQLSchema,
        checked: CheckedDocument,
        mode: str,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
        middleware: Callable[[ComplexityCounter], list[Any]] = lambda counter: [counter],
        site: SiteSettings | None = None,
    ) -> tuple[Any, list[dict[str, Any]], int]:
        site = site or self.site
        context = RequestContext(self.runtime.engine, site, self.caller)
        counter = ComplexityCounter(schema, site.max_query_complexity)
        context.complexity = counter
        try:
            outcome = run(
                schema, checked, variables, operation_name, context, middleware(counter), mode, site
            )
        finally:
            context.close()
        errors = [format_error(e, NORMAL) for e in outcome.result.errors or []]
        return outcome.result.data, errors, counter.points


def compiled_ran(checked: CheckedDocument) -> bool:
    slot: PlanSlot = checked.plans
    return slot.declined is None and any(p is not None for p in slot.operations.values())


def assert_same(
    seeded: Seeded,
    query: str,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
    schema: GraphQLSchema = SCHEMA,
    compiles: bool = True,
    **kwargs: Any,
) -> tuple[Any, list[dict[str, Any]], int]:
    checked = DocumentCache(schema).get(query, True, 15)
    assert checked.document is not None, checked.errors
    # when the document runs through graphql-core and through a plan
    general = seeded.answer(schema, checked, "off", variables, operation_name, **kwargs)
    compiled = seeded.answer(schema, checked, "always", variables, operation_name, **kwargs)
    # then the answers are the same, and the plan did run (unless it had to decline)
    assert compiled == general, query
    assert compiled_ran(checked) is compiles, checked.plans.declined
    return compiled


@pytest.fixture
def seeded(runtime: Runtime) -> Seeded:
    return Seeded(runtime)


USERS_PAGE = """
query users($limit: param_integer!, $cursor: String) {
  core_user_users(query: {pagination: {limit: $limit, cursor: $cursor}}) {
    items { id username firstname lastname email }
    total
    next_cursor
  }
}
"""


def test_a_users_page_with_variables(seeded: Seeded) -> None:
    data, errors, points = assert_same(seeded, USERS_PAGE, {"limit": 3})
    assert errors == [] and len(data["core_user_users"]["items"]) == 3
    assert points == 5 + 3 * 5  # the root and five fields per item (the wrapper is free)


def test_fragments_aliases_and_merged_fields(seeded: Seeded) -> None:
    query = """
    query {
      first: core_user_users(query: {pagination: {limit: 2}}) { items { ...names id } }
      again: core_user_users { total items { id ... on core_user { id username } } }
      totara_webapi_status { status status timestamp(format: ISO8601) }
    }
    fragment names on core_user { firstname lastname __typename }
    """
    assert_same(seeded, query)


@pytest.mark.parametrize("skip", [True, False])
def test_skip_and_include_with_variables(seeded: Seeded, skip: bool) -> None:
    query = """
    query ($skip: Boolean!, $with: Boolean = true) {
      core_user_users {
        total @skip(if: $skip)
        items @include(if: $with) { id ... @skip(if: $skip) { username } email @include(if: false) }
      }
    }
    """
    assert_same(seeded, query, {"skip": skip})


def test_one_plan_per_combination_of_skip_variables(seeded: Seeded) -> None:
    query = "query ($s: Boolean!) { totara_webapi_status { status @skip(if: $s) } }"
    checked = DocumentCache(SCHEMA).get(query, True, 15)
    # when the same document runs with each value of its @skip variable
    shown = seeded.answer(SCHEMA, checked, "always", {"s": False})
    hidden = seeded.answer(SCHEMA, checked, "always", {"s": True})
    # then each gets its own answer from its own plan
    assert shown[0] == {"totara_webapi_status": {"status": "ok"}}
    assert hidden[0] == {"totara_webapi_status": {}}
    (plans,) = checked.plans.operations.values()
    assert plans is not None and len(plans.plans) == 2


def test_typename_on_the_root_and_on_objects(seeded: Seeded) -> None:
    assert_same(seeded, "{ __typename totara_webapi_status { __typename status } }")


def test_several_operations_and_an_operation_name(seeded: Seeded) -> None:
    query = "query a { totara_webapi_status { status } } query b { __typename }"
    assert_same(seeded, query, operation_name="b")


def test_introspection_is_declined_and_runs_through_graphql_core(seeded: Seeded) -> None:
    query = '{ __schema { queryType { name } } __type(name: "core_user") { name } }'
    _, errors, _ = assert_same(seeded, query, compiles=False)
    assert errors == []


def test_errors_in_non_null_fields_null_the_nearest_nullable_parent(seeded: Seeded) -> None:
    query = "{ totara_webapi_status { status } probe_required }"
    data, errors, _ = assert_same(seeded, query, schema=PROBE_SCHEMA)
    assert data is None and len(errors) == 1
    _, errors, _ = assert_same(seeded, "{ probe_nested { n name } }", schema=PROBE_SCHEMA)
    assert "Cannot return null" in errors[0]["debugMessage"]


def test_lists_with_failing_items_and_bad_scalars(seeded: Seeded) -> None:
    query = """
    {
      probe_items { n name count }
      probe_strict_items { name }
      more: probe_items { name bad }
      probe_fail(kind: "safe")
      other: probe_fail(kind: "internal")
    }
    """
    data, errors, _ = assert_same(seeded, query, schema=PROBE_SCHEMA)
    assert data["probe_strict_items"] is None
    assert len(errors) > 5


def test_abstract_types_and_their_errors(seeded: Seeded) -> None:
    query = """
    query ($bad: Boolean!) {
      probe_things(bad: $bad) { __typename id ... on probe_a { a } ... on probe_b { b } }
    }
    """
    assert_same(seeded, query, {"bad": False}, schema=PROBE_SCHEMA)
    _, errors, _ = assert_same(seeded, query, {"bad": True}, schema=PROBE_SCHEMA)
    assert len(errors) == 3


def test_over_the_complexity_limit_part_way_through(seeded: Seeded) -> None:
    site = SiteSettings(max_query_complexity=20)
    query = "{ probe_counted(n: 10) { n name } totara_webapi_status { status } }"
    data, errors, points = assert_same(seeded, query, schema=PROBE_SCHEMA, site=site)
    assert data is None and points > 20
    assert errors[0]["extensions"]["category"] == "query_complexity"


def test_other_middleware_runs_around_every_field(seeded: Seeded) -> None:
    def middleware(counter: ComplexityCounter) -> list[Any]:
        seen: list[str] = []

        def watch(next_: Any, root: Any, info: Any, **args: Any) -> Any:
            seen.append(f"{info.parent_type.name}.{info.field_name}")
            return next_(root, info, **args)

        return [counter, watch]

    assert_same(seeded, USERS_PAGE, {"limit": 2}, middleware=middleware)


def test_a_mutation_error_is_the_same(seeded: Seeded) -> None:
    query = """
    mutation {
      core_user_create_user(input: {username: "equiv0", email: "e@example.com",
                                    firstname: "F", lastname: "L", password: "x"}) {
        user { id }
      }
    }
    """
    _, errors, _ = assert_same(seeded, query)
    assert errors


def test_hot_documents_compile_on_their_second_run_and_again_after_a_settings_change(
    seeded: Seeded,
) -> None:
    checked = DocumentCache(SCHEMA).get("{ totara_webapi_status { status } }", True, 15)
    # given a document that ran once
    seeded.answer(SCHEMA, checked, "hot")
    assert not compiled_ran(checked)
    # when it runs again, then it has a plan
    for _ in range(HOT_AFTER - 1):
        seeded.answer(SCHEMA, checked, "hot")
    assert compiled_ran(checked)
    before = dict(checked.plans.operations)
    # and a new settings revision gets new plans
    seeded.answer(SCHEMA, checked, "hot", site=SiteSettings())
    assert checked.plans.operations != before


def test_off_never_compiles(seeded: Seeded) -> None:
    checked = DocumentCache(SCHEMA).get("{ totara_webapi_status { status } }", True, 15)
    for _ in range(HOT_AFTER + 1):
        seeded.answer(SCHEMA, checked, "off")
    assert not checked.plans.operations and checked.plans.runs == 0


# -- generated documents -----------------------------------------------------------------

HUGE = 2**64
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=16)
SCALARS = {
    "core_id": st.one_of(st.integers(-HUGE, HUGE).map(nodes.Int), TEXT.map(nodes.String)),
    "core_date": st.one_of(st.integers(-HUGE, HUGE).map(nodes.Int), TEXT.map(nodes.String)),
    "param_integer": st.integers(-HUGE, HUGE).map(nodes.Int),
    "param_email": st.emails().map(nodes.String),
    "param_username": TEXT.map(nodes.String),
    "param_text": TEXT.map(nodes.String),
}
QUERIES = from_schema(
    SCHEMA,
    fields=[name for name in SCHEMA.query_type.fields if not name.startswith("placeholder")]
    if SCHEMA.query_type is not None
    else [],
    custom_scalars=SCALARS,
    mode=Mode.POSITIVE,
    codec="utf-8",
)
GENERATED = derandomised(60)


def _selection(query: str) -> SelectionSetNode:
    (operation,) = parse(query).definitions
    assert isinstance(operation, OperationDefinitionNode)
    return operation.selection_set


def test_generated_queries_get_the_same_answer_from_both_paths(seeded: Seeded) -> None:
    compared: list[str] = []

    @GENERATED
    @given(query=QUERIES)
    def check(query: str) -> None:
        # an invalid document (a hostile scalar value) never reaches either path
        if DocumentCache(SCHEMA).get(query, True, 15).document is not None:
            assert_same(seeded, query)
            compared.append(query)
            # the generator writes neither fragments nor directives: the same selection again,
            # spread from a named fragment and from an inline one under @include
            selection = print_ast(_selection(query))
            assert_same(seeded, f"{{ ...generated }} fragment generated on Query {selection}")
            assert_same(
                seeded,
                f"query ($on: Boolean!) {{ ... @include(if: $on) {selection} }}",
                {"on": True},
            )

    check()
    # the generator's documents were mostly valid: the comparison did happen
    assert len(compared) >= 20, len(compared)


def test_a_plan_leaves_nothing_for_the_garbage_collector(seeded: Seeded) -> None:
    query = "{ totara_webapi_status { status } probe_things { id ... on probe_a { a } } }"
    checked = DocumentCache(PROBE_SCHEMA).get(query, True, 15)
    # given a document that ran through its plan (an abstract type compiled on first use)
    data, errors, _ = seeded.answer(PROBE_SCHEMA, checked, "always")
    assert errors == [] and data["probe_things"][0] == {"id": 1, "a": "A"}
    assert compiled_ran(checked)
    with collector_off() as collect:
        # when the document and its plans are dropped
        del checked
        # then a collection finds nothing left over
        assert collect() == 0


@pytest.mark.parametrize(
    ("raw", "mode"), [(None, "hot"), ("", "hot"), ("off", "off"), (" ALWAYS ", "always")]
)
def test_the_mode_comes_from_the_environment(raw: str | None, mode: str) -> None:
    env = {} if raw is None else {"EXTAPI_COMPILED_EXECUTION": raw}
    assert load_config(env).compiled_execution == mode


def test_an_unknown_mode_fails_fast() -> None:
    with pytest.raises(ConfigError, match="EXTAPI_COMPILED_EXECUTION must be hot, off or always"):
        load_config({"EXTAPI_COMPILED_EXECUTION": "sometimes"})


def test_a_plan_counts_in_the_document_cache_estimate(seeded: Seeded) -> None:
    cache = DocumentCache(SCHEMA)
    checked = cache.get(USERS_PAGE, True, 15)
    before = cache.bytes
    # when the cached document gets its plan
    seeded.answer(SCHEMA, checked, "always", {"limit": 1})
    # then the cache counts what the plan holds, once
    (plans,) = checked.plans.operations.values()
    assert plans is not None
    (plan,) = plans.plans.values()
    assert cache.bytes == before + plan.size * PLAN_FIELD_BYTES > before
    seeded.answer(SCHEMA, checked, "always", {"limit": 2})
    assert cache.bytes == before + plan.size * PLAN_FIELD_BYTES


def test_an_operation_of_too_many_fields_runs_through_graphql_core(seeded: Seeded) -> None:
    # a fragment compiles once per place it is spread: 21 x (1 + 25) fields, few aliases
    selection = " ".join(f"s{n}: status" for n in range(25))
    roots = " ".join(f"r{n}: totara_webapi_status {{ ...f }}" for n in range(21))
    query = f"{{ {roots} }} fragment f on totara_webapi_status {{ {selection} }}"
    assert MAX_PLAN_FIELDS < 21 * 26
    assert_same(seeded, query, compiles=False)


PATH_SDL = """
extend type Query {
  path_here: String
  path_items(n: Int = 2): [path_item]
}

type path_item {
  here: String
  inner: path_item
}
"""


def _where(_root: Any, info: Any) -> str:
    return "/".join(str(key) for key in info.path.as_list())


PATH_SCHEMA = assemble_schema(
    schema_sdl() + PATH_SDL,
    {
        **RESOLVERS,
        "Query.path_here": _where,
        "Query.path_items": lambda _r, _i, n: [{"inner": {}} for _ in range(n)],
        "path_item.here": _where,
    },
)


def test_resolvers_outside_lists_see_the_same_paths_on_every_run_of_a_plan(
    seeded: Seeded,
) -> None:
    # given a document whose resolvers print their paths, outside a list and inside one
    query = """
    {
      path_here
      again: path_here
      path_items { here inner { here } }
      more: path_items(n: 3) { here }
    }
    """
    checked = DocumentCache(PATH_SCHEMA).get(query, True, 15)
    # when it runs through graphql-core, then through its plan three times
    general = seeded.answer(PATH_SCHEMA, checked, "off")[0]
    runs = [seeded.answer(PATH_SCHEMA, checked, "always")[0] for _ in range(3)]
    assert compiled_ran(checked)
    # then outside lists every run gives graphql-core's paths (the one kept from the first
    # run is right on the next), and so does a list's first item: its info serves the
    # field's other items (the accepted difference the module's docstring names)
    assert (general["path_here"], general["again"]) == ("path_here", "again")
    for data in runs:
        assert (data["path_here"], data["again"]) == ("path_here", "again")
        assert [item["here"] for item in data["more"]] == ["more/0/here"] * 3
        assert data["path_items"][0] == general["path_items"][0]
        assert general["path_items"][0]["inner"]["here"] == "path_items/0/inner/here"
