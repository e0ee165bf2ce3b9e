"""Many simultaneous creates of users with the same username, e-mail address or idnumber,
against the real server with two worker processes, on SQLite and on PostgreSQL: the database
keeps exactly one, and every other request gets Totara's duplicate message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from extapi.config import Config
from extapi.db.tables import users
from extapi.runtime import Runtime
from tests.factories import make_api_client
from tests.support.race import race
from tests.support.server import LiveServer, start_server

RACERS = 20
CREATE = """
mutation create_user($input: core_user_create_user_input!) {
  core_user_create_user(input: $input) { user { id } }
}
"""
UPDATE = """
mutation update_user($target: core_user_user_reference!) {
  core_user_update_user(target_user: $target, input: {city: "Found"}) { user { id city } }
}
"""
SHARED = {"username": "samename", "email": "same@example.com", "idnumber": "SAME-1"}
MESSAGES = {
    "username": "Username already exists: samename",
    "email": "Email address already exists: same@example.com",
    "idnumber": "Idnumber already exists: SAME-1",
    # the same request sent many times (a client retrying): Totara names the username first
    "all": "Username already exists: samename",
}


@pytest.fixture
def server(config: Config, runtime: Runtime, tmp_path: Path) -> Iterator[LiveServer]:
    with start_server(config, tmp_path, workers=2) as live:
        yield live


def _racer(number: int, field: str) -> dict[str, Any]:
    """A new user whose ``field`` is the shared value and whose other identifiers are its own."""
    own = {
        "username": f"racer{number}",
        "email": f"racer{number}@example.com",
        "idnumber": f"RACER-{number}",
    }
    shared = SHARED if field == "all" else {field: SHARED[field]}
    new = {**own, **shared, "firstname": "Race", "lastname": f"Runner {number}"}
    return {"query": CREATE, "variables": {"input": {**new, "password": "Passw0rd!"}}}


def _holders(runtime: Runtime, field: str) -> int:
    field = "username" if field == "all" else field
    column = getattr(users.c, field)
    query = select(func.count()).select_from(users).where(column == SHARED[field])
    with runtime.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


@pytest.mark.parametrize("field", ["username", "email", "idnumber", "all"])
def test_one_of_many_simultaneous_creates_wins(runtime, server, field):
    # given a client of a server with two workers
    client = make_api_client(runtime)
    token = server.token(client.client_id, client.secret)
    # when many requests create users sharing one identifier, all at once
    answers = race(server.graphql_url, token, [_racer(n, field) for n in range(RACERS)])
    # then every request is answered, none with a server error
    assert [a.status for a in answers] == [200] * RACERS
    # and exactly one user was created; every other request got Totara's duplicate message
    winners = [a for a in answers if a.succeeded]
    losers = [a for a in answers if not a.succeeded]
    assert len(winners) == 1, [a.body for a in answers]
    assert {a.reason for a in losers} == {MESSAGES[field]}
    for loser in losers:
        error = loser.body["errors"][0]
        assert (error["message"], error["extensions"]["category"]) == (
            "Internal server error",
            "internal",
        )
    assert _holders(runtime, field) == 1
    # and the winner is found by that identifier afterwards
    by = "username" if field == "all" else field
    found = race(
        server.graphql_url,
        token,
        [{"query": UPDATE, "variables": {"target": {by: SHARED[by]}}}],
    )[0]
    assert found.succeeded, found.body
    user = found.body["data"]["core_user_update_user"]["user"]
    assert user == {
        "id": winners[0].body["data"]["core_user_create_user"]["user"]["id"],
        "city": "Found",
    }
