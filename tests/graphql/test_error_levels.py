"""Error levels None / Normal / Developer, masking, validation, introspection and depth."""

from __future__ import annotations

import pytest

from extapi.auth import clients
from extapi.settings.site import set_setting
from tests.factories import fetch_token, graphql, make_api_client

DOMAIN = "Username already exists: jdoe"


@pytest.fixture
def client(runtime):
    return make_api_client(runtime)


@pytest.fixture
def token(probe_http, client) -> str:
    return fetch_token(probe_http, client)


def _set_site(runtime, name: str, value: str) -> None:
    with runtime.engine.begin() as conn:
        set_setting(conn, name, value)


def _set_client_level(runtime, client, level: str) -> None:
    with runtime.engine.begin() as conn:
        clients.update_client_settings(
            conn, client.client_id, clients.ClientSettingsChange(response_debug=level)
        )


def test_domain_error_at_normal_level(probe_http, token):
    body = graphql(probe_http, token, {"query": '{ probe_fail(kind: "domain") }'}).json()
    assert body == {
        "errors": [
            {
                "debugMessage": DOMAIN,
                "message": "Internal server error",
                "extensions": {"category": "internal", "debugMessage": DOMAIN},
                "locations": [{"line": 1, "column": 3}],
                "path": ["probe_fail"],
            }
        ],
        "data": {"probe_fail": None},
        "error": "Internal server error",
    }


def test_domain_error_at_none_level(runtime, probe_http, token):
    _set_site(runtime, "response_debug", "0")
    body = graphql(probe_http, token, {"query": '{ probe_fail(kind: "domain") }'}).json()
    assert body["errors"] == [
        {
            "message": "Internal server error",
            "extensions": {"category": "internal"},
            "locations": [{"line": 1, "column": 3}],
            "path": ["probe_fail"],
        }
    ]


def test_domain_error_at_developer_level_has_a_trace(runtime, probe_http, client, token):
    _set_client_level(runtime, client, "developer")
    error = graphql(probe_http, token, {"query": '{ probe_fail(kind: "domain") }'}).json()[
        "errors"
    ][0]
    assert error["debugMessage"] == DOMAIN
    assert error["trace"] and {"file", "line", "call"} <= set(error["trace"][0])
    assert not any(frame["file"].startswith("/work") for frame in error["trace"])


def test_client_level_overrides_site_level(runtime, probe_http, client, token):
    # given the site at Developer and the client at None
    _set_site(runtime, "response_debug", "developer")
    _set_client_level(runtime, client, "none")
    error = graphql(probe_http, token, {"query": '{ probe_fail(kind: "domain") }'}).json()[
        "errors"
    ][0]
    # then the client's level wins
    assert "debugMessage" not in error and "trace" not in error
    # and going back to "site" restores the site's level
    _set_client_level(runtime, client, "site")
    error = graphql(probe_http, token, {"query": '{ probe_fail(kind: "domain") }'}).json()[
        "errors"
    ][0]
    assert "trace" in error


def test_unexpected_errors_do_not_leak_their_text_at_normal(probe_http, token):
    error = graphql(probe_http, token, {"query": '{ probe_fail(kind: "bug") }'}).json()["errors"][0]
    assert error["message"] == "Internal server error"
    assert error["debugMessage"] == "Unexpected error (RuntimeError)"
    assert "SELECT" not in str(error)


def test_unexpected_error_text_is_shown_at_developer(runtime, probe_http, client, token):
    _set_client_level(runtime, client, "developer")
    error = graphql(probe_http, token, {"query": '{ probe_fail(kind: "bug") }'}).json()["errors"][0]
    assert error["debugMessage"] == "SELECT secret FROM somewhere"


def test_client_safe_errors_show_at_every_level(runtime, probe_http, token):
    _set_site(runtime, "response_debug", "none")
    error = graphql(probe_http, token, {"query": '{ probe_fail(kind: "safe") }'}).json()["errors"][
        0
    ]
    assert error["message"] == "You may see this"
    assert error["extensions"] == {"category": "query_complexity"}


def test_non_null_root_failure_omits_data(probe_http, token):
    body = graphql(probe_http, token, {"query": "{ probe_required }"}).json()
    assert list(body) == ["errors", "error"]


def test_validation_errors_are_client_safe_at_none(runtime, probe_http, token):
    _set_site(runtime, "response_debug", "none")
    body = graphql(probe_http, token, {"query": "{ totara_webapi_status { nope } }"}).json()
    assert body == {
        "errors": [
            {
                "message": 'Cannot query field "nope" on type "totara_webapi_status".',
                "extensions": {"category": "graphql"},
                "locations": [{"line": 1, "column": 26}],
            }
        ],
        "error": 'Cannot query field "nope" on type "totara_webapi_status".',
    }


def test_syntax_errors_are_client_safe(probe_http, token):
    body = graphql(probe_http, token, {"query": "{ totara_webapi_status { "}).json()
    assert body["errors"][0]["message"].startswith("Syntax Error:")
    assert body["errors"][0]["extensions"] == {"category": "graphql"}


def test_unknown_argument_and_bad_enum_are_rejected(probe_http, token):
    bad_arg = "{ totara_webapi_status { timestamp(fmt: ISO8601) } }"
    bad_enum = "{ totara_webapi_status { timestamp(format: NOPE) } }"
    assert "Unknown argument" in graphql(probe_http, token, {"query": bad_arg}).json()["error"]
    assert "NOPE" in graphql(probe_http, token, {"query": bad_enum}).json()["error"]


def test_introspection_is_off_by_default(probe_http, token):
    body = graphql(probe_http, token, {"query": "{ __schema { queryType { name } } }"}).json()
    assert body["errors"][0]["message"] == "GraphQL introspection is not enabled."
    body = graphql(probe_http, token, {"query": '{ __type(name: "Query") { name } }'}).json()
    assert body["errors"][0]["message"] == "GraphQL introspection is not enabled."


def test_typename_works_without_introspection(probe_http, token):
    assert graphql(probe_http, token, {"query": "{ __typename }"}).json() == {
        "data": {"__typename": "Query"}
    }


def test_introspection_when_enabled_applies_to_the_next_request(runtime, probe_http, token):
    query = {"query": "{ __schema { queryType { name } } }"}
    assert "errors" in graphql(probe_http, token, query).json()
    _set_site(runtime, "enable_introspection", "1")
    assert graphql(probe_http, token, query).json() == {
        "data": {"__schema": {"queryType": {"name": "Query"}}}
    }


def test_suggestions_do_not_leak_names_without_introspection(probe_http, token):
    body = graphql(probe_http, token, {"query": "{ totara_webapi_statu { status } }"}).json()
    assert body["error"] == 'Cannot query field "totara_webapi_statu" on type "Query".'


def test_suggestions_are_kept_with_introspection(runtime, probe_http, token):
    _set_site(runtime, "enable_introspection", "1")
    body = graphql(probe_http, token, {"query": "{ totara_webapi_statu { status } }"}).json()
    assert body["error"] == (
        'Cannot query field "totara_webapi_statu" on type "Query". '
        'Did you mean "totara_webapi_status"?'
    )


def _nested(depth: int) -> str:
    # __type(name) -> ofType chains let us nest as deep as we like with introspection on
    inner = "name"
    for _ in range(depth):
        inner = f"ofType {{ {inner} }}"
    return f'{{ __type(name: "Query") {{ {inner} }} }}'


def test_depth_limit_uses_totaras_message(runtime, probe_http, token):
    _set_site(runtime, "enable_introspection", "1")
    ok = graphql(probe_http, token, {"query": _nested(15)}).json()
    assert "errors" not in ok
    too_deep = graphql(probe_http, token, {"query": _nested(16)}).json()
    assert too_deep["errors"][0]["message"] == "Max query depth should be 15 but got 16."
    assert too_deep["errors"][0]["extensions"] == {"category": "graphql"}


def test_depth_limit_follows_the_setting(runtime, probe_http, token):
    _set_site(runtime, "enable_introspection", "1")
    _set_site(runtime, "max_query_depth", "3")
    body = graphql(probe_http, token, {"query": _nested(4)}).json()
    assert body["error"] == "Max query depth should be 3 but got 4."


def test_depth_counts_through_fragments_and_survives_cycles(runtime, probe_http, token):
    _set_site(runtime, "enable_introspection", "1")
    _set_site(runtime, "max_query_depth", "2")
    query = (
        'query { __type(name: "Query") { ...A } } '
        "fragment A on __Type { ofType { ofType { ofType { name } } } }"
    )
    assert graphql(probe_http, token, {"query": query}).json()["error"] == (
        "Max query depth should be 2 but got 3."
    )
    cyclic = (
        'query { __type(name: "Query") { ...A } } '
        "fragment A on __Type { ofType { ...B } } fragment B on __Type { ofType { ...A } }"
    )
    messages = [
        e["message"] for e in graphql(probe_http, token, {"query": cyclic}).json()["errors"]
    ]
    assert any(m.startswith('Cannot spread fragment "A" within itself') for m in messages)


def test_scalar_coercion_errors(probe_http, token):
    bad_id = graphql(probe_http, token, {"query": "{ probe_echo(id: -4) }"}).json()
    assert bad_id["errors"][0]["extensions"] == {"category": "graphql"}
    query = "query q($id: core_id) { probe_echo(id: $id) }"
    bad_var = graphql(probe_http, token, {"query": query, "variables": {"id": "abc"}}).json()
    assert bad_var["errors"][0]["extensions"]["category"] == "internal"
    assert bad_var["errors"][0]["debugMessage"] == (
        'Variable "$id" got invalid value "abc"; Expected type core_id; '
        "Invalid parameter value detected"
    )


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ('id: "0"', "[('id', None)]"),
        ('id: "17"', "[('id', 17)]"),
        ("id: 17", "[('id', 17)]"),
        ('n: ""', "[('n', None)]"),
        ('n: "12"', "[('n', 12)]"),
        ('email: "a@b.nz"', "[('email', 'a@b.nz')]"),
        ('name: "jo.smith"', "[('name', 'jo.smith')]"),
        ('text: "<b>bold</b>"', "[('text', 'bold')]"),
        ("when: 1662026813", "[('when', 1662026813)]"),
        ('when: ""', "[('when', None)]"),
    ],
)
def test_scalars_clean_their_input(probe_http, token, literal, expected):
    body = graphql(probe_http, token, {"query": f"{{ probe_echo({literal}) }}"}).json()
    assert body == {"data": {"probe_echo": expected}}
