"""What a worker process holds between requests: the engine, the hasher, cached settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, make_url

from extapi.access.roles import ensure_apiuser_role, sync_capabilities
from extapi.addresses import address_list
from extapi.auth.secrets import SecretHasher, load_hasher
from extapi.auth.tokens import TokenGate
from extapi.config import Config
from extapi.db.engine import is_memory_sqlite, make_engine
from extapi.db.hot import HotReader
from extapi.db.lease import RevisionLease
from extapi.db.migrate import database_revision, migrate
from extapi.limits.window import WindowStore, open_window_store
from extapi.requestlog.buffer import RequestLog, open_request_log
from extapi.settings.site import SiteSettings, ensure_theme_revision, load_site_settings
from extapi.threads import WorkerThreads

if TYPE_CHECKING:
    from extapi.ops.metrics import Metrics

__all__ = ["Runtime", "describe_database", "open_database", "open_runtime"]


def describe_database(url: str) -> str:
    """Where a database is, in words, without its password: the full path of a SQLite file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            return "an in-memory SQLite database"
        return f"the SQLite database {Path(parsed.database).resolve()}"
    return f"the PostgreSQL database {parsed.render_as_string(hide_password=True)}"


def open_database(config: Config, announce: Callable[[str], None] | None = None) -> Engine:
    """An engine on a database that is created, migrated and seeded as needed. Its pool keeps
    a connection for each worker thread and one for the token check.

    ``announce`` is told, in a sentence, when the database held no extapi tables before."""
    engine = make_engine(config.database_url, pool_size=config.worker_threads + 1)
    fresh = False
    if announce is not None:
        with engine.connect() as conn:
            fresh = database_revision(conn) is None
    migrate(engine)
    if fresh and announce is not None:
        announce(f"Created {describe_database(config.database_url)}.")
    with engine.begin() as conn:
        sync_capabilities(conn)
        ensure_apiuser_role(conn)
        ensure_theme_revision(conn)
    return engine


def thread_count(config: Config) -> int:
    """The worker threads: as configured, but one for an in-memory SQLite database, whose
    single connection every thread shares (tests only)."""
    return 1 if is_memory_sqlite(config.database_url) else config.worker_threads


def revision_lease(config: Config, engine: Engine) -> RevisionLease | None:
    """A lease on the site revision (PostgreSQL, or an SQLite file); none for an in-memory
    SQLite database, which no other process can change, or when EXTAPI_REVISION_LEASE_MS
    is 0."""
    if is_memory_sqlite(str(engine.url)) or config.revision_lease_ms <= 0:
        return None
    return RevisionLease(engine, config.revision_lease_ms / 1000.0)


def _metrics() -> Metrics:
    from extapi.ops.metrics import Metrics

    return Metrics()


class Runtime:
    """Per-process state; settings are reloaded whenever the site revision moves.

    Shared by the event loop and the worker threads: what it caches is replaced whole, never
    changed in place, so a reader sees either the old or the new value."""

    def __init__(self, config: Config, engine: Engine, hasher: SecretHasher) -> None:
        self.config = config
        self.engine = engine
        self.hasher = hasher
        # Peers whose X-Forwarded-For names the client (for the IP allow-lists).
        self.trusted_proxies = address_list(config.trusted_proxies)
        self.reader = HotReader(engine, revision_lease(config, engine))
        self.tokens = TokenGate(self.reader, hasher)
        # Prometheus metrics, only when something may read them (EXTAPI_METRICS).
        # prometheus-client is imported only then (about 1.5 MB a worker).
        self.metrics: Metrics | None = None if config.metrics is None else _metrics()
        self.windows: WindowStore | None = None
        if config.rate_limit_backend != "off":
            redis_url = config.redis_url if config.rate_limit_backend == "redis" else None
            on_failure = None if self.metrics is None else self.metrics.store_error
            self.windows = open_window_store(redis_url, config.redis_prefix, on_failure)
        self.request_log: RequestLog = open_request_log(config, engine)
        self.threads = WorkerThreads(thread_count(config))
        self._settings: tuple[int, SiteSettings] = (-1, SiteSettings())

    def settings_at(self, revision: int) -> SiteSettings:
        """Site settings as of ``revision``, reloaded only when the revision has moved."""
        known_revision, settings = self._settings
        if revision != known_revision:
            with self.engine.connect() as conn:
                settings = load_site_settings(conn)
            self._settings = (revision, settings)
        return settings

    def known_settings(self) -> SiteSettings:
        """The settings last loaded, without asking the database whether they are current."""
        return self._settings[1]

    def current_settings(self) -> SiteSettings:
        return self.settings_at(self.reader.revision())

    def close(self) -> None:
        self.threads.close()
        if self.windows is not None:
            self.windows.close()
        self.request_log.close()
        self.reader.close()
        self.engine.dispose()


def open_runtime(config: Config) -> Runtime:
    engine = open_database(config)
    with engine.begin() as conn:
        hasher = load_hasher(conn, config.secret_key)
    return Runtime(config, engine, hasher)
