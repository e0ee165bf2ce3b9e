"""Testing hr_sync.py against a real extapi: the extapi_server fixture of extapi's plugin."""

import httpx
import pytest
from hr_sync import sync_users

USERS = "{ core_user_users { items { username custom_fields { shortname data } } } }"


def usernames_and_departments(server):
    token = server.token()  # a token for the seed's first client
    answer = httpx.post(
        server.graphql_url, json={"query": USERS}, headers={"Authorization": f"Bearer {token}"}
    ).json()
    return {
        user["username"]: {
            field["shortname"]: field["data"] for field in user["custom_fields"]
        }.get("department")
        for user in answer["data"]["core_user_users"]["items"]
    }


def test_sync_creates_each_person_with_their_department(extapi_server, tmp_path):
    people = tmp_path / "people.csv"
    people.write_text(
        "username,firstname,lastname,email,department\n"
        "chloe.martin,Chloe,Martin,chloe@example.com,Finance\n"
        "diego.alvarez,Diego,Alvarez,diego@example.com,People\n"
    )

    created = sync_users(
        people, extapi_server.base_url, extapi_server.client_id, extapi_server.client_secret
    )

    assert created == ["chloe.martin", "diego.alvarez"]
    departments = usernames_and_departments(extapi_server)
    assert departments["chloe.martin"] == "Finance"
    assert departments["diego.alvarez"] == "People"


def test_each_test_starts_from_the_seed(extapi_server):
    # The users the test above created are gone: only the seed's people are there.
    assert "chloe.martin" not in usernames_and_departments(extapi_server)
    assert usernames_and_departments(extapi_server)["ava.nguyen"] == "Engineering"


def test_a_bad_row_stops_the_sync(extapi_server, tmp_path):
    people = tmp_path / "people.csv"
    people.write_text(
        "username,firstname,lastname,email,department\n"
        "ava.nguyen,Ava,Nguyen,ava@example.com,Engineering\n"
    )

    with pytest.raises(RuntimeError, match="ava.nguyen"):
        sync_users(
            people, extapi_server.base_url, extapi_server.client_id, extapi_server.client_secret
        )
