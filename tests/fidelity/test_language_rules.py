"""Totara 17.3 rules L1-L8, D1 and D2 (totara-17.3-observed.md): graphql-php's wording,
operation selection, variable coercion, error order, placeholders and the depth limit."""

from __future__ import annotations

import time
from typing import Any

import pytest

from extapi.graphql.documents import DocumentCache
from extapi.graphql.errors import format_error
from extapi.graphql.execute import run
from extapi.graphql.messages.syntax import parse_document
from extapi.graphql.scalars import parse_email
from extapi.graphql.schema import build_schema
from extapi.limits.cost import ComplexityCounter
from extapi.settings.site import set_setting
from tests.factories import fetch_token, graphql, make_api_client, make_user

SCHEMA = build_schema()
STATUS = "{ totara_webapi_status { status } }"
INTERNAL = "Internal server error"
CODING = "Coding error detected, it must be fixed by a programmer: "
TYPE_FIELDS = '{ __type(name: "Query") { fields { type { '


def answer(
    query: str,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
    *,
    introspection: bool = False,
    max_depth: int = 15,
) -> tuple[list[dict[str, Any]], Any]:
    """The formatted errors (Normal level) and data of one operation run in process."""
    checked = DocumentCache(SCHEMA).get(query, introspection, max_depth)
    outcome = run(SCHEMA, checked, variables, operation_name, None)
    return [format_error(e, 1) for e in outcome.result.errors or []], outcome.result.data


def messages(query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> list[str]:
    return [e["message"] for e in answer(query, variables, **kwargs)[0]]


def debug_messages(query: str, variables: dict[str, Any] | None = None) -> list[str]:
    return [e["debugMessage"] for e in answer(query, variables)[0]]


# --- L1 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message", "column"),
    [
        ("   ", "Syntax Error: Unexpected <EOF>", 4),
        ("hello world", 'Syntax Error: Unexpected Name "hello"', 1),
        ("query { a { b } } }", "Syntax Error: Unexpected }", 19),
        ("query { a { b }", "Syntax Error: Expected Name, found <EOF>", 16),
        ("fragment F { a }", 'Syntax Error: Expected "on", found {', 12),
        ("{ a(x: ?) }", 'Syntax Error: Cannot parse the unexpected character "?".', 8),
        ('{ a(x: "abc) }', "Syntax Error: Unterminated string.", 15),
        ("{ a(x: 1.a) }", 'Syntax Error: Invalid number, expected digit but got: "a"', 10),
        (
            "{ a(x: 'b') }",
            "Syntax Error: Unexpected single quote character ('), "
            'did you mean to use a double quote (")?',
            8,
        ),
    ],
)
def test_l1_syntax_errors_use_graphql_php_wording(query: str, message: str, column: int) -> None:
    # given a document that does not parse; when it runs
    errors, data = answer(query)
    # then graphql-php's text and the original location, client-safe, no data
    assert errors == [
        {
            "message": message,
            "extensions": {"category": "graphql"},
            "locations": [{"line": 1, "column": column}],
        }
    ]
    assert data is None


ESCAPE = "Syntax Error: Invalid character escape sequence: "
SURROGATE = "Syntax Error: Invalid UTF-16 trailing surrogate: "


@pytest.mark.parametrize(
    ("query", "message", "column"),
    [
        # an escape cut short by the end of the document (graphql-core raised IndexError)
        ('{ a(x: "\\', ESCAPE + "\\\x00", 9),
        ('{ a(x: "x\\u', ESCAPE + "\\u", 11),
        ('{ a(x: "x\\u00e', ESCAPE + "\\u00e", 11),
        # graphql-php points at the character after the backslash
        ('{ a(x: "\\q") }', ESCAPE + "\\q", 10),
        ('{ a(x: "\\u00G1") }', ESCAPE + "\\u00G1", 10),
        ('"\\u12"', ESCAPE + '\\u12"', 3),
        ('"\\\n"', ESCAPE + "\\\n", 3),
        # a surrogate needs a second escape after it
        ('"\\uD800"', SURROGATE + '"', 9),
        ('"\\uD800', SURROGATE, 9),
        ('"\\uDC00\\u00"', SURROGATE + '\\u00"', 9),
        ('"\\u0000"', 'Syntax Error: Invalid character within String: "\\u0000"', 2),
        # escapes that read well: the string token is whole, so the error is the next token
        ('"\\uD800\\u0041"', "Syntax Error: Unexpected <EOF>", 15),
        ('"\\u00e9\\n\\t\\/\\b\\f\\r\\"\\\\"', "Syntax Error: Unexpected <EOF>", 25),
    ],
)
def test_l1_string_escapes_fail_as_in_graphql_php(query: str, message: str, column: int) -> None:
    # given a string whose escape graphql-php refuses (or accepts); when it runs
    errors, _ = answer(query)
    # then graphql-php's text at graphql-php's column, never a crash
    assert [(e["message"], e["locations"]) for e in errors] == [
        (message, [{"line": 1, "column": column}])
    ]


def test_l1_escapes_give_the_values_graphql_php_reads() -> None:
    # given a string of escapes graphql-php accepts, a surrogate pair included
    document = parse_document('{ a(x: "\\u00e9\\uD83D\\uDE00\\t\\"\\\\/\\/") }')
    # when it is parsed, then the value holds the characters they stand for
    field = document.definitions[0].selection_set.selections[0]  # type: ignore[attr-defined]
    assert field.arguments[0].value.value == 'é\U0001f600\t"\\//'


# --- L2 ---------------------------------------------------------------------------------

DATE_FORMAT_QUERY = (
    "query q($f: core_date_format!) { totara_webapi_status { timestamp(format: $f) } }"
)


def test_l2_missing_and_null_required_variables() -> None:
    # when a required variable is absent, then null
    missing, missing_data = answer(DATE_FORMAT_QUERY, {})
    null, _ = answer(DATE_FORMAT_QUERY, {"f": None})
    # then graphql-php's two texts at the variable definition, client-safe, no data
    assert missing == [
        {
            "message": 'Variable "$f" of required type "core_date_format!" was not provided.',
            "extensions": {"category": "graphql"},
            "locations": [{"line": 1, "column": 9}],
        }
    ]
    assert missing_data is None
    assert null[0]["message"] == (
        'Variable "$f" of non-null type "core_date_format!" must not be null.'
    )


# --- L3 ---------------------------------------------------------------------------------

LIMIT_QUERY = (
    "query q($l: param_integer) { core_user_users(query: {pagination: {limit: $l}}) { total } }"
)
CREATE_QUERY = (
    "mutation m($input: core_user_create_user_input!) "
    "{ core_user_create_user(input: $input) { user { id } } }"
)


def test_l3_enum_variable_is_client_safe_in_graphql_php_words() -> None:
    errors, data = answer(DATE_FORMAT_QUERY, {"f": "NOPE"})
    assert errors == [
        {
            "message": 'Variable "$f" got invalid value "NOPE"; Expected type core_date_format.',
            "extensions": {"category": "graphql"},
            "locations": [{"line": 1, "column": 9}],
        }
    ]
    assert data is None
    # a near miss gets graphql-php's suggestion
    assert messages(DATE_FORMAT_QUERY, {"f": "ISO8610"}) == [
        'Variable "$f" got invalid value "ISO8610"; Expected type core_date_format; '
        "did you mean ISO8601?"
    ]


def test_l3_totara_scalar_refusal_is_internal() -> None:
    errors, data = answer(LIMIT_QUERY, {"l": "abc"})
    reason = (
        'Variable "$l" got invalid value "abc"; Expected type param_integer; '
        "Invalid parameter value detected"
    )
    assert errors == [
        {
            "debugMessage": reason,
            "message": INTERNAL,
            "extensions": {"category": "internal", "debugMessage": reason},
            "locations": [{"line": 1, "column": 9}],
        }
    ]
    assert data is None


def test_l3_input_object_problems_print_the_whole_value_and_a_path() -> None:
    value = {"username": "x3", "email": "not-an-email", "firstname": "A", "lastname": "B/é"}
    # when an invalid email sits inside the input object
    errors, _ = answer(CREATE_QUERY, {"input": value})
    # then the whole value is printed with PHP's json_encode, the path names the field
    assert errors[0]["debugMessage"] == (
        'Variable "$input" got invalid value {"username":"x3","email":"not-an-email",'
        '"firstname":"A","lastname":"B\\/\\u00e9"}; Expected type param_email at value.email; '
        "Invalid parameter value detected"
    )
    assert errors[0]["locations"] == [{"line": 1, "column": 12}]
    assert "path" not in errors[0]


def test_l3_structural_problems_are_client_safe() -> None:
    base = {"username": "x3", "email": "a@b.nz", "firstname": "A", "lastname": "B"}
    assert messages(CREATE_QUERY, {"input": {**base, "nope": 1}}) == [
        'Variable "$input" got invalid value {"username":"x3","email":"a@b.nz",'
        '"firstname":"A","lastname":"B","nope":1}; '
        'Field "nope" is not defined by type core_user_create_user_input.'
    ]
    assert messages(CREATE_QUERY, {"input": {}}) == [
        'Variable "$input" got invalid value []; Field value.username of required type '
        "String! was not provided.",
        'Variable "$input" got invalid value []; Field value.email of required type '
        "param_email! was not provided.",
        'Variable "$input" got invalid value []; Field value.firstname of required type '
        "String! was not provided.",
        'Variable "$input" got invalid value []; Field value.lastname of required type '
        "String! was not provided.",
    ]
    assert messages(CREATE_QUERY, {"input": {**base, "firstname": None}}) == [
        'Variable "$input" got invalid value {"username":"x3","email":"a@b.nz",'
        '"firstname":null,"lastname":"B"}; '
        "Expected non-nullable type String! not to be null at value.firstname."
    ]
    assert messages(CREATE_QUERY, {"input": "x"}) == [
        'Variable "$input" got invalid value "x"; '
        "Expected type core_user_create_user_input to be an object."
    ]
    assert messages(CREATE_QUERY, {"input": {**base, "firstname": 5}}) == [
        'Variable "$input" got invalid value {"username":"x3","email":"a@b.nz",'
        '"firstname":5,"lastname":"B"}; Expected type String at value.firstname; '
        "String cannot represent a non string value: 5"
    ]


# --- L4 ---------------------------------------------------------------------------------

UPDATE_LITERAL = (
    'mutation { core_user_update_user(target_user: {id: 5}, input: {username: "%s"}) '
    "{ user { username } } }"
)
UPDATE_VARIABLE = (
    "mutation m($input: core_user_update_user_input!) "
    "{ core_user_update_user(target_user: {id: 5}, input: $input) { user { username } } }"
)


@pytest.mark.parametrize("username", ["JSmith", " jsmith", "j smith", "jsmith!", "jösmith"])
def test_l4_unclean_username_literal_is_refused_not_rewritten(username: str) -> None:
    errors, data = answer(UPDATE_LITERAL % username)
    assert [e["message"] for e in errors] == [
        f'Argument "input" has invalid value {{username: "{username}"}}.'.replace("ö", "\\u00f6")
    ]
    assert errors[0]["extensions"] == {"category": "graphql"}
    assert data is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("username", "AbC"), ("email", "a b@example.com"), ("email", " a@b.nz")],
)
def test_l4_unclean_variable_value_is_an_internal_l3_error(field: str, value: str) -> None:
    errors, data = answer(UPDATE_VARIABLE, {"input": {field: value}})
    scalar = "param_username" if field == "username" else "param_email"
    assert [e["debugMessage"] for e in errors] == [
        f'Variable "$input" got invalid value {{"{field}":"{value}"}}; '
        f"Expected type {scalar} at value.{field}; Invalid parameter value detected"
    ]
    assert data is None


@pytest.mark.parametrize("email", ["a@b", "first.last+tag@example.co.nz", ""])
def test_l4_whatwg_emails_pass(email: str) -> None:
    assert parse_email(email) == (email or None)


# --- L5 ---------------------------------------------------------------------------------


def test_l5_empty_operation_name_is_a_real_name_for_the_executor() -> None:
    errors, data = answer("query { totara_webapi_status { status } }", operation_name="")
    assert errors == [
        {"message": 'Unknown operation named "".', "extensions": {"category": "graphql"}}
    ]
    assert data is None


def test_l5_name_not_in_document_fails_to_determine_the_operation_type() -> None:
    errors, _ = answer(
        "query status_q { totara_webapi_status { status } }", operation_name="other_q"
    )
    assert errors == [
        {"message": "Failed to determine operation type", "extensions": {"category": "request"}}
    ]
    # the operation type is looked for before validation
    invalid = answer("query a { nope }", operation_name="b")[0]
    assert invalid[0]["message"] == "Failed to determine operation type"


def test_l5_two_anonymous_operations_need_a_name() -> None:
    assert messages("{ __typename } { __typename }") == [
        "This anonymous operation must be the only defined operation.",
        "This anonymous operation must be the only defined operation.",
    ]
    assert messages("query a { __typename } query b { __typename }") == [
        "Must provide operation name if query contains multiple operations."
    ]
    assert answer("query a { __typename } query b { __typename }", operation_name="b") == (
        [],
        {"__typename": "Query"},
    )


# --- L6 ---------------------------------------------------------------------------------


def test_l6_subscriptions_are_not_configured() -> None:
    errors, data = answer("subscription { totara_webapi_status { status } }")
    assert errors == [
        {
            "message": "Schema is not configured for subscriptions.",
            "extensions": {"category": "graphql"},
            "locations": [{"line": 1, "column": 1}],
        }
    ]
    assert data is None


# --- L8 ---------------------------------------------------------------------------------


def test_l8_placeholder_query_always_fails_and_costs_nothing() -> None:
    errors, data = answer("query { totara_webapi_status { status } placeholder_query }")
    reason = CODING + "GraphQL query name is invalid"
    assert data == {"totara_webapi_status": {"status": "ok"}, "placeholder_query": None}
    assert errors == [
        {
            "debugMessage": reason,
            "message": INTERNAL,
            "extensions": {"category": "internal", "debugMessage": reason},
            "locations": [{"line": 1, "column": 41}],
            "path": ["placeholder_query"],
        }
    ]
    counter = ComplexityCounter(SCHEMA, 100)
    checked = DocumentCache(SCHEMA).get("mutation { placeholder_mutation }", False, 15)
    result = run(SCHEMA, checked, None, None, None, [counter]).result
    assert result.data == {"placeholder_mutation": None}
    assert [format_error(e, 1)["debugMessage"] for e in result.errors or []] == [
        CODING + "GraphQL mutation name is invalid"
    ]
    assert counter.points == 0


# --- D1 ---------------------------------------------------------------------------------

USERS = "{ core_user_users { items { %s } } }"


def _of_type(n: int, leaf: str = "name") -> str:
    inner = leaf
    for _ in range(n):
        inner = f"ofType {{ {inner} }}"
    return inner


@pytest.mark.parametrize(
    ("query", "max_depth", "message"),
    [
        (USERS % "username", 1, None),
        (USERS % "job_assignments { position { idnumber } }", 3, None),
        (
            USERS % "job_assignments { position { framework { idnumber } } }",
            3,
            "Max query depth should be 3 but got 4.",
        ),
        (
            USERS % "job_assignments { position { framework { positions { idnumber } } } }",
            3,
            "Max query depth should be 3 but got 5.",
        ),
        (
            "{ core_user_users { items { job_assignments { ...F } } } } "
            "fragment F on totara_job_job_assignment "
            "{ position { framework { positions { idnumber } } } }",
            3,
            "Max query depth should be 3 but got 5.",
        ),
        (TYPE_FIELDS + _of_type(13) + " } } } }", 15, None),
        (
            TYPE_FIELDS + _of_type(14) + " } } } }",
            15,
            "Max query depth should be 15 but got 16.",
        ),
        (
            "{ __schema { types { fields { type { " + _of_type(14) + " } } } } }",
            15,
            "Max query depth should be 15 but got 17.",
        ),
        (USERS % "job_assignments { position { framework { idnumber } } }", 0, None),
    ],
)
def test_d1_depth_counts_only_fields_with_selections(
    query: str, max_depth: int, message: str | None
) -> None:
    errors, _ = answer(query, introspection=True, max_depth=max_depth)
    if message is None:
        assert not [e for e in errors if e["message"].startswith("Max query depth")]
    else:
        # no locations: graphql-php reports the depth without a node
        assert errors == [{"message": message, "extensions": {"category": "graphql"}}]


def test_d1_unknown_fragments_add_nothing() -> None:
    query = "{ core_user_users { items { ...Nope } } }"
    assert "Max query depth" not in " ".join(messages(query, max_depth=1))


def test_d1_fragment_chains_are_measured_in_linear_time() -> None:
    # given 40 fragments, each spreading the next twice (2^40 paths without memoising)
    fragments = " ".join(
        f"fragment F{i} on __Type {{ ofType {{ ...F{i + 1} ...F{i + 1} }} }}" for i in range(40)
    )
    query = f'{{ __type(name: "Query") {{ ...F0 }} }} {fragments} fragment F40 on __Type {{ name }}'
    # when it is checked, then it finishes and is refused for its depth (levels 0..40)
    started = time.perf_counter()
    found = messages(query, introspection=True, max_depth=15)
    print(f"\n40-level fragment chain checked in {time.perf_counter() - started:.3f} s")
    assert "Max query depth should be 15 but got 40." in found


# --- L7 and D2 (through the endpoint, with real users) -----------------------------------


@pytest.fixture
def token(runtime, http) -> str:
    return fetch_token(http, make_api_client(runtime))


def _set(runtime, **settings: str) -> None:
    with runtime.engine.begin() as conn:
        for name, value in settings.items():
            set_setting(conn, name, value)


def test_l7_d2_errors_follow_execution_order(runtime, http, token) -> None:
    # given ten users and a maximum complexity of 20
    for _ in range(9):
        make_user(runtime)
    _set(runtime, max_query_complexity="20", perfdebug="1")
    query = (
        "{ core_user_users(query: {pagination: {limit: 10}}) "
        "{ items { username firstname lastname } } }"
    )
    # when the ten users are listed with three fields each
    body = graphql(http, token, {"query": query}).json()
    # then items 5-9 fail field by field, in execution order
    paths = [e["path"] for e in body["errors"]]
    assert paths == [
        ["core_user_users", "items", item, field]
        for item in range(5, 10)
        for field in ("username", "firstname", "lastname")
    ]
    assert {e["message"] for e in body["errors"]} == {
        "Query complexity exceeded maximum allowed complexity of 20."
    }
    items = body["data"]["core_user_users"]["items"]
    assert items[5:] == [{"username": None, "firstname": None, "lastname": None}] * 5
    assert body["extensions"]["complexity_data"]["query_complexity"] == 35


def test_d2_aliased_status_fails_only_past_the_limit(runtime, http, token) -> None:
    _set(runtime, max_query_complexity="20", perfdebug="1")
    aliased = (f"{a}: totara_webapi_status {{ status timestamp }}" for a in "abc")
    query = "{ " + " ".join(aliased) + " }"
    body = graphql(http, token, {"query": query}).json()
    assert [e["path"] for e in body["errors"]] == [["c", "timestamp"]]
    assert body["extensions"]["complexity_data"]["query_complexity"] == 21
