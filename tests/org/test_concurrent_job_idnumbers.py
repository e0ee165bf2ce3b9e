"""Many simultaneous creates of one user's job assignments with the same idnumber, against the
real server with two worker processes, on SQLite and on PostgreSQL: one is kept, every other
request gets Totara's message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from extapi.config import Config
from extapi.db.tables import job_assignments
from extapi.runtime import Runtime
from tests.factories import make_api_client, make_user
from tests.support.race import race
from tests.support.server import LiveServer, start_server

RACERS = 20
CREATE = """
mutation ($input: totara_job_create_job_assignment_input!) {
  totara_job_create_job_assignment(input: $input) { job_assignment { id } }
}
"""
ONE = """
query ($target: totara_job_job_assignment_reference!) {
  totara_job_job_assignment(target_job: $target) { found job_assignment { id } }
}
"""
TAKEN = "Tried to create job assignment idnumber which is not unique for this user"


@pytest.fixture
def server(config: Config, runtime: Runtime, tmp_path: Path) -> Iterator[LiveServer]:
    with start_server(config, tmp_path, workers=2) as live:
        yield live


def _create(holder: int, idnumber: str) -> dict[str, Any]:
    new = {"user": {"id": holder}, "idnumber": idnumber, "fullname": f"Job {idnumber}"}
    return {"query": CREATE, "variables": {"input": new}}


def _idnumbers(runtime: Runtime, holder: int) -> list[str]:
    query = select(job_assignments.c.idnumber).where(job_assignments.c.user_id == holder)
    with runtime.engine.connect() as conn:
        return [str(v) for v in conn.execute(query).scalars()]


@pytest.mark.parametrize(
    "idnumbers",
    [
        pytest.param(["JOB-1"] * RACERS, id="the same text"),
        # "5", "05", "005" ...: different texts that Totara compares as the same number
        pytest.param(["0" * n + "5" for n in range(RACERS)], id="equal numbers"),
    ],
)
def test_one_of_many_simultaneous_job_assignment_creates_wins(runtime, server, idnumbers):
    # given a holder and a client of a server with two workers
    holder = make_user(runtime)
    client = make_api_client(runtime)
    token = server.token(client.client_id, client.secret)
    # when many requests give the holder a job assignment with one idnumber, all at once
    answers = race(server.graphql_url, token, [_create(holder, i) for i in idnumbers])
    # then none fails with a server error, one wins and every other gets Totara's message
    assert [a.status for a in answers] == [200] * RACERS
    winners = [a for a in answers if a.succeeded]
    assert len(winners) == 1, [a.body for a in answers]
    assert {a.reason for a in answers if not a.succeeded} == {TAKEN}
    # and the holder has exactly one assignment, found by its idnumber afterwards
    stored = _idnumbers(runtime, holder)
    assert len(stored) == 1
    target = {"idnumber": stored[0], "user": {"id": holder}}
    found = race(server.graphql_url, token, [{"query": ONE, "variables": {"target": target}}])[0]
    assert found.body["data"]["totara_job_job_assignment"] == {
        "found": True,
        "job_assignment": winners[0].body["data"]["totara_job_create_job_assignment"][
            "job_assignment"
        ],
    }
