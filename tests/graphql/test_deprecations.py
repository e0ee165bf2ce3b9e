"""Deprecation warnings in ``extensions.deprecation_warnings``, at each error level.

The live schema deprecates nothing yet, so these tests run an app whose schema adds a type
with deprecated fields (and a deprecated root field, which Totara never reports).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from graphql import parse
from starlette.testclient import TestClient

from extapi.app import ExtapiApp
from extapi.auth import clients
from extapi.graphql.deprecations import DeprecationIndex
from extapi.graphql.documents import DocumentCache
from extapi.graphql.schema import RESOLVERS, assemble_schema, build_schema, schema_sdl
from extapi.runtime import Runtime
from extapi.settings.site import set_setting
from tests.factories import ApiClient, fetch_token, graphql, make_api_client

OLD_REASON = "Use current instead."
DEFAULT_REASON = "No longer supported"

DEPRECATING_SDL = """
type probe_gadget {
  current: String
  old_name: String @deprecated(reason: "Use current instead.")
  older: String @deprecated
  failing: String @deprecated(reason: "Gone soon.")
  part: probe_part
}

type probe_part {
  label: String
  legacy_label: String @deprecated(reason: "Use label.")
}

interface probe_named {
  name: String
}

type probe_person implements probe_named {
  name: String @deprecated(reason: "Use full_name.")
}

type probe_place implements probe_named {
  name: String
}

input probe_filter {
  kind: String @deprecated(reason: "Ignored.")
}

extend type Query {
  probe_gadget(filter: probe_filter): probe_gadget
  probe_gadgets: [probe_gadget!]!
  probe_no_gadget: probe_gadget
  probe_named: [probe_named!]!
  probe_old_root: String @deprecated(reason: "Use probe_gadget.")
}
"""

WARNED = {"probe_gadget": {"old_name": OLD_REASON, "older": DEFAULT_REASON}}


def _gadget(*_args: Any, **_kwargs: Any) -> dict[str, Any]:
    return {"current": "now", "old_name": "then", "older": "long ago", "part": {"label": "x"}}


def _failing(*_args: Any) -> str:
    raise RuntimeError("gadget broke")


def _named(*_args: Any) -> list[dict[str, Any]]:
    return [
        {"__typename": "probe_person", "name": "Ada"},
        {"__typename": "probe_place", "name": "Paris"},
    ]


@pytest.fixture
def deprecating_schema():
    return assemble_schema(
        schema_sdl() + DEPRECATING_SDL,
        {
            **RESOLVERS,
            "Query.probe_gadget": _gadget,
            "Query.probe_gadgets": lambda *_a: [_gadget(), _gadget(), _gadget()],
            "Query.probe_no_gadget": lambda *_a: None,
            "Query.probe_named": _named,
            "Query.probe_old_root": lambda *_a: "still here",
            "probe_gadget.failing": _failing,
        },
    )


@pytest.fixture
def dep_http(runtime: Runtime, deprecating_schema) -> Iterator[TestClient]:
    with TestClient(ExtapiApp(runtime, deprecating_schema)) as client:
        yield client


@pytest.fixture
def client(runtime: Runtime) -> ApiClient:
    return make_api_client(runtime)


@pytest.fixture
def token(dep_http: TestClient, client: ApiClient) -> str:
    return fetch_token(dep_http, client)


def _set_client_level(runtime: Runtime, client: ApiClient, level: str) -> None:
    with runtime.engine.begin() as conn:
        clients.update_client_settings(
            conn, client.client_id, clients.ClientSettingsChange(response_debug=level)
        )


def _set_site(runtime: Runtime, name: str, value: str) -> None:
    with runtime.engine.begin() as conn:
        set_setting(conn, name, value)


@pytest.fixture
def developer(runtime: Runtime, client: ApiClient) -> None:
    _set_client_level(runtime, client, "developer")


def _ask(http: TestClient, token: str, query: str, **extra: Any) -> Any:
    response = graphql(http, token, {"query": query, **extra})
    assert response.status_code == 200, response.text
    return response.json()


# --- levels -----------------------------------------------------------------------------------
@pytest.mark.parametrize("level", ["none", "normal"])
def test_below_developer_level_no_warnings_are_sent(dep_http, runtime, client, token, level):
    # given a client at the None or Normal level
    _set_client_level(runtime, client, level)
    # when it selects deprecated fields
    body = _ask(dep_http, token, "{ probe_gadget { old_name older } }")
    # then it gets its data and no extensions at all
    assert body == {"data": {"probe_gadget": {"old_name": "then", "older": "long ago"}}}


def test_site_normal_level_sends_no_warnings(dep_http, token):
    body = _ask(dep_http, token, "{ probe_gadget { old_name } }")
    assert "extensions" not in body


@pytest.mark.usefixtures("developer")
def test_developer_level_names_each_deprecated_field_with_its_reason(dep_http, token):
    body = _ask(dep_http, token, "{ probe_gadget { current old_name older } }")
    assert body["data"] == {
        "probe_gadget": {"current": "now", "old_name": "then", "older": "long ago"}
    }
    assert body["extensions"] == {"deprecation_warnings": WARNED}


def test_site_developer_level_applies_when_the_client_sets_none(dep_http, runtime, token):
    # given the site at Developer and the client following the site
    _set_site(runtime, "response_debug", "developer")
    body = _ask(dep_http, token, "{ probe_gadget { old_name } }")
    assert body["extensions"] == {
        "deprecation_warnings": {"probe_gadget": {"old_name": OLD_REASON}}
    }


def test_client_none_level_overrides_a_developer_site(dep_http, runtime, client, token):
    _set_site(runtime, "response_debug", "developer")
    _set_client_level(runtime, client, "none")
    assert "extensions" not in _ask(dep_http, token, "{ probe_gadget { old_name } }")


# --- which fields count -----------------------------------------------------------------------
@pytest.mark.usefixtures("developer")
def test_no_deprecated_field_selected_means_no_key(dep_http, token):
    body = _ask(dep_http, token, "{ probe_gadget { current part { label } } }")
    assert "extensions" not in body


@pytest.mark.usefixtures("developer")
def test_a_field_resolved_many_times_is_named_once(dep_http, token):
    # given a list of three gadgets, and the field asked for twice under two aliases
    query = "{ probe_gadgets { old_name again: old_name } }"
    body = _ask(dep_http, token, query)
    assert body["extensions"]["deprecation_warnings"] == {"probe_gadget": {"old_name": OLD_REASON}}


@pytest.mark.usefixtures("developer")
def test_types_and_fields_are_listed_in_the_order_they_first_ran(dep_http, token):
    # given a nested deprecated field asked for before two of its parent's
    query = "{ probe_gadget { part { legacy_label } older old_name } }"
    warnings = _ask(dep_http, token, query)["extensions"]["deprecation_warnings"]
    # then the order is the executor's, depth first: the nested field ran first
    assert list(warnings) == ["probe_part", "probe_gadget"]
    assert list(warnings["probe_gadget"]) == ["older", "old_name"]
    assert warnings["probe_part"] == {"legacy_label": "Use label."}


@pytest.mark.usefixtures("developer")
@pytest.mark.parametrize(
    "query",
    [
        "{ probe_gadget { current old_name @skip(if: true) } }",
        "{ probe_gadget { current old_name @include(if: false) } }",
        "query ($skip: Boolean!) { probe_gadget { current old_name @skip(if: $skip) } }",
        "{ probe_no_gadget { old_name } }",
        "{ probe_gadget { current ... on probe_gadget @skip(if: true) { older } } }",
        "{ probe_named { ... on probe_place { name } } }",
    ],
)
def test_fields_that_never_run_are_not_reported(dep_http, token, query):
    body = _ask(dep_http, token, query, variables={"skip": True})
    assert "extensions" not in body, body


@pytest.mark.usefixtures("developer")
def test_fields_reached_through_fragments_and_interfaces_are_reported(dep_http, token):
    query = """
      { probe_named { name } probe_gadget { ...bits } }
      fragment bits on probe_gadget { older }
    """
    warnings = _ask(dep_http, token, query)["extensions"]["deprecation_warnings"]
    assert warnings == {
        "probe_person": {"name": "Use full_name."},
        "probe_gadget": {"older": DEFAULT_REASON},
    }


@pytest.mark.usefixtures("developer")
def test_deprecated_root_fields_and_input_fields_are_not_reported_as_in_totara(dep_http, token):
    query = '{ probe_old_root probe_gadget(filter: {kind: "x"}) { current } }'
    body = _ask(dep_http, token, query)
    assert body["data"]["probe_old_root"] == "still here"
    assert "extensions" not in body


@pytest.mark.usefixtures("developer")
def test_a_deprecated_field_that_fails_is_still_reported(dep_http, token):
    body = _ask(dep_http, token, "{ probe_gadget { failing } }")
    assert body["errors"][0]["path"] == ["probe_gadget", "failing"]
    assert body["extensions"]["deprecation_warnings"] == {"probe_gadget": {"failing": "Gone soon."}}
    assert list(body) == ["errors", "data", "extensions", "error"]


@pytest.mark.usefixtures("developer")
@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"query": "{ probe_gadget { old_name nope } }"}, "invalid document"),
        ({"query": "{ probe_gadget { old_name }"}, "syntax error"),
        ({"query": "query ($n: Int!) { probe_gadget { old_name } }"}, "missing variable"),
        ({"query": "{ probe_gadget { old_name } }", "operationName": "Other"}, "unknown operation"),
        ({"query": "{ probe_gadget { old_name } }", "variables": "[1"}, "malformed variables"),
    ],
)
def test_requests_refused_before_execution_carry_no_warnings(dep_http, token, body, why):
    answer = graphql(dep_http, token, body).json()
    assert answer["errors"], why
    assert "extensions" not in answer, why


@pytest.mark.usefixtures("developer")
def test_an_unauthenticated_request_carries_no_warnings(dep_http):
    body = graphql(dep_http, "not-a-token", {"query": "{ probe_gadget { old_name } }"}).json()
    assert "extensions" not in body


# --- batches and other extensions -------------------------------------------------------------
@pytest.mark.usefixtures("developer")
def test_every_result_of_a_batch_carries_the_whole_requests_warnings(dep_http, token):
    # given a batch where only the second operation selects a deprecated field
    batch = [
        {"query": "{ probe_gadget { current } }"},
        {"query": "{ probe_gadget { older } }"},
        {"query": "{ nope }"},
    ]
    body = graphql(dep_http, token, batch).json()
    # then, as in Totara (one execution context per request), each result carries them all
    expected = {"probe_gadget": {"older": DEFAULT_REASON}}
    assert [item["extensions"]["deprecation_warnings"] for item in body] == [expected] * 3


@pytest.mark.usefixtures("developer")
def test_a_batch_without_deprecated_fields_has_no_key(dep_http, token):
    batch = [{"query": "{ probe_gadget { current } }"}, {"query": "{ probe_old_root }"}]
    assert all("extensions" not in item for item in graphql(dep_http, token, batch).json())


@pytest.mark.usefixtures("developer")
def test_warnings_come_before_the_perfdebug_reports(dep_http, runtime, token):
    _set_site(runtime, "perfdebug", "1")
    body = _ask(dep_http, token, "{ probe_gadget { old_name } }")
    assert list(body["extensions"]) == [
        "deprecation_warnings",
        "complexity_data",
        "performance_data",
    ]


# --- the per-document decision ----------------------------------------------------------------
def test_the_live_schema_deprecates_nothing_so_no_document_is_walked():
    index = DeprecationIndex(build_schema())
    assert index.reasons == {}
    assert index.selected(parse("{ totara_webapi_status { status } }")) == {}


def test_cached_documents_know_which_deprecated_fields_they_may_run(deprecating_schema):
    cache = DocumentCache(deprecating_schema)
    query = """
      { probe_named { name } probe_gadget { current ...bits } probe_old_root }
      fragment bits on probe_gadget { older part { label } }
    """
    checked = cache.get(query, False, 15)
    assert checked.deprecated == {
        ("probe_person", "name"): "Use full_name.",
        ("probe_gadget", "older"): DEFAULT_REASON,
    }
    assert cache.get("{ probe_gadget { current } }", False, 15).deprecated == {}
    assert cache.get("{ probe_gadget { old_name nope } }", False, 15).deprecated == {}
