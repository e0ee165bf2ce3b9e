"""Cursor pagination as an iterator (10,000 users), batches, and the typed helpers."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from bench.people import prefill
from extapi.client import AsyncClient, Client, Operation
from extapi.db.tables import users
from tests.support.aio import run_async

USERS = 10_000
STATUS = "{ totara_webapi_status { status } }"


def _listed_ids(runtime) -> list[str]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            select(users.c.id).where(users.c.deleted.is_(False)).order_by(users.c.id)
        )
        return [str(r[0]) for r in rows]


def test_iterating_10000_users(runtime, live_server, api_client, database_url):
    # given 10,000 users besides the service account
    prefill(database_url, USERS)
    expected = _listed_ids(runtime)
    assert len(expected) > USERS
    requests: list[str] = []

    def record(request: httpx.Request) -> None:
        requests.append(request.url.path)

    args = (live_server.url, api_client.client_id, api_client.secret)
    with (
        httpx.Client(event_hooks={"request": [record]}, timeout=60) as http,
        Client(*args, http=http) as client,
    ):
        # when every user is read with two fields, in the largest pages the budget allows
        seen = [u for u in client.users(fields=["id", "username"])]
    # then each user came once, in id order, in ceil(n / 2997) pages
    assert [u["id"] for u in seen] == expected
    assert all(u["username"] for u in seen)
    pages = -(-len(expected) // ((6000 - 5) // 2))
    assert requests.count("/api/graphql.php") == pages


def test_async_iteration_follows_the_cursor(runtime, live_server, api_client, database_url):
    prefill(database_url, 45)
    expected = _listed_ids(runtime)
    args = (live_server.url, api_client.client_id, api_client.secret)

    async def scenario() -> list[str]:
        async with AsyncClient(*args) as client:
            return [u["id"] async for u in client.users(fields=["id"], page_size=10)]

    assert run_async(scenario()) == expected


def test_filters_and_sort_are_passed_on(runtime, client, database_url):
    prefill(database_url, 5)
    with runtime.engine.begin() as conn:
        total = conn.execute(select(func.count()).select_from(users)).scalar_one()
    newest_first = list(
        client.users(fields=["id"], page_size=2, sort=[{"column": "id", "direction": "DESC"}])
    )
    assert [int(u["id"]) for u in newest_first] == sorted(range(1, total + 1), reverse=True)
    suspended = list(client.users(fields=["id"], filters={"status": "SUSPENDED"}))
    assert suspended == []


def test_a_batch_answers_each_operation(client):
    results = client.batch(
        [
            Operation(STATUS),
            Operation(
                "query one($q: core_user_users_query) { core_user_users(query: $q) { total } }",
                {"q": {"pagination": {"limit": 1}}},
            ),
        ]
    )
    assert results[0].data == {"totara_webapi_status": {"status": "ok"}}
    assert results[1].data["core_user_users"]["total"] >= 1


def test_a_batch_keeps_errors_per_operation_when_asked(client):
    results = client.batch([STATUS, "{ nosuchquery }"], raise_errors=False)
    assert results[0].errors == []
    assert results[1].errors[0]["extensions"]["category"] == "graphql"


def test_user_and_job_assignment_helpers(client):
    # given a user made through the client
    user = client.create_user(
        fields=["id", "username", "email"],
        username="jdoe",
        email="jdoe@example.com",
        firstname="Jane",
        lastname="Doe",
        generate_password=True,
    )
    assert user["username"] == "jdoe"
    # when it is changed, given a job, and read back
    changed = client.update_user({"username": "jdoe"}, fields=["id", "city"], city="Wellington")
    assert changed == {"id": user["id"], "city": "Wellington"}
    job = client.create_job_assignment(user={"id": user["id"]}, idnumber="J1", fullname="Clerk")
    assert job["idnumber"] == "J1"
    updated = client.update_job_assignment({"id": job["id"]}, fullname="Senior clerk")
    assert updated["fullname"] == "Senior clerk"
    assert client.job_assignment({"id": job["id"]})["fullname"] == "Senior clerk"
    assert [j["id"] for j in client.job_assignments()] == [job["id"]]
    # then deleting both works, and the lookup then finds nothing
    assert client.delete_job_assignment({"id": job["id"]}) == job["id"]
    assert client.job_assignment({"id": job["id"]}) is None
    assert client.delete_user({"id": user["id"]}) == user["id"]


def test_organisation_and_position_listings(client):
    assert list(client.organisations()) == []
    assert list(client.positions(fields=["id", "fullname"], page_size=5)) == []
