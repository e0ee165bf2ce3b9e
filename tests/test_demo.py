"""`extapi serve --demo`: a seeded site whose printed credentials work, every time."""

from __future__ import annotations

import re

from extapi.demo import PEOPLE, SERVICE_ACCOUNT, seed_demo
from extapi.people.users import list_users
from tests.factories import TOKEN_PATH, graphql


def _credentials(text: str) -> tuple[str, str]:
    client_id = re.search(r"client_id:\s+(\S+)", text)
    secret = re.search(r"client_secret:\s+(\S+)", text)
    assert client_id and secret, text
    return client_id.group(1), secret.group(1)


def _status_with(http, client_id: str, secret: str) -> dict:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    token = http.post(TOKEN_PATH, data=form).json()["access_token"]
    return graphql(http, token, {"query": "{ totara_webapi_status { status } }"}).json()


def test_demo_seed_prints_working_credentials_and_can_run_again(runtime, http):
    # given a fresh database seeded for the demo
    with runtime.engine.begin() as conn:
        first = seed_demo(conn, runtime.hasher, "127.0.0.1", 8080)
    # then the printed credentials work, and the people exist
    client_id, secret = _credentials(first)
    assert _status_with(http, client_id, secret) == {
        "data": {"totara_webapi_status": {"status": "ok"}}
    }
    with runtime.engine.connect() as conn:
        usernames = {u["username"] for u in list_users(conn)}
    assert {p[0] for p in PEOPLE} | {SERVICE_ACCOUNT} <= usernames
    # when the demo is seeded again (a restart)
    with runtime.engine.begin() as conn:
        second = seed_demo(conn, runtime.hasher, "127.0.0.1", 8080)
    # then the same client gets a new secret that works, and the old one does not
    again_id, new_secret = _credentials(second)
    assert again_id == client_id and new_secret != secret
    assert "data" in _status_with(http, client_id, new_secret)
    assert "curl" in second


def test_demo_prints_an_admin_password_that_signs_in(runtime, http):
    # given a demo site
    with runtime.engine.begin() as conn:
        printed = seed_demo(conn, runtime.hasher, "127.0.0.1", 8080)
    password = re.search(r"username admin, password (\w+)\)", printed).group(1)
    # when the admin signs in with the printed password
    response = http.post(
        "/login", data={"username": "admin", "password": password}, follow_redirects=False
    )
    # then the admin pages open
    assert response.status_code == 303
    assert http.get("/admin/settings").status_code == 200
