"""``extapi.sandbox.running``: the context manager behind the plugin, for any test runner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from extapi.sandbox import Sandbox, SeedError, running
from extapi.settings.site import set_setting

STATUS = {"query": "{ totara_webapi_status { status } }"}
OK = {"data": {"totara_webapi_status": {"status": "ok"}}}
BAD_NAME = {**STATUS, "operationName": "bad-name"}
USERS = {"query": "{ core_user_users { items { username } } }"}


def _ask(sandbox: Sandbox, token: str, body: dict[str, Any]) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.post(sandbox.graphql_url, json=body, headers=headers).json()


def _usernames(sandbox: Sandbox, token: str) -> set[str]:
    items = _ask(sandbox, token, USERS)["data"]["core_user_users"]["items"]
    return {item["username"] for item in items}


def _create(sandbox: Sandbox, token: str, username: str) -> None:
    mutation = (
        "mutation($i: core_user_create_user_input!) "
        "{ core_user_create_user(input: $i) { user { id } } }"
    )
    person = {
        "username": username,
        "firstname": "New",
        "lastname": "Person",
        "email": f"{username}@example.com",
        "generate_password": True,
    }
    answer = _ask(sandbox, token, {"query": mutation, "variables": {"i": person}})
    assert "errors" not in answer, answer


@pytest.fixture
def sandbox(tmp_path: Path) -> Any:
    with running(workdir=tmp_path) as started:
        yield started


def test_the_seed_clients_credentials_work_on_the_real_server(sandbox: Sandbox) -> None:
    # given a sandbox on the example seed
    # when its first client asks for a token with the yielded credentials
    response = httpx.post(
        sandbox.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        },
    )
    # then the token works on the GraphQL endpoint, and the seed's people are there
    token = response.json()["access_token"]
    assert _ask(sandbox, token, STATUS) == OK
    assert {"ava.nguyen", "ben.okafor"} <= _usernames(sandbox, token)
    assert sandbox.clients["HR sync"].client_id == sandbox.client_id


def test_reset_removes_changes_and_tokens_but_keeps_credentials(sandbox: Sandbox) -> None:
    # given a user created through the API, and a changed site setting
    token = sandbox.token()
    _create(sandbox, token, "zoe.temp")
    with sandbox.runtime.engine.begin() as conn:
        set_setting(conn, "response_debug", "0")
    assert "zoe.temp" in _usernames(sandbox, token)
    assert "debugMessage" not in _ask(sandbox, token, BAD_NAME)["errors"][0]
    # when the sandbox is reset
    sandbox.reset()
    # then the token issued before the reset is refused (no cached row survives)
    assert "errors" in _ask(sandbox, token, STATUS)
    # and the same client secret gets a new token, which sees only the seed's users
    fresh = sandbox.token()
    assert "zoe.temp" not in _usernames(sandbox, fresh)
    # and the setting is back to the seed's (errors show their reason again)
    assert "debugMessage" in _ask(sandbox, fresh, BAD_NAME)["errors"][0]


def test_a_token_cached_by_the_server_does_not_survive_a_reset(sandbox: Sandbox) -> None:
    # given a token the server has just accepted (and cached), with nothing else changed
    token = sandbox.token()
    assert _ask(sandbox, token, STATUS) == OK
    # when the sandbox is reset to the same seed, whose revision the server has seen before
    sandbox.reset()
    # then the server drops its cache and refuses the token, which the reset deleted
    assert "errors" in _ask(sandbox, token, STATUS)


def test_reset_can_switch_to_another_seed(sandbox: Sandbox, tmp_path: Path) -> None:
    # given another seed with its own client
    other = tmp_path / "other.toml"
    other.write_text('[[clients]]\nname = "Other"\n')
    # when the sandbox is reset to it
    sandbox.reset(other)
    # then its client is the default one and the example's people are gone
    assert list(sandbox.clients) == ["Other"]
    assert _usernames(sandbox, sandbox.token()) == {"other.service"}


def test_later_sandboxes_start_from_the_cached_snapshot(tmp_path: Path) -> None:
    # given a sandbox started and stopped once
    with running(workdir=tmp_path / "one") as first:
        first_url = first.base_url
    # when another starts on the same seed
    with running(workdir=tmp_path / "two") as second:
        # then it has its own port, the same seeded credentials, and a start time recorded
        assert second.base_url != first_url
        assert second.client_secret == first.client_secret
        assert _ask(second, second.token(), STATUS) == OK
        print(f"later start: {second.timings['start'][0] * 1000:.0f} ms")
    # and the stopped server no longer answers
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{second.base_url}/healthz")


def test_a_bad_seed_is_refused_before_any_server_starts(tmp_path: Path) -> None:
    # given a seed whose client belongs to a tenant that does not exist
    bad = tmp_path / "bad.toml"
    bad.write_text('[[clients]]\nname = "Lost"\ntenant = "nowhere"\n')
    # when a sandbox is started on it
    # then the error names the entry and the reason
    with (
        pytest.raises(SeedError, match=r"clients\[0\] \(Lost\): Tenant 'nowhere' does not exist"),
        running(seed=bad, workdir=tmp_path),
    ):
        pass
