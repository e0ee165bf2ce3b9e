"""Start the real ``extapi serve`` process for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from extapi.config import Config
from extapi.http import Receive, Scope, Send

__all__ = ["LiveServer", "start_server", "free_port", "cli_env", "serve_in_thread"]


@dataclass(frozen=True)
class LiveServer:
    url: str
    env: dict[str, str]

    @property
    def token_url(self) -> str:
        return f"{self.url}/totara/oauth2/token.php"

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/api/graphql.php"

    def token(self, client_id: str, client_secret: str) -> str:
        """A fresh access token from the live token endpoint."""
        response = httpx.post(
            self.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret,
            },
            timeout=60,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_env(config: Config) -> dict[str, str]:
    env = dict(os.environ)
    env["EXTAPI_DATABASE_URL"] = config.database_url
    if config.secret_key:
        env["EXTAPI_SECRET_KEY"] = config.secret_key
    if config.redis_url:
        env["EXTAPI_REDIS_URL"] = config.redis_url
        env["EXTAPI_REDIS_PREFIX"] = config.redis_prefix
    env["EXTAPI_RATE_LIMIT_BACKEND"] = config.rate_limit_backend
    env["EXTAPI_COMPILED_EXECUTION"] = config.compiled_execution
    # Tests change the database from their own process and expect the server's very next
    # request to see it, so their servers read the site revision on every request. The lease
    # (a change applies within EXTAPI_REVISION_LEASE_MS) is tested on its own, with servers
    # that set it explicitly (tests/test_invalidation_bound.py).
    env["EXTAPI_REVISION_LEASE_MS"] = "0"
    return env


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"extapi serve exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=10).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"extapi serve did not start in time:\n{log.read_text()}")


@contextmanager
def start_server(
    config: Config, workdir: Path, workers: int = 1, extra_env: dict[str, str] | None = None
) -> Iterator[LiveServer]:
    port = free_port()
    env = {**cli_env(config), **(extra_env or {})}
    log = workdir / f"server-{port}.log"
    command = [sys.executable, "-m", "extapi", "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
        yield LiveServer(url, env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def serve_in_thread(app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> Iterator[str]:
    """Serve ``app`` with uvicorn (httptools, as ``extapi serve``) from a thread of this
    process, so that a test can hold its resolvers on events; yields the base URL."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http="httptools",
        ws="none",
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the in-process server did not start")
            time.sleep(0.01)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=60)
