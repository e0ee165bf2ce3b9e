"""Sliding-window point budgets, kept in process memory or shared through Redis.

Each budget key has three numbers: ``prev`` (points spent in the previous window), ``current``
(points spent in this window) and ``reset`` (unix time this window began). The rate at a
moment ``elapsed`` seconds into the window counts the previous window's points in proportion
to how much of it still overlaps the last 60 seconds::

    rate = round(prev * (W - elapsed) / W) + current

A window older than W is rotated when it is next touched (``prev`` takes ``current``, or 0 when
it is older than 2W, and the new window starts *now*). Halves round up, as PHP's ``round``
does, so the numbers match Totara's. Rotation is saved by every operation, reads included: it
changes no rate, but without it a blocked client's window would restart at each refused
request and never decay.

The Redis store lives in :mod:`extapi.limits.redis_windows`, loaded only when it is used.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from extapi.limits.budget import Budget, Verdict

__all__ = [
    "WINDOW_SECONDS",
    "Budget",
    "Verdict",
    "WindowStore",
    "MemoryWindowStore",
    "open_window_store",
]

WINDOW_SECONDS = 60
# A window that starts more than this far in the future came from a clock that runs ahead.
SKEW_SECONDS = 5
MEMORY_KEYS_SOFT_MAX = 10_000
REDIS_PREFIX = "extapi:rl:"
REDIS_TIMEOUT_SECONDS = 0.5
MAX_COOLDOWN_SECONDS = 30.0
# How long a deferred charge waits for a request to carry it before it is sent on its own.
CHARGE_DELAY_SECONDS = 0.01
WARNING_INTERVAL_SECONDS = 30.0

log = logging.getLogger("extapi.limits")

# Operation codes shared with the Lua script (ARGV[4]).
_CHARGE = "0"
_CHARGE_IF_FITS = "1"
_CHECK = "2"
_REFUND = "3"


class WindowStore(Protocol):
    """Where window state lives; every operation covers all its budgets atomically."""

    def check(self, budgets: Sequence[Budget], now: float) -> Verdict:
        """Allowed when every budget has room for one more point; adds nothing."""
        ...

    def charge(
        self,
        budgets: Sequence[Budget],
        points: int,
        now: float,
        require_fit: bool,
        exact: bool = False,
    ) -> Verdict:
        """Add ``points`` to every budget, or to none when ``require_fit`` and one would
        go over its limit. A store may answer a query's charge (``require_fit``) from points
        it reserved in advance, with estimated rates; ``exact`` asks for the store's own
        figures instead."""
        ...

    def charge_later(self, budgets: Sequence[Budget], points: int, now: float) -> None:
        """Add ``points`` to every budget without waiting for the store: the charge is applied
        before this process's next operation on the store, or soon after on its own."""
        ...

    def close(self) -> None:
        """Release connections; the store is not used afterwards."""
        ...


@dataclass(frozen=True, slots=True)
class _Reading:
    """One budget's window as an operation saw it, after any rotation."""

    prev: int
    current: int
    elapsed: float  # seconds into the window, never negative
    skewed: bool  # the window starts in the future: it neither blocks nor is charged
    rate: int


def _decayed(prev: int, elapsed: float) -> int:
    """The share of the previous window's points still inside the sliding minute."""
    return math.floor(prev * (WINDOW_SECONDS - elapsed) / WINDOW_SECONDS + 0.5)


def _blocks(reading: _Reading, limit: int, need: int) -> bool:
    return not reading.skewed and reading.rate + need > limit


def _retry_after(reading: _Reading, limit: int, need: int) -> int:
    """Smallest whole number of seconds (at least 1) after which ``need`` points fit, if
    nothing else is spent from the budget meanwhile.

    Inside this window the previous window's share decays. The first operation after the
    window ends rotates it (as Totara does): this window's points become the previous
    window's, counted in full at that moment, so they fit then only if the current points
    alone leave room. Otherwise the request fits once even they no longer count, two windows
    after this one began: that horizon is also the answer for a request larger than the
    whole limit, which never fits."""
    elapsed = reading.elapsed
    last_in_window = math.floor(WINDOW_SECONDS - elapsed)
    for wait in range(1, last_in_window + 1):
        if _decayed(reading.prev, elapsed + wait) + reading.current + need <= limit:
            return wait
    if reading.current + need <= limit:
        return last_in_window + 1
    return max(1, math.ceil(2 * WINDOW_SECONDS - elapsed))


def _reset_after(reading: _Reading) -> int:
    return max(0, math.ceil(WINDOW_SECONDS - reading.elapsed))


def _verdict(
    budgets: Sequence[Budget], readings: Sequence[_Reading], allowed: bool, need: int
) -> Verdict:
    """Build the verdict; when refused, ``readings`` are the untouched windows."""
    retry_after = 0
    blocking = -1
    if not allowed:
        blocking = next(i for i, r in enumerate(readings) if _blocks(r, budgets[i].limit, need))
        retry_after = _retry_after(readings[blocking], budgets[blocking].limit, need)
    return Verdict(
        allowed=allowed,
        rates=tuple(r.rate for r in readings),
        retry_after=retry_after,
        reset_after=_reset_after(readings[0]) if readings else 0,
        blocked=blocking,
    )


def _open_verdict(budgets: Sequence[Budget], known: bool = True) -> Verdict:
    """Allow with nothing spent: for no budgets at all (known), or when the store cannot be
    asked (not known)."""
    return Verdict(
        allowed=True, rates=(0,) * len(budgets), retry_after=0, reset_after=0, known=known
    )


class _Window:
    """One budget's stored window; changed only under the store's lock."""

    __slots__ = ("prev", "current", "reset")

    def __init__(self, prev: int, current: int, reset: float) -> None:
        self.prev = prev
        self.current = current
        self.reset = reset


def _rotated(stored: _Window | None, now: float) -> tuple[_Window, bool]:
    """The window as of ``now`` and whether the clock-skew guard applies to it."""
    if stored is None:
        return _Window(0, 0, now), False
    elapsed = now - stored.reset
    if elapsed < -SKEW_SECONDS:
        return stored, True
    if elapsed > WINDOW_SECONDS:
        prev = stored.current if elapsed < 2 * WINDOW_SECONDS else 0
        return _Window(prev, 0, now), False
    return stored, False


def _read(window: _Window, skewed: bool, now: float) -> _Reading:
    elapsed = max(0.0, now - window.reset)
    rate = _decayed(window.prev, elapsed) + window.current
    return _Reading(window.prev, window.current, elapsed, skewed, rate)


class MemoryWindowStore:
    """Window state in this process only, for a single server or for tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}
        self._prune_above = MEMORY_KEYS_SOFT_MAX

    def __len__(self) -> int:
        """How many budget keys are held."""
        return len(self._windows)

    def check(self, budgets: Sequence[Budget], now: float) -> Verdict:
        with self._lock:
            readings = [self._load(b.key, now) for b in budgets]
        allowed = not any(_blocks(r, b.limit, 1) for r, b in zip(readings, budgets, strict=True))
        return _verdict(budgets, readings, allowed, 1)

    def charge(
        self,
        budgets: Sequence[Budget],
        points: int,
        now: float,
        require_fit: bool,
        exact: bool = False,
    ) -> Verdict:
        # Every charge is exact here. The usual case, a charge that fits in windows that
        # exist and need no rotation, is worked out without building a reading per budget
        # (it runs on every request); anything else takes the general path below.
        with self._lock:
            windows = self._windows
            rates: list[int] = []
            first_elapsed = 0.0
            for budget in budgets:
                window = windows.get(budget.key)
                if window is None:
                    return self._charge_slowly(budgets, points, now, require_fit)
                elapsed = now - window.reset
                if not 0.0 <= elapsed <= WINDOW_SECONDS:  # due to rotate, or clock skew
                    return self._charge_slowly(budgets, points, now, require_fit)
                prev = window.prev
                rate = (_decayed(prev, elapsed) if prev else 0) + window.current + points
                if require_fit and rate > budget.limit:
                    return self._charge_slowly(budgets, points, now, require_fit)
                if not rates:
                    first_elapsed = elapsed
                rates.append(rate)
            for budget in budgets:  # every budget has room: charge them all
                windows[budget.key].current += points
        if not rates:
            return Verdict(True, (), 0, 0)
        return Verdict(True, tuple(rates), 0, max(0, math.ceil(WINDOW_SECONDS - first_elapsed)))

    def _charge_slowly(
        self, budgets: Sequence[Budget], points: int, now: float, require_fit: bool
    ) -> Verdict:
        """The general charge, reading each budget in full (caller holds the lock)."""
        readings = [self._load(b.key, now) for b in budgets]
        pairs = list(zip(readings, budgets, strict=True))
        if require_fit and any(_blocks(r, b.limit, points) for r, b in pairs):
            return _verdict(budgets, readings, False, points)
        charged = [self._add(b.key, r, points, now) for r, b in pairs]
        self._prune(now)
        return _verdict(budgets, charged, True, points)

    def charge_later(self, budgets: Sequence[Budget], points: int, now: float) -> None:
        # In memory there is nothing to wait for.
        self.charge(budgets, points, now, require_fit=False)

    def close(self) -> None:
        with self._lock:
            self._windows.clear()

    def _load(self, key: str, now: float) -> _Reading:
        """Read a key, saving its rotation if one was due (caller holds the lock)."""
        stored = self._windows.get(key)
        window, skewed = _rotated(stored, now)
        if stored is not None and window is not stored:
            self._windows[key] = window
        return _read(window, skewed, now)

    def _add(self, key: str, reading: _Reading, points: int, now: float) -> _Reading:
        if reading.skewed:
            return reading
        window, _ = _rotated(self._windows.get(key), now)
        self._windows[key] = _Window(window.prev, window.current + points, window.reset)
        return _Reading(
            reading.prev, reading.current + points, reading.elapsed, False, reading.rate + points
        )

    def _prune(self, now: float) -> None:
        """Forget windows too old to count; the threshold grows with the live keys so a
        large live set is not rescanned on every charge."""
        if len(self._windows) <= self._prune_above:
            return
        cutoff = now - 2 * WINDOW_SECONDS
        self._windows = {k: w for k, w in self._windows.items() if w.reset > cutoff}
        self._prune_above = max(MEMORY_KEYS_SOFT_MAX, 2 * len(self._windows))


def open_window_store(
    redis_url: str | None,
    prefix: str = REDIS_PREFIX,
    on_failure: Callable[[], None] | None = None,
) -> WindowStore:
    """A Redis-backed store when a URL is given, else one in process memory."""
    if redis_url:
        from extapi.limits.redis_windows import RedisWindowStore

        return RedisWindowStore(redis_url, prefix=prefix, on_failure=on_failure)
    return MemoryWindowStore()


def __getattr__(name: str) -> Any:
    """``RedisWindowStore`` is loaded on first use (see :mod:`extapi.limits.redis_windows`)."""
    if name == "RedisWindowStore":
        from extapi.limits.redis_windows import RedisWindowStore

        return RedisWindowStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
