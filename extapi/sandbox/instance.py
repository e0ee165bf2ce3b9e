"""A throwaway extapi: a seeded SQLite database served by a real server on a free port.

Starting is fast after the first time in a process: the migrated schema is kept as a template
file, and each seed file is applied once to a copy of it, kept as that seed's snapshot. A new
sandbox is a file copy of the snapshot; :meth:`Sandbox.reset` restores the snapshot into the
live database with SQLite's backup API and moves the site revision past anything the server
has seen, so its caches (tokens, settings) are dropped on the next request. Client secrets
survive a reset because the snapshot holds their hashes and every sandbox hashes with the
same fixed key.
"""

from __future__ import annotations

import atexit
import json
import shutil
import sqlite3
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from graphql import GraphQLSchema
from sqlalchemy import Engine

from extapi.app import GRAPHQL_PATH, ExtapiApp
from extapi.auth.metadata import TOKEN_PATH
from extapi.auth.secrets import SecretHasher
from extapi.config import Config
from extapi.db.engine import make_engine
from extapi.graphql.schema import build_schema
from extapi.runtime import Runtime, open_database
from extapi.sandbox.seed import EXAMPLE_SEED, SeededClient, SeedError, apply_seed, load_seed
from extapi.sandbox.server import ThreadedServer, start_in_thread

__all__ = ["Sandbox", "running", "SANDBOX_KEY"]

# Every sandbox database hashes client secrets with this key, so a snapshot's clients work in
# any sandbox of the process. Sandboxes are for tests only: the key is not a secret.
SANDBOX_KEY = "extapi-sandbox-not-secret"


@dataclass(frozen=True)
class _Snapshot:
    path: Path
    clients: dict[str, SeededClient]


class _Store:
    """Per-process files: the migrated template and one snapshot per seed file version."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dir: Path | None = None
        self._template: Path | None = None
        self._snapshots: dict[tuple[str, int, int], _Snapshot] = {}
        self._schema: GraphQLSchema | None = None

    def _directory(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="extapi-sandbox-"))
            atexit.register(shutil.rmtree, self._dir, True)
        return self._dir

    def schema(self) -> GraphQLSchema:
        with self._lock:
            if self._schema is None:
                self._schema = build_schema()
            return self._schema

    def _migrated_template(self) -> Path:
        if self._template is None:
            path = self._directory() / "template.db"
            engine = open_database(Config(database_url=f"sqlite:///{path}"))
            _checkpoint_and_dispose(engine)
            self._template = path
        return self._template

    def snapshot(self, seed: Path) -> _Snapshot:
        """The seeded snapshot for this version of ``seed``, made on first use."""
        try:
            stat = seed.stat()
        except OSError as exc:
            raise SeedError(f"Can not read the seed file {seed}: {exc.strerror}") from None
        key = (str(seed.resolve()), stat.st_mtime_ns, stat.st_size)
        with self._lock:
            found = self._snapshots.get(key)
            if found is not None:
                return found
            checked = load_seed(seed)
            path = self._directory() / f"seed-{len(self._snapshots) + 1}.db"
            shutil.copyfile(self._migrated_template(), path)
            engine = make_engine(f"sqlite:///{path}")
            try:
                with engine.begin() as conn:
                    clients = apply_seed(conn, SecretHasher(SANDBOX_KEY.encode()), checked)
            except BaseException:
                engine.dispose()
                path.unlink(missing_ok=True)
                raise
            _checkpoint_and_dispose(engine)
            found = self._snapshots[key] = _Snapshot(path, clients)
            return found


def _checkpoint_and_dispose(engine: Engine) -> None:
    """Fold the write-ahead log into the main file, so that the file alone is the database."""
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


_STORE = _Store()


def _restore(snapshot: Path, live: Path) -> None:
    """Copy the snapshot's pages into the live database, then move the site revision past
    both the live one and the snapshot's, so no cache keyed by revision survives."""
    source = sqlite3.connect(snapshot)
    target = sqlite3.connect(live, timeout=30)
    try:
        (seen,) = target.execute("SELECT revision FROM site_revision WHERE id = 1").fetchone()
        source.backup(target)
        target.execute(
            "UPDATE site_revision SET revision = MAX(revision, ?) + 1 WHERE id = 1", (seen,)
        )
        target.commit()
    finally:
        target.close()
        source.close()


@dataclass
class Sandbox:
    """A running throwaway extapi and the credentials of the clients its seed created."""

    base_url: str
    seed: Path
    clients: dict[str, SeededClient]
    runtime: Runtime = field(repr=False)
    database_path: Path = field(repr=False)
    timings: dict[str, list[float]] = field(
        default_factory=lambda: {"start": [], "reset": []}, repr=False
    )
    _server: ThreadedServer | None = field(default=None, repr=False)

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}{GRAPHQL_PATH}"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}{TOKEN_PATH}"

    @property
    def client(self) -> SeededClient:
        """The seed's first client (the default credentials)."""
        if not self.clients:
            raise SeedError(f"The seed {self.seed} creates no API clients.")
        return next(iter(self.clients.values()))

    @property
    def client_id(self) -> str:
        return self.client.client_id

    @property
    def client_secret(self) -> str:
        return self.client.client_secret

    def token(self, client: str | None = None) -> str:
        """A fresh access token for the named client (default: the first one)."""
        chosen = self.clients[client] if client is not None else self.client
        form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": chosen.client_id,
                "client_secret": chosen.client_secret,
            }
        ).encode()
        # The standard library only: the sandbox needs no HTTP client package.
        with urllib.request.urlopen(self.token_url, data=form, timeout=60) as answer:
            return str(json.loads(answer.read())["access_token"])

    def reset(self, seed: str | Path | None = None) -> None:
        """Put the database back to the seed's state (another seed when one is given).

        Everything created since is gone, tokens issued since no longer work, and the
        seed's client credentials stay valid.
        """
        started = time.perf_counter()
        chosen = Path(seed).resolve() if seed is not None else self.seed
        snapshot = _STORE.snapshot(chosen)
        self.runtime.request_log.flush()
        _restore(snapshot.path, self.database_path)
        lease = self.runtime.reader.lease
        if lease is not None:  # the restore bypassed the pool: the server must read anew
            lease.void()
        if self.runtime.windows is not None:
            self.runtime.windows.close()  # the in-memory rate-limit windows start empty
        self.seed, self.clients = chosen, snapshot.clients
        self.timings["reset"].append(time.perf_counter() - started)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.runtime.close()


def _start(seed: Path, workdir: Path) -> Sandbox:
    started = time.perf_counter()
    snapshot = _STORE.snapshot(seed)
    database = workdir / "extapi.db"
    shutil.copyfile(snapshot.path, database)
    url = f"sqlite:///{database}"
    config = Config(database_url=url, secret_key=SANDBOX_KEY)
    runtime = Runtime(config, make_engine(url), SecretHasher(SANDBOX_KEY.encode()))
    try:
        server = start_in_thread(ExtapiApp(runtime, _STORE.schema()))
    except BaseException:
        runtime.close()
        raise
    sandbox = Sandbox(server.base_url, seed, snapshot.clients, runtime, database, _server=server)
    sandbox.timings["start"].append(time.perf_counter() - started)
    return sandbox


@contextmanager
def running(seed: str | Path | None = None, workdir: str | Path | None = None) -> Iterator[Sandbox]:
    """Run a sandbox for the length of a ``with`` block.

    ``seed`` is a TOML or JSON seed file (default: the example shipped in the package);
    ``workdir`` holds the database (default: a temporary directory removed afterwards).
    """
    chosen = Path(seed).resolve() if seed is not None else EXAMPLE_SEED
    with contextmanager(_workdir)(workdir) as directory:
        sandbox = _start(chosen, directory)
        try:
            yield sandbox
        finally:
            sandbox.stop()


def _workdir(given: str | Path | None) -> Iterator[Path]:
    if given is not None:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="extapi-sandbox-") as directory:
        yield Path(directory)
