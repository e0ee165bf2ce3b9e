"""``extensions.performance_data``: Totara's perfdebug report, filled with extapi's own figures.

Totara reports its framework's counters under ``core`` (caches, database, filters, memory, CPU
times, load ...). extapi keeps that shape so tools that read it keep working, and measures what
it can for itself: SQL statements and their time, wall time, memory, CPU times, load and the
worker's token cache. Parts of Totara that extapi does not have (text filters, the language
string manager, sessions) report zero or null.

Nothing here runs unless perfdebug is on: the SQL listeners are attached to an engine the first
time a measured request uses it, and they only count while a request is being measured.
"""

from __future__ import annotations

import os
import resource
import sys
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Engine, event

__all__ = ["RequestMeter", "measuring"]

_WRITES = frozenset(
    {"INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE", "TRUNCATE", "CREATE", "ALTER", "DROP"}
)
_CURRENT: ContextVar[RequestMeter | None] = ContextVar("extapi_request_meter", default=None)
_WATCHED: weakref.WeakSet[Engine] = weakref.WeakSet()
_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE_SIZE = resource.getpagesize()
# A cache definition's mode, in Totara's numbering (1 = shared by the whole application).
_APPLICATION_MODE = 1
_FILTER_NAMES = {
    "contextswithfilters": "Contexts for which filters were loaded",
    "filterscreated": "Filters created",
    "textsfiltered": "Pieces of content filtered",
    "stringsfiltered": "Strings filtered",
}


class RequestMeter:
    """The figures of one HTTP request, from its start to the moment they are reported."""

    __slots__ = ("started", "times", "memory", "reads", "writes", "db_time", "cache", "_since")

    def __init__(self, started: float) -> None:
        self.started = started
        self.times = os.times()
        self.memory = _resident_bytes()
        self.reads = 0
        self.writes = 0
        self.db_time = 0.0
        self.cache = {"hits": 0, "misses": 0, "sets": 0}
        self._since = 0.0

    def statement(self, sql: str, seconds: float) -> None:
        words = sql[:40].split(None, 1)
        if words and words[0].upper() in _WRITES:
            self.writes += 1
        else:
            self.reads += 1
        self.db_time += seconds

    def token_lookup(self, cached: bool | None, found: bool, seconds: float) -> None:
        """The request's first read: the token, from the worker's cache or the database."""
        if cached is None:  # no token: only the site revision was read
            self.statement("SELECT", seconds)
            return
        if cached:
            self.cache["hits"] += 1
        else:
            self.cache["misses"] += 1
            self.cache["sets"] += int(found)
        self.statement("SELECT", seconds)

    def report(self) -> dict[str, Any]:
        """Totara's ``performance_data`` object, its keys in Totara's order."""
        now = time.perf_counter()
        memory = _resident_bytes()
        core = {
            "cache": {
                "extapi/access_tokens": {
                    "mode": _APPLICATION_MODE,
                    "stores": {"worker_memory": dict(self.cache)},
                }
            },
            "db": {"reads": self.reads, "writes": self.writes, "time": round(self.db_time, 5)},
            "filters": {"data": dict.fromkeys(_FILTER_NAMES, 0), "names": dict(_FILTER_NAMES)},
            "includecount": len(sys.modules),
            # The request log is written after the response, off the request's path.
            "logwrites": 0,
            "memory": {"total": memory, "growth": memory - self.memory, "peak": _peak_bytes()},
            "posix_times": _posix_times(self.times, os.times()),
            "realtime": round(now - self.started, 6),
            "server_load": _server_load(),
            "session": None,
            "strings": {
                "data": {"langcountgetstring": 0},
                "names": {"langcountgetstring": "get_string calls"},
            },
        }
        return {"core": core}


@contextmanager
def measuring(meter: RequestMeter, engine: Engine) -> Iterator[RequestMeter]:
    """Count the SQL statements ``engine`` runs in this context into ``meter``."""
    _watch(engine)
    token = _CURRENT.set(meter)
    try:
        yield meter
    finally:
        _CURRENT.reset(token)


def _watch(engine: Engine) -> None:
    if engine not in _WATCHED:
        event.listen(engine, "before_cursor_execute", _before)
        event.listen(engine, "after_cursor_execute", _after)
        _WATCHED.add(engine)


def _before(
    _conn: Any, _cursor: Any, _statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    meter = _CURRENT.get()
    if meter is not None:
        meter._since = time.perf_counter()


def _after(
    _conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    meter = _CURRENT.get()
    if meter is not None:
        meter.statement(statement, time.perf_counter() - meter._since)


def _resident_bytes() -> int:
    """The process's resident memory now (Linux), else its peak."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return _peak_bytes()


def _peak_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _posix_times(start: os.times_result, end: os.times_result) -> dict[str, int] | None:
    if end.elapsed == 0:  # not measured on this platform
        return None
    pairs = (
        ("ticks", end.elapsed - start.elapsed),
        ("utime", end.user - start.user),
        ("stime", end.system - start.system),
        ("cutime", end.children_user - start.children_user),
        ("cstime", end.children_system - start.children_system),
    )
    return {name: round(seconds * _TICKS_PER_SECOND) for name, seconds in pairs}


def _server_load() -> str | None:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except (OSError, AttributeError):
        return None
