"""Bounded fuzzing of the GraphQL endpoint with documents generated from the live schema.

hypothesis-graphql builds queries and mutations from the schema the server runs: valid ones
(every argument of the right type, custom scalars filled with hostile values: huge integers,
NUL characters, any text) and, in negative mode, ones that break the schema in one place. A
fixed number of examples runs, derandomised so that CI sees the same documents every time.
Whatever comes in, the answer must be Totara's envelope: JSON with ``data`` or ``errors``,
never a server error, never a plain-text body, never an unexpected internal failure.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

from extapi.graphql.schema import build_schema
from extapi.runtime import Runtime
from extapi.settings.site import set_setting
from tests.factories import GRAPHQL_PATH, fetch_token, make_api_client, make_user
from tests.support.fuzzing import derandomised

SCHEMA = build_schema()
HUGE = 2**64


def TEXT(max_size: int) -> st.SearchStrategy[str]:
    """Any text a client can put in a GraphQL string literal: control characters are a
    syntax error there (tested elsewhere), so they would only crowd out the rest."""
    alphabet = st.characters(blacklist_categories=("Cc", "Cs"))
    return st.text(alphabet=alphabet, max_size=max_size)


SCALARS = {
    "core_id": st.one_of(
        st.integers(min_value=-HUGE, max_value=HUGE).map(nodes.Int),
        TEXT(24).map(nodes.String),
    ),
    "core_date": st.one_of(
        st.integers(min_value=-HUGE, max_value=HUGE).map(nodes.Int),
        TEXT(32).map(nodes.String),
    ),
    "param_integer": st.integers(min_value=-HUGE, max_value=HUGE).map(nodes.Int),
    "param_email": st.one_of(st.emails().map(nodes.String), TEXT(48).map(nodes.String)),
    "param_username": TEXT(48).map(nodes.String),
    "param_text": TEXT(120).map(nodes.String),
}
FUZZ = derandomised(120)


@pytest.fixture
def fuzz_token(runtime: Runtime, http: Any) -> str:
    """A client that may do everything the schema offers, on a site that shows every
    reason (Developer level) and has some people to find."""
    with runtime.engine.begin() as conn:
        set_setting(conn, "response_debug", "developer")
        set_setting(conn, "enable_introspection", "1")
    for n in range(3):
        make_user(runtime, f"fuzz{n}", idnumber=f"F{n}")
    return fetch_token(http, make_api_client(runtime))


def _post(http: Any, token: str, query: str) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return http.post(GRAPHQL_PATH, content=orjson.dumps({"query": query}), headers=headers)


def _assert_graphql_answer(response: Any, query: str) -> None:
    # never a server error, always JSON in Totara's envelope
    assert response.status_code < 500, (response.status_code, query, response.text[:500])
    assert response.headers["content-type"].startswith("application/json"), query
    body = response.json()
    assert isinstance(body, dict) and ("data" in body or "errors" in body), (query, body)
    # and no failure the server did not expect (its "Unexpected error (...)" reason)
    for error in body.get("errors") or []:
        reason = str(error.get("debugMessage", "")) + str(error.get("message", ""))
        assert "Unexpected error" not in reason, (query, error)


def _valid(mode: Mode, *, mutations: bool) -> st.SearchStrategy[object]:
    roots = SCHEMA.mutation_type if mutations else SCHEMA.query_type
    assert roots is not None
    return from_schema(
        SCHEMA, fields=list(roots.fields), custom_scalars=SCALARS, mode=mode, codec="utf-8"
    )


def test_generated_queries_get_graphql_answers(http: Any, fuzz_token: str) -> None:
    @FUZZ
    @given(query=_valid(Mode.POSITIVE, mutations=False))
    def check(query: str) -> None:
        _assert_graphql_answer(_post(http, fuzz_token, query), query)

    check()


def test_generated_mutations_get_graphql_answers(http: Any, fuzz_token: str) -> None:
    @FUZZ
    @given(query=_valid(Mode.POSITIVE, mutations=True))
    def check(query: str) -> None:
        _assert_graphql_answer(_post(http, fuzz_token, query), query)

    check()


@pytest.mark.parametrize("mutations", [False, True], ids=["queries", "mutations"])
def test_documents_that_break_the_schema_get_graphql_answers(
    http: Any, fuzz_token: str, mutations: bool
) -> None:
    @FUZZ
    @given(query=_valid(Mode.NEGATIVE, mutations=mutations))
    def check(query: str) -> None:
        _assert_graphql_answer(_post(http, fuzz_token, query), query)

    check()
