"""Hostile input never crashes a request: deep nesting, NUL characters, huge integers and a
null date format each get a clear answer in Totara's envelope, the same on SQLite and
PostgreSQL (NUL bytes and integer overflow can only be seen on the latter)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from httpx import Response
from sqlalchemy import insert, select
from starlette.testclient import TestClient

from extapi.db.tables import hierarchy_frameworks, hierarchy_items, users
from extapi.graphql.messages.syntax import MAX_NESTING
from extapi.graphql.messages.syntax import TOO_DEEP as SYNTAX_TOO_DEEP
from extapi.graphql.variables import MAX_VARIABLE_NESTING
from extapi.people import profile_fields
from extapi.runtime import Runtime
from extapi.settings.site import set_setting
from tests.factories import TOKEN_PATH, fetch_token, make_api_client, make_user

GRAPHQL_PATH = "/api/graphql.php"
EMPTY_REQUEST = "Invalid request, request cannot be empty"
INVALID_PARAMETER = "Invalid parameter value detected"
BAD_FORMAT = "Coding error detected, it must be fixed by a programmer: Invalid format given"
USER_NOT_FOUND = (
    "There was a problem finding a single user record match or you do not have sufficient "
    "capabilities."
)
NO_HOLDER = "The user does not exist or you do not have permission to create a job assignment."
TOO_DEEP = f"Syntax Error: {SYNTAX_TOO_DEEP}"
USERS_QUERY = "query q($q: core_user_users_query) { core_user_users(query: $q) { total } }"


@pytest.fixture
def token(runtime: Runtime, http: TestClient) -> str:
    return fetch_token(http, make_api_client(runtime))


def post(http: TestClient, token: str, body: str, accept: str | None = None) -> Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if accept:
        headers["Accept"] = accept
    return http.post(GRAPHQL_PATH, content=body.encode("utf-8"), headers=headers)


def body_of(query: str, variables_json: str | None = None) -> str:
    """A request body; variables come as JSON text, so they may nest deeper than Python's
    own JSON encoder allows."""
    text = '{"query":' + json.dumps(query)
    if variables_json is not None:
        text += ',"variables":' + variables_json
    return text + "}"


def nested_list(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def nested_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def envelope(response: Response) -> dict[str, Any]:
    """The answer is JSON in Totara's envelope, never a plain-text crash."""
    media = response.headers["content-type"]
    assert media.startswith(("application/json", "application/graphql-response+json")), media
    payload = response.json()
    assert isinstance(payload, dict), payload
    return payload


def first_error(response: Response) -> dict[str, Any]:
    payload = envelope(response)
    assert payload.get("errors"), payload
    return dict(payload["errors"][0])


def reason(error: dict[str, Any]) -> str:
    """The debug message of a masked (internal) error, else the message."""
    return str(error.get("debugMessage", error["message"]))


# --- deep nesting -----------------------------------------------------------------------------


def _selections(depth: int) -> str:
    # framework { positions { framework ... } } nests real fields without end
    pairs = depth // 2
    return (
        "{ hierarchy_position_positions { items { "
        + "framework { positions { " * pairs
        + "id"
        + " } }" * pairs
        + " } } }"
    )


def _inline_fragments(depth: int) -> str:
    return (
        "{ core_user_users { items { "
        + "... on core_user { " * depth
        + "id"
        + " }" * depth
        + " } } }"
    )


DEEP_DOCUMENTS = {
    "250 nested selections": _selections(250),
    "10,000 nested selections": _selections(10_000),
    "250 nested inline fragments": _inline_fragments(250),
    "1,000 nested list literal": "{ core_user_users(query: {sort: "
    + nested_list(1000)
    + "}) { total } }",
    "1,000 nested object literal": "{ core_user_users(query: {sort: "
    + "{a: " * 1000
    + "1"
    + "}" * 1000
    + "}) { total } }",
    "1,000 nested list type": "query q($v: "
    + "[" * 1000
    + "String"
    + "]" * 1000
    + ") { totara_webapi_status { status } }",
}


@pytest.mark.parametrize("query", DEEP_DOCUMENTS.values(), ids=DEEP_DOCUMENTS.keys())
def test_deeply_nested_documents_are_syntax_errors(http, token, query) -> None:
    # when a document nests deeper than any real query does
    response = post(http, token, body_of(query))
    # then it is refused as a syntax error is, with a location and no data
    assert response.status_code == 200
    error = first_error(response)
    assert error["message"] == TOO_DEEP
    assert error["extensions"] == {"category": "graphql"}
    assert error["locations"]
    assert "data" not in envelope(response)


def test_deep_document_is_a_400_for_graphql_response_clients(http, token) -> None:
    response = post(http, token, body_of(_selections(250)), "application/graphql-response+json")
    assert response.status_code == 400
    assert first_error(response)["message"] == TOO_DEEP


def test_nesting_up_to_the_limit_is_measured_by_the_depth_rule(http, token) -> None:
    # given selections nested as deep as the parser allows
    query = _selections(MAX_NESTING - 4)
    # then the site's depth limit answers, as in Totara
    error = first_error(post(http, token, body_of(query)))
    assert error["message"].startswith("Max query depth should be 15 but got ")


def test_nesting_up_to_the_limit_runs_under_a_high_depth_limit(runtime, http, token) -> None:
    # given a position in a framework, and a depth limit beyond the nesting limit
    now = 1_700_000_000
    with runtime.engine.begin() as conn:
        set_setting(conn, "max_query_depth", "1000")
        set_setting(conn, "max_query_complexity", "1000000")
        framework = conn.execute(
            insert(hierarchy_frameworks),
            {
                "kind": "position",
                "idnumber": "F",
                "fullname": "F",
                "timecreated": now,
                "timemodified": now,
            },
        ).inserted_primary_key[0]
        conn.execute(
            insert(hierarchy_items),
            {
                "kind": "position",
                "framework_id": framework,
                "fullname": "P",
                "idnumber": "P",
                "timecreated": now,
                "timemodified": now,
            },
        )
    # when a query walks position -> framework -> positions as deep as the parser allows
    payload = envelope(post(http, token, body_of(_selections(MAX_NESTING - 4))))
    # then it runs to the bottom
    assert "errors" not in payload, str(payload)[:500]
    assert json.dumps(payload).count('"framework"') == (MAX_NESTING - 4) // 2


def test_deep_fragment_chains_get_a_clear_error(http, token) -> None:
    # given 50 fragments, each nesting 30 levels and spreading the next (1,500 levels in all)
    def fragment(i: int) -> str:
        inner = f"...F{i + 1}" if i < 49 else "id"
        return (
            f"fragment F{i} on totara_hierarchy_position_framework {{ "
            + "positions { framework { " * 15
            + inner
            + " } }" * 15
            + " }"
        )

    query = "{ hierarchy_position_positions { items { framework { ...F0 } } } } " + " ".join(
        fragment(i) for i in range(50)
    )
    # then it is refused with the depth rule's answer, never a crash
    error = first_error(post(http, token, body_of(query)))
    assert error["message"].startswith("Max query depth should be 15 but got ")


DEEP_VARIABLES = {
    # deeper than PHP's json_decode reads (512 levels): Totara sees no request at all
    "1,000 nested list": '{"q": {"sort": ' + nested_list(1000) + "}}",
    "10,000 nested objects": '{"q": ' + nested_object(10_000) + "}",
}


@pytest.mark.parametrize("variables", DEEP_VARIABLES.values(), ids=DEEP_VARIABLES.keys())
def test_variables_nested_beyond_php_json_depth_are_not_a_request(http, token, variables) -> None:
    response = post(http, token, body_of(USERS_QUERY, variables))
    assert response.status_code == 400
    error = first_error(response)
    assert error["message"] == "Internal server error"
    assert reason(error) == EMPTY_REQUEST


@pytest.mark.parametrize(("depth", "runs"), [(512, True), (513, False)])
def test_a_body_may_nest_512_levels_as_in_php(http, token, depth, runs) -> None:
    # given an otherwise unused member nested so that the whole body has `depth` levels
    body = '{"query": "{ totara_webapi_status { status } }", "x": ' + nested_list(depth - 1) + "}"
    response = post(http, token, body)
    if runs:
        assert envelope(response) == {"data": {"totara_webapi_status": {"status": "ok"}}}
    else:
        assert response.status_code == 400
        assert reason(first_error(response)) == EMPTY_REQUEST


@pytest.mark.parametrize("depth", [MAX_VARIABLE_NESTING + 1, 500])
def test_variables_nested_deeper_than_any_input_type_are_refused(http, token, depth) -> None:
    # when a variable's value nests deeper than any input type of the schema
    response = post(
        http, token, body_of(USERS_QUERY, '{"q": {"sort": ' + nested_list(depth) + "}}")
    )
    # then the variable is refused with a client-safe error naming it
    assert response.status_code == 200
    error = first_error(response)
    assert error["message"] == (
        f'Variable "$q" got invalid value: it nests lists and objects more than '
        f"{MAX_VARIABLE_NESTING} levels deep."
    )
    assert error["extensions"] == {"category": "graphql"}


def test_variables_as_a_json_string_nested_too_deep_stay_a_string(http, token) -> None:
    # graphql-php decodes a variables string with PHP's depth of 512; deeper, it stays a string
    variables = json.dumps('{"q": {"sort": ' + nested_list(600) + "}}")
    error = first_error(post(http, token, body_of(USERS_QUERY, variables)))
    assert error["message"].startswith(
        'GraphQL Request parameter "variables" must be object or JSON string parsed to object'
    )


def test_deeply_nested_cursor_is_a_cursor_error(http, token) -> None:
    cursor = base64.b64encode(nested_list(5000).encode()).decode()
    variables = json.dumps({"q": {"pagination": {"cursor": cursor}}})
    error = first_error(post(http, token, body_of(USERS_QUERY, variables)))
    assert reason(error) == (
        "Coding error detected, it must be fixed by a programmer: "
        "Invalid cursor given, expected array encoded as json and base64."
    )


# --- NUL characters ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["client_id", "client_secret", "grant_type"])
def test_nul_in_token_form_fields_is_an_invalid_request(http, field) -> None:
    # given no token at all, and a form field holding a NUL character
    form = {"grant_type": "client_credentials", "client_id": "abc", "client_secret": "def"}
    form[field] = form[field][:1] + "\x00" + form[field][1:]
    response = http.post(TOKEN_PATH, data=form)
    # then the field is named in an OAuth error, on every database
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert f"`{field}`" in response.json()["hint"]


def test_nul_in_basic_credentials_is_an_unknown_client(http) -> None:
    credentials = base64.b64encode(b"ab\x00c:secret").decode()
    response = http.post(
        TOKEN_PATH,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {credentials}"},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


CREATE = (
    "mutation c($u: core_user_create_user_input!) { core_user_create_user(input: $u) "
    "{ user { username idnumber firstname custom_fields { shortname data } } } }"
)


def test_nul_in_variables_is_removed_as_totara_fix_utf8_does(runtime, http, token) -> None:
    # given a text profile field, and a new user's strings each holding a NUL character
    with runtime.engine.begin() as conn:
        profile_fields.add_field(conn, "code", "Code", "text")
    variables = {
        "u": {
            "username": "nul\u0000user",
            "email": "nul\u0000user@example.com",
            "firstname": "Ja\u0000ne",
            "lastname": "Doe\u0000",
            "idnumber": "E\u00001",
            "password": "Passw0rd!",
            "custom_fields": [{"shortname": "code", "data": "A\u0000B"}],
        }
    }
    # when the user is created
    payload = envelope(post(http, token, json.dumps({"query": CREATE, "variables": variables})))
    # then every NUL is gone before anything else looks at the values
    assert "errors" not in payload, payload
    user = payload["data"]["core_user_create_user"]["user"]
    assert user["username"] == "nuluser"
    assert user["idnumber"] == "E1"
    assert user["firstname"] == "Jane"
    assert user["custom_fields"] == [{"shortname": "code", "data": "AB"}]
    with runtime.engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == "nuluser")).mappings().one()
    assert (row["email"], row["lastname"]) == ("nuluser@example.com", "Doe")


@pytest.mark.parametrize(
    "variables",
    [
        {"q": {"sort": [{"column": "user\u0000name"}]}},
        {"q": {"filters": {"since_timemodified": "1\u0000"}}},
        {"q": {"pagination": {"cursor": "\u0000", "limit": "5\u0000"}}},
        {"q\u0000": {}},
    ],
    ids=["sort column", "date filter", "cursor and limit", "variable name"],
)
def test_nul_in_list_arguments_is_removed(runtime, http, token, variables) -> None:
    make_user(runtime)
    payload = envelope(
        post(http, token, json.dumps({"query": USERS_QUERY, "variables": variables}))
    )
    assert "errors" not in payload, payload
    assert payload["data"]["core_user_users"]["total"] >= 1


def test_nul_in_a_user_reference_finds_the_user_without_it(runtime, http, token) -> None:
    make_user(runtime, "target")
    query = (
        "mutation d($t: core_user_user_reference!) "
        "{ core_user_delete_user(target_user: $t) { user_id } }"
    )
    variables = {"t": {"username": "tar\u0000get"}}
    payload = envelope(post(http, token, json.dumps({"query": query, "variables": variables})))
    assert "errors" not in payload, payload


def test_nul_in_the_query_text_is_removed(http, token) -> None:
    body = json.dumps({"query": "{ totara_webapi_status \u0000{ status } }\u0000"})
    assert envelope(post(http, token, body)) == {"data": {"totara_webapi_status": {"status": "ok"}}}


def test_nul_in_the_operation_name_fails_totara_name_check(http, token) -> None:
    body = json.dumps(
        {"query": "query a { totara_webapi_status { status } }", "operationName": "a\u0000"}
    )
    error = first_error(post(http, token, body))
    assert reason(error) == "Invalid request, validation of operationName failed"


def test_nul_in_variables_given_as_a_json_string_is_removed(runtime, http, token) -> None:
    make_user(runtime)
    variables = json.dumps({"q": {"sort": [{"column": "user\u0000name"}]}})
    payload = envelope(
        post(http, token, json.dumps({"query": USERS_QUERY, "variables": variables}))
    )
    assert "errors" not in payload, payload


def test_unpaired_surrogate_escape_is_not_json(http, token) -> None:
    response = post(http, token, body_of(USERS_QUERY, '{"q": {"sort": [{"column": "\\ud800"}]}}'))
    assert response.status_code == 400
    assert reason(first_error(response)) == EMPTY_REQUEST


# --- large integers ---------------------------------------------------------------------------

INT32_MAX = 2**31 - 1
IN_RANGE = [INT32_MAX, 2**31, 2**63 - 1]  # ids PHP holds as integers; no row has them
OUT_OF_RANGE = [2**63, 2**64]  # PHP reads these as floats, which its id scalar refuses

ORGANISATION = "{ hierarchy_organisation_organisation(reference: {id: %s}) { found } }"
ORGANISATION_VAR = (
    "query o($i: core_id) { hierarchy_organisation_organisation(reference: {id: $i}) { found } }"
)
ORGANISATIONS = (
    "{ hierarchy_organisation_organisations(query: {filters: "
    "{ids: [%s], parent_id: %s, type_id: %s, framework_id: %s}}) { total } }"
)
JOB = "{ totara_job_job_assignment(target_job: {id: %s}) { found job_assignment { id } } }"
DELETE_USER = "mutation { core_user_delete_user(target_user: {id: %s}) { user_id } }"
CREATE_JOB = (
    'mutation { totara_job_create_job_assignment(input: {idnumber: "x", user: {id: %s}}) '
    "{ job_assignment { id } } }"
)


def _graphql(http: TestClient, token: str, query: str, variables: Any = None) -> Response:
    return post(http, token, json.dumps({"query": query, "variables": variables}))


Case = Callable[[TestClient, str, int], Response]
ID_CASES: dict[str, Case] = {
    "organisation literal": lambda h, t, n: _graphql(h, t, ORGANISATION % n),
    "organisation variable": lambda h, t, n: _graphql(h, t, ORGANISATION_VAR, {"i": n}),
    "organisation string": lambda h, t, n: _graphql(h, t, ORGANISATION_VAR, {"i": str(n)}),
    "organisation filters": lambda h, t, n: _graphql(h, t, ORGANISATIONS % (n, n, n, n)),
    "job assignment": lambda h, t, n: _graphql(h, t, JOB % n),
    "user reference": lambda h, t, n: _graphql(h, t, DELETE_USER % n),
    "job holder": lambda h, t, n: _graphql(h, t, CREATE_JOB % n),
}
NOT_FOUND: dict[str, Callable[[Response], bool]] = {
    "organisation literal": lambda r: r.json()["data"]["hierarchy_organisation_organisation"]
    == {"found": False},
    "organisation variable": lambda r: r.json()["data"]["hierarchy_organisation_organisation"]
    == {"found": False},
    "organisation string": lambda r: r.json()["data"]["hierarchy_organisation_organisation"]
    == {"found": False},
    "organisation filters": lambda r: r.json()["data"]["hierarchy_organisation_organisations"]
    == {"total": 0},
    "job assignment": lambda r: r.json()["data"]["totara_job_job_assignment"]
    == {"found": False, "job_assignment": None},
    "user reference": lambda r: reason(first_error(r)) == USER_NOT_FOUND,
    "job holder": lambda r: reason(first_error(r)) == NO_HOLDER,
}


@pytest.mark.parametrize("number", IN_RANGE)
@pytest.mark.parametrize("case", ID_CASES, ids=list(ID_CASES))
def test_ids_php_can_hold_find_nothing(http, token, case, number) -> None:
    response = ID_CASES[case](http, token, number)
    envelope(response)
    assert NOT_FOUND[case](response), response.json()


@pytest.mark.parametrize("number", OUT_OF_RANGE)
@pytest.mark.parametrize("case", ID_CASES, ids=list(ID_CASES))
def test_ids_beyond_php_integers_are_invalid_parameters(http, token, case, number) -> None:
    response = ID_CASES[case](http, token, number)
    error = first_error(response)
    text = json.dumps(response.json())
    assert "Unexpected error" not in text and "out of range" not in text, text
    assert INVALID_PARAMETER in reason(error) or "has invalid value" in error["message"], error


@pytest.mark.parametrize("number", [INT32_MAX, 2**31, 2**63 - 1, -(2**31) - 1])
@pytest.mark.parametrize("name", ["limit", "page"])
def test_large_limits_and_pages_run(runtime, http, token, name, number) -> None:
    make_user(runtime)
    query = "{ core_user_users(query: {pagination: {%s: %s}}) { total items { id } } }"
    payload = envelope(_graphql(http, token, query % (name, number)))
    assert "errors" not in payload, payload
    assert payload["data"]["core_user_users"]["total"] >= 2


@pytest.mark.parametrize("number", OUT_OF_RANGE + [-(2**63) - 1])
@pytest.mark.parametrize("name", ["limit", "page"])
@pytest.mark.parametrize("how", ["literal", "variable", "string"])
def test_limits_and_pages_beyond_php_integers_are_invalid(http, token, name, number, how) -> None:
    if how == "literal":
        query = f"{{ core_user_users(query: {{pagination: {{{name}: {number}}}}}) {{ total }} }}"
        response = _graphql(http, token, query)
    else:
        value: Any = number if how == "variable" else str(number)
        response = _graphql(http, token, USERS_QUERY, {"q": {"pagination": {name: value}}})
    error = first_error(response)
    assert INVALID_PARAMETER in reason(error) or "has invalid value" in error["message"], error


# --- null date formats ------------------------------------------------------------------------

DATE_FIELDS = {
    "status timestamp": "{ totara_webapi_status { timestamp(format: null) } }",
    "user firstaccess": "{ core_user_users { items { firstaccess(format: null) } } }",
    "user lastaccess": "{ core_user_users { items { lastaccess(format: null) } } }",
    "job startdate": "{ totara_job_job_assignments { items { startdate(format: null) } } }",
    "job enddate": "{ totara_job_job_assignments { items { enddate(format: null) } } }",
    "job temp manager expiry": (
        "{ totara_job_job_assignments { items { tempmanagerexpirydate(format: null) } } }"
    ),
    "job timemodified": "{ totara_job_job_assignments { items { timemodified(format: null) } } }",
}


@pytest.fixture
def job(runtime: Runtime, http: TestClient, token: str) -> None:
    holder = make_user(runtime)
    payload = _graphql(
        http,
        token,
        'mutation { totara_job_create_job_assignment(input: {idnumber: "j1", '
        f"user: {{id: {holder}}}}}) {{ job_assignment {{ id }} }} }}",
    ).json()
    assert "errors" not in payload, payload


@pytest.mark.parametrize("query", DATE_FIELDS.values(), ids=DATE_FIELDS.keys())
def test_null_date_format_is_totara_formatter_error(http, token, job, query) -> None:
    # when a date field is asked for in a null format
    response = _graphql(http, token, query)
    # then the formatter refuses the format as Totara's does, never an unexpected error
    error = first_error(response)
    assert error["message"] == "Internal server error"
    assert reason(error) == BAD_FORMAT


def test_null_date_format_through_a_variable(http, token) -> None:
    query = "query s($f: core_date_format) { totara_webapi_status { timestamp(format: $f) } }"
    assert reason(first_error(_graphql(http, token, query, {"f": None}))) == BAD_FORMAT
