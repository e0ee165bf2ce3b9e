"""A real uvicorn server in a background thread of the calling process, on a free port.

The socket is bound before uvicorn starts and handed to it, so no other process can take the
port between choosing and listening. :func:`start_in_thread` returns once the server answers
``/healthz``; :meth:`ThreadedServer.stop` asks uvicorn to shut down and joins the thread.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import uvicorn

from extapi.app import ExtapiApp
from extapi.errors import ExtapiError

__all__ = ["ThreadedServer", "start_in_thread", "SandboxStartError"]

STARTUP_SECONDS = 30.0


class SandboxStartError(ExtapiError):
    """The sandbox server did not come up."""


@dataclass
class ThreadedServer:
    server: uvicorn.Server
    thread: threading.Thread
    sock: socket.socket
    base_url: str
    errors: list[BaseException] = field(default_factory=list)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=STARTUP_SECONDS)
        self.sock.close()


def _bound_socket(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _wait_until_up(started: ThreadedServer) -> None:
    """Poll ``/healthz`` until it answers 200; fail if the thread dies or time runs out."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if not started.thread.is_alive():
            reason = started.errors[0] if started.errors else "no error was raised"
            raise SandboxStartError(f"The sandbox server stopped while starting: {reason}")
        if started.server.started:
            try:
                with urllib.request.urlopen(
                    f"{started.base_url}/healthz", timeout=STARTUP_SECONDS
                ) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
        time.sleep(0.005)
    started.stop()
    raise SandboxStartError(f"The sandbox server did not answer within {STARTUP_SECONDS:g} s.")


def start_in_thread(app: ExtapiApp, host: str = "127.0.0.1") -> ThreadedServer:
    """Serve ``app`` on a free port of ``host`` and return once it answers."""
    sock = _bound_socket(host)
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        ws="none",
        access_log=False,
        log_level="warning",
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported by _wait_until_up or by stop()
            errors.append(exc)

    thread = threading.Thread(target=run, name=f"extapi-sandbox-{port}", daemon=True)
    started = ThreadedServer(server, thread, sock, f"http://{host}:{port}", errors)
    thread.start()
    _wait_until_up(started)
    return started
