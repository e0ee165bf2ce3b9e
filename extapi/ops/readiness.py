"""``/readyz``: whether this worker can serve the API.

Ready means: the database answers a trivial query, the revision it records is the newest the
code knows (a worker of a new release waits for the migration), and Redis answers PING when
it holds the rate-limit windows. Each check runs in a thread of its own with its own short
timeouts, and the answer never waits longer than ``timeout``: a check still running then is
reported as not answering, and later calls wait for that same check instead of starting
another, so a hung database cannot pile up threads. The body names each check's outcome and,
for a failure, only the kind of error: never a URL, host or password.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from extapi.config import Config
from extapi.db.migrate import database_revision, head_revision

if TYPE_CHECKING:
    import redis

__all__ = ["Readiness", "CHECK_TIMEOUT_SECONDS"]

CHECK_TIMEOUT_SECONDS = 1.0
REDIS_TIMEOUT_SECONDS = 0.5
POSTGRES_CONNECT_TIMEOUT = 2  # whole seconds; libpq's smallest
POSTGRES_STATEMENT_TIMEOUT_MS = 2000

Checks = dict[str, dict[str, Any]]


def _failed(exc: BaseException) -> dict[str, Any]:
    return {"ok": False, "error": type(exc).__name__}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 1)


def _probe_engine(engine: Engine) -> tuple[Engine, bool]:
    """A connection per check, with short driver timeouts; the worker's own pool is left to
    requests. An in-memory SQLite database exists only in ``engine``, so it is used as is."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            return engine, False
        return create_engine(url, poolclass=NullPool), True
    options = f"-c statement_timeout={POSTGRES_STATEMENT_TIMEOUT_MS}"
    connect_args = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT, "options": options}
    return create_engine(url, poolclass=NullPool, connect_args=connect_args), True


class Readiness:
    def __init__(
        self, config: Config, engine: Engine, timeout: float = CHECK_TIMEOUT_SECONDS
    ) -> None:
        self.timeout = timeout
        self._engine, self._owns_engine = _probe_engine(engine)
        self._redis: redis.Redis | None = None
        if config.rate_limit_backend == "redis" and config.redis_url:
            import redis  # only then (about 3.5 MB)
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            self._redis = redis.Redis.from_url(
                config.redis_url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                retry=Retry(NoBackoff(), 0),
            )
        self._threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="extapi-readyz")
        self._running: dict[str, Future[Checks]] = {}
        self._lock = threading.Lock()

    async def report(self) -> tuple[bool, dict[str, Any]]:
        """Run the checks; returns whether all passed, and the body to answer with."""
        jobs = [self._bounded("database", lambda: self.check_database(), self._database_late)]
        if self._redis is not None:
            jobs.append(self._bounded("redis", lambda: self.check_redis(), self._redis_late))
        checks: Checks = {}
        for part in await asyncio.gather(*jobs):
            checks.update(part)
        ready = all(check["ok"] for check in checks.values())
        return ready, {"status": "ready" if ready else "not ready", "checks": checks}

    def check_database(self) -> Checks:
        started = time.perf_counter()
        try:
            with self._engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                database = {"ok": True, "ms": _ms(started)}
                try:
                    revision = database_revision(conn)
                except Exception as exc:
                    return {"database": database, "migrations": _failed(exc)}
        except Exception as exc:
            return {
                "database": _failed(exc),
                "migrations": {"ok": False, "error": "database unavailable"},
            }
        expected = head_revision()
        if revision == expected:
            return {"database": database, "migrations": {"ok": True, "revision": revision}}
        migrations = {"ok": False, "revision": revision, "expected": expected}
        return {"database": database, "migrations": migrations}

    def check_redis(self) -> Checks:
        assert self._redis is not None
        started = time.perf_counter()
        try:
            self._redis.ping()
        except Exception as exc:
            return {"redis": _failed(exc)}
        return {"redis": {"ok": True, "ms": _ms(started)}}

    def _database_late(self) -> Checks:
        return {
            "database": self._late(),
            "migrations": {"ok": False, "error": "database unavailable"},
        }

    def _redis_late(self) -> Checks:
        return {"redis": self._late()}

    def _late(self) -> dict[str, Any]:
        return {"ok": False, "error": f"no answer within {self.timeout:g} s"}

    async def _bounded(
        self, name: str, check: Callable[[], Checks], late: Callable[[], Checks]
    ) -> Checks:
        """``check`` in a thread, or the one still running from an earlier call; ``late()``
        when it does not finish within the timeout."""
        with self._lock:
            running = self._running.get(name)
            if running is None or running.done():
                running = self._running[name] = self._threads.submit(check)
        try:
            return await asyncio.wait_for(
                asyncio.shield(asyncio.wrap_future(running)), self.timeout
            )
        except TimeoutError:
            return late()
        except Exception as exc:  # the check itself broke: report it, never crash the probe
            return {name: _failed(exc)}

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
        if self._redis is not None:
            self._redis.close()
        if self._owns_engine:
            self._engine.dispose()
