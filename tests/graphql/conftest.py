"""An app whose schema carries probe fields, to exercise error handling and scalars."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from extapi.app import ExtapiApp
from extapi.errors import ClientSafeError, ValidationError
from extapi.graphql.schema import RESOLVERS, assemble_schema, schema_sdl
from extapi.runtime import Runtime

PROBE_SDL = """
extend type Query {
  probe_fail(kind: String!): String
  probe_required: String!
  probe_echo(id: core_id, when: core_date, n: param_integer, email: param_email,
             name: param_username, text: param_text): String
}
"""


def _fail(_root: Any, _info: Any, kind: str) -> str:
    if kind == "domain":
        raise ValidationError("Username already exists: jdoe")
    if kind == "safe":
        raise ClientSafeError("You may see this", category="query_complexity")
    raise RuntimeError("SELECT secret FROM somewhere")


def _required(_root: Any, _info: Any) -> str:
    raise ValidationError("Required field failed")


def _echo(_root: Any, _info: Any, **args: Any) -> str:
    return repr(sorted(args.items()))


PROBE_RESOLVERS = {
    **RESOLVERS,
    "Query.probe_fail": _fail,
    "Query.probe_required": _required,
    "Query.probe_echo": _echo,
}


@pytest.fixture
def probe_http(runtime: Runtime) -> Iterator[TestClient]:
    schema = assemble_schema(schema_sdl() + PROBE_SDL, PROBE_RESOLVERS)
    with TestClient(ExtapiApp(runtime, schema)) as client:
        yield client
