"""kill -9 during bulk creates: every acknowledged write is there, nothing is half-written.

A real ``extapi serve`` takes a stream of batched ``core_user_create_user`` mutations, each
user with a custom profile field (two tables per user, so a half-done create would show), and
is killed with SIGKILL part-way. Afterwards the database must hold every user the server
acknowledged, each complete with its field value, and no user without one. Requests in flight
at the kill may be there or not, but whole.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import func, select

from extapi.config import Config
from extapi.db.tables import profile_data, users
from extapi.people import profile_fields
from extapi.runtime import Runtime
from tests.factories import make_api_client
from tests.support.server import LiveServer, _wait_until_up, cli_env, free_port

BATCH = 10
ACKNOWLEDGED_BEFORE_KILL = 60


Killable = tuple[LiveServer, subprocess.Popen[bytes]]


@contextmanager
def _killable_server(config: Config, workdir: Path) -> Iterator[Killable]:
    port = free_port()
    env = cli_env(config)
    log = workdir / "crash-server.log"
    command = [sys.executable, "-m", "extapi", "serve", "--port", str(port), "--workers", "1"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
        yield LiveServer(url, env), process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)


def _batch(start: int) -> list[dict[str, object]]:
    mutation = (
        "mutation ($input: core_user_create_user_input!) "
        "{ core_user_create_user(input: $input) { user { id username } } }"
    )
    return [
        {
            "query": mutation,
            "variables": {
                "input": {
                    "username": f"crash{n}",
                    "email": f"crash{n}@example.com",
                    "firstname": "Crash",
                    "lastname": f"Test {n}",
                    "generate_password": True,
                    "custom_fields": [{"shortname": "badge", "data": f"B{n}"}],
                }
            },
        }
        for n in range(start, start + BATCH)
    ]


def test_kill_9_during_bulk_creates_loses_no_acknowledged_write(
    runtime: Runtime, config: Config, tmp_path: Path
) -> None:
    # given a live server with a client allowed to create users with a custom field
    with runtime.engine.begin() as conn:
        profile_fields.add_field(conn, "badge", "Badge", "text")
    client = make_api_client(runtime)
    acknowledged: list[str] = []
    stop = threading.Event()
    errors: list[str] = []
    with _killable_server(config, tmp_path) as (server, process):
        token = server.token(client.client_id, client.secret)

        def write() -> None:
            start = 0
            with httpx.Client(timeout=120) as http:
                while not stop.is_set():
                    try:
                        response = http.post(
                            server.graphql_url,
                            json=_batch(start),
                            headers={"Authorization": f"Bearer {token}"},
                        )
                    except httpx.HTTPError:
                        return  # the server is gone: what was in flight is unknown
                    for answer in response.json():
                        created = (answer.get("data") or {}).get("core_user_create_user")
                        if created is None:
                            errors.append(str(answer.get("errors")))
                        else:
                            acknowledged.append(created["user"]["username"])
                    start += BATCH

        writer = threading.Thread(target=write)
        writer.start()
        # when the server is killed with SIGKILL once enough creates are acknowledged
        # (polled with a generous deadline: a busy machine only makes this slower)
        deadline = time.monotonic() + 600
        while len(acknowledged) < ACKNOWLEDGED_BEFORE_KILL and writer.is_alive() and not errors:
            assert time.monotonic() < deadline, "the writer made no progress"
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        stop.set()
        writer.join(timeout=120)
    assert not errors, errors[:3]
    assert len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL
    # then every acknowledged user is stored, and every stored user is whole
    with runtime.engine.connect() as conn:
        stored = set(
            conn.execute(select(users.c.username).where(users.c.username.like("crash%"))).scalars()
        )
        with_badge = conn.execute(
            select(func.count())
            .select_from(users.join(profile_data, profile_data.c.user_id == users.c.id))
            .where(users.c.username.like("crash%"))
        ).scalar_one()
    assert set(acknowledged) <= stored
    assert with_badge == len(stored)
    # and the database is usable again by a new server
    with _killable_server(config, tmp_path) as (server, _process):
        assert httpx.get(f"{server.url}/healthz", timeout=60).status_code == 200
