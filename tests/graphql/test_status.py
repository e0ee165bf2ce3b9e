"""totara_webapi_status: the connectivity check, its timestamp and its formats."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from extapi.db.tables import users
from extapi.settings.site import set_setting
from tests.factories import fetch_token, graphql, make_api_client


@pytest.fixture
def client(runtime):
    return make_api_client(runtime)


def _status(http, token, fields: str) -> dict:
    body = graphql(http, token, {"query": f"{{ totara_webapi_status {{ {fields} }} }}"}).json()
    return body["data"]["totara_webapi_status"]


def test_timestamp_defaults_to_unix_seconds_as_a_string(http, client):
    token = fetch_token(http, client)
    before = int(time.time())
    result = _status(http, token, "status timestamp")
    assert result["status"] == "ok"
    assert isinstance(result["timestamp"], str)
    assert before <= int(result["timestamp"]) <= int(time.time())


@pytest.mark.parametrize(
    ("fmt", "pattern"),
    [
        ("TIMESTAMP", r"^\d+$"),
        ("ISO8601", r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$"),
        ("DATELONG", r"^\d{1,2}/\d\d/\d{4}$"),
        ("DATETIMESHORT", r"^\d{1,2}/\d\d/\d\d, \d\d:\d\d$"),
        ("TIME", r"^\d{1,2}:\d\d [AP]M$"),
        ("TIMESHORT", r"^\d\d:\d\d$"),
    ],
)
def test_every_format_renders(http, client, fmt, pattern):
    import re

    token = fetch_token(http, client)
    result = _status(http, token, f"timestamp(format: {fmt})")
    assert re.match(pattern, result["timestamp"]), result


def test_iso8601_uses_the_site_timezone_for_accounts_without_their_own(runtime, http, client):
    with runtime.engine.begin() as conn:
        set_setting(conn, "timezone", "Asia/Kolkata")
    token = fetch_token(http, client)
    assert _status(http, token, "timestamp(format: ISO8601)")["timestamp"].endswith("+0530")


def test_iso8601_uses_the_service_accounts_timezone(runtime, http, client):
    with runtime.engine.begin() as conn:
        conn.execute(
            update(users).where(users.c.id == client.user_id).values(timezone="America/Bogota")
        )
    token = fetch_token(http, client)
    assert _status(http, token, "timestamp(format: ISO8601)")["timestamp"].endswith("-0500")


def test_aliases_and_several_root_fields(http, client):
    token = fetch_token(http, client)
    query = "{ a: totara_webapi_status { status } b: totara_webapi_status { s: status } }"
    body = graphql(http, token, {"query": query}).json()
    assert body == {"data": {"a": {"status": "ok"}, "b": {"s": "ok"}}}
