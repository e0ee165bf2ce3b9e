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
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from string import Template
from typing import Any, Protocol

import redis
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError
from redis.retry import Retry

from extapi.limits.allowance import (
    RESERVE_MARGIN_SECONDS,
    RESERVE_SECONDS,
    Allowance,
    Allowances,
    reserve_size,
    take_allowance,
)
from extapi.limits.budget import Budget, Verdict

__all__ = [
    "WINDOW_SECONDS",
    "Budget",
    "Verdict",
    "WindowStore",
    "MemoryWindowStore",
    "RedisWindowStore",
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
    """One budget's stored window; replaced whole, never changed in place."""

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
        # Every charge is exact here. The usual case, a charge that fits, is worked out
        # without building a reading per budget (it runs on every request); a refusal takes
        # the general path below.
        with self._lock:
            windows = self._windows
            rates: list[int] = []
            charged: list[tuple[str, _Window]] = []
            first_elapsed = 0.0
            for budget in budgets:
                stored = windows.get(budget.key)
                window, skewed = _rotated(stored, now)
                elapsed = now - window.reset
                if elapsed < 0.0:
                    elapsed = 0.0
                if not rates:
                    first_elapsed = elapsed
                rate = _decayed(window.prev, elapsed) + window.current
                if skewed:
                    rates.append(rate)
                    continue
                if require_fit and rate + points > budget.limit:
                    return self._charge_slowly(budgets, points, now, require_fit)
                rates.append(rate + points)
                charged.append((budget.key, window))
            for key, window in charged:  # every budget has room: charge them all
                windows[key] = _Window(window.prev, window.current + points, window.reset)
            self._prune(now)
        return Verdict(
            allowed=True,
            rates=tuple(rates),
            retry_after=0,
            reset_after=max(0, math.ceil(WINDOW_SECONDS - first_elapsed)) if rates else 0,
        )

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


# KEYS: one hash per budget. ARGV: now, window, points, operation (0 charge, 1 charge only if
# every budget has room, 2 check for one point without charging, 3 only give back points), one
# limit per key, then optionally: the points to reserve in advance (operation 1 only), the
# points to give back to every key, and per key the window start they were charged in.
# Points given back leave ``current`` (never below 0) only if the key is still in that window,
# and before anything else is read. A reserve is granted only when, with it and the charge,
# every budget stays at or under half its limit, none runs ahead of the clock and every window
# has more than the margin left; it is charged like the points.
# Replies: allowed, the points reserved, then per key rate, prev, current, elapsed (a string:
# Redis would truncate a float), skewed and reset. ``reset`` is stored as the caller's own
# string so it round-trips exactly. Operation 3 replies with just allowed and 0.
_LUA = Template("""
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local points = tonumber(ARGV[3])
local op = ARGV[4]
local n = #KEYS
local reserve = tonumber(ARGV[5 + n] or '0')
local refund = tonumber(ARGV[6 + n] or '0')
if refund > 0 then
  for i, key in ipairs(KEYS) do
    local f = redis.call('HMGET', key, 'current', 'reset')
    if f[2] and f[2] == ARGV[6 + n + i] then
      local left = (tonumber(f[1]) or 0) - refund
      if left < 0 then left = 0 end
      redis.call('HSET', key, 'current', string.format('%d', left))
    end
  end
end
if op == '3' then return {1, 0} end
local need = points
if op == '2' then need = 1 end
local windows = {}
local allowed = 1
for i, key in ipairs(KEYS) do
  local f = redis.call('HMGET', key, 'prev', 'current', 'reset')
  local w = {prev = tonumber(f[1]) or 0, current = tonumber(f[2]) or 0,
             reset = f[3] or ARGV[1], skewed = 0, dirty = false}
  local elapsed = now - tonumber(w.reset)
  if elapsed < -$skew then
    w.skewed = 1
  elseif elapsed > window then
    if elapsed < 2 * window then w.prev = w.current else w.prev = 0 end
    w.current = 0
    w.reset = ARGV[1]
    w.dirty = true
    elapsed = 0
  end
  if elapsed < 0 then elapsed = 0 end
  w.elapsed = elapsed
  w.rate = math.floor(w.prev * (window - elapsed) / window + 0.5) + w.current
  if op ~= '0' and w.skewed == 0 and w.rate + need > tonumber(ARGV[4 + i]) then
    allowed = 0
  end
  windows[i] = w
end
local charging = op == '0' or (op == '1' and allowed == 1)
local granted = 0
if op == '1' and allowed == 1 and reserve > 0 then
  granted = reserve
  for i = 1, n do
    local w = windows[i]
    if w.skewed == 1 or w.elapsed + $margin >= window
        or w.rate + points + reserve > math.floor(tonumber(ARGV[4 + i]) / 2) then
      granted = 0
    end
  end
end
local reply = {allowed, granted}
for i, key in ipairs(KEYS) do
  local w = windows[i]
  if charging and w.skewed == 0 then
    w.current = w.current + points + granted
    w.rate = w.rate + points + granted
    w.dirty = true
  end
  if w.dirty then
    redis.call('HSET', key, 'prev', string.format('%d', w.prev),
               'current', string.format('%d', w.current), 'reset', w.reset)
    redis.call('EXPIRE', key, 2 * window + 10)
  end
  table.insert(reply, w.rate)
  table.insert(reply, w.prev)
  table.insert(reply, w.current)
  table.insert(reply, string.format('%.17g', w.elapsed))
  table.insert(reply, w.skewed)
  table.insert(reply, w.reset)
end
return reply
""").substitute(skew=SKEW_SECONDS, margin=RESERVE_MARGIN_SECONDS)


@dataclass(frozen=True, slots=True)
class _Reply:
    """A script call's answer: the points reserved are counted out of the readings."""

    allowed: bool
    granted: int
    readings: list[_Reading]
    resets: list[str]


def _parse_reply(reply: Any, count: int) -> _Reply:
    """Turn the script's flat reply into the flags and one reading per budget."""
    values = list(reply)
    if len(values) != 2 + 6 * count:
        raise RedisError(f"unexpected rate limit script reply of {len(values)} items")
    granted = int(values[1])
    readings = []
    resets = []
    for i in range(count):
        rate, prev, current, elapsed, skewed, reset = values[2 + 6 * i : 8 + 6 * i]
        readings.append(
            _Reading(
                int(prev),
                int(current) - granted,
                float(elapsed),
                skewed == 1,
                int(rate) - granted,
            )
        )
        resets.append(reset.decode() if isinstance(reset, bytes) else str(reset))
    return _Reply(values[0] == 1, granted, readings, resets)


# A script call ready to send: the keys and the arguments.
_Command = tuple[list[str], list[str | int]]


class RedisWindowStore:
    """Window state shared by every server process through Redis.

    One Lua script reads, decides and writes all budgets of an operation, so concurrent
    requests cannot both take the last points. Each operation a request waits for is one
    round trip. A charge that nobody needs an answer to (a mutation's cost, once it has run)
    is not sent on its own at once: :meth:`charge_later` keeps it, and the next operation of
    this process sends it ahead of its own script call in the same round trip (Redis runs them
    in that order). When no operation comes within ``CHARGE_DELAY_SECONDS``, a background
    thread sends what is kept; an operation starting meanwhile waits for that send to land, so
    a request never overtakes a charge made before it in the same process.

    A query's charge (``require_fit``) made far from the limits also reserves a few points of
    the same budgets in advance (see :mod:`extapi.limits.allowance`): the next queries of this
    process on those budgets spend them here, with no round trip, for up to a second. Unspent
    points go back to Redis inside the next exact charge of those budgets, or from the
    background thread once the allowance has expired, or at :meth:`flush` and :meth:`close`.
    So a query waits on at most one round trip and usually on none.

    When Redis fails (refuses, errs, or accepts and never answers within the timeout) the store
    fails open: it allows the request with a verdict marked unknown, counts the miss in
    ``failures`` and logs a warning at most every 30 seconds. From then on requests do not
    touch Redis at all, so a hung server costs each worker one timeout, not one per request
    or per second: a background thread pings Redis, first after ``cooldown`` seconds and then
    at doubling intervals up to ``max_cooldown``, and the store uses Redis again once a ping
    is answered. Nothing needs restarting when Redis returns. ``on_failure`` is called once per
    operation allowed unchecked (the metrics count them). ``reserve_seconds`` is how long an
    allowance may be spent (tests lengthen it so that a slow machine cannot expire it).
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = REDIS_PREFIX,
        cooldown: float = 1.0,
        max_cooldown: float = MAX_COOLDOWN_SECONDS,
        timeout: float = REDIS_TIMEOUT_SECONDS,
        on_failure: Callable[[], None] | None = None,
        charge_delay: float = CHARGE_DELAY_SECONDS,
        reserve_seconds: float = RESERVE_SECONDS,
    ) -> None:
        self.failures = 0
        self._on_failure = on_failure
        self._prefix = prefix
        self._cooldown = cooldown
        self._max_cooldown = max(cooldown, max_cooldown)
        self._charge_delay = charge_delay
        self._pool = redis.ConnectionPool.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
        self._client = redis.Redis(connection_pool=self._pool)
        self._script = self._client.register_script(_LUA)
        self._state_lock = threading.Lock()
        self._warned_at: float | None = None
        self._failing = False
        self._closed = threading.Event()
        self._prober: threading.Thread | None = None
        # Deferred charges, and whether the background thread is sending some right now.
        self._pending: list[_Command] = []
        self._sending = False
        self._pending_changed = threading.Condition()
        self._charge_due = threading.Event()
        self._sender: threading.Thread | None = None
        self._allowances = Allowances()
        self._reserve_seconds = reserve_seconds
        # When the background thread next wakes by itself to give back expired allowances.
        self._wake_at = math.inf

    @property
    def enforcing(self) -> bool:
        """False while Redis is considered down and requests are allowed unchecked."""
        return not self._failing

    def check(self, budgets: Sequence[Budget], now: float) -> Verdict:
        return self._run(budgets, now, 0, _CHECK, need=1)

    @property
    def allowances(self) -> int:
        """How many budget sets hold points reserved in advance."""
        return len(self._allowances)

    def charge(
        self,
        budgets: Sequence[Budget],
        points: int,
        now: float,
        require_fit: bool,
        exact: bool = False,
    ) -> Verdict:
        if not require_fit or points <= 0 or not budgets:
            op = _CHARGE_IF_FITS if require_fit else _CHARGE
            return self._run(budgets, now, points, op, need=points)
        if not exact:
            spent = self._allowances.spend(budgets, points, now)
            if spent is not None:
                return spent
        return self._charge_exactly(budgets, points, now, exact)

    def _charge_exactly(
        self, budgets: Sequence[Budget], points: int, now: float, exact: bool
    ) -> Verdict:
        """A query's charge in Redis, giving back what is left of this process's allowance
        for the same keys and, unless ``exact``, taking a new one if the budgets are far
        from their limits."""
        held = self._allowances.take(budgets)
        reserve = 0 if exact else reserve_size(budgets, points)
        extra = self._reserve_args(reserve, held)
        return self._run(budgets, now, points, _CHARGE_IF_FITS, need=points, extra=extra)

    @staticmethod
    def _reserve_args(reserve: int, held: Allowance | None) -> list[str | int]:
        """The script's optional arguments: the reserve asked for, then the points given back
        and the window each key's were charged in."""
        if held is None or held.remaining <= 0:
            return [reserve] if reserve else []
        return [reserve, held.remaining, *held.resets]

    def _keep(self, budgets: Sequence[Budget], reply: _Reply, verdict: Verdict, now: float) -> None:
        """Hold the points a charge reserved; give back any allowance that it displaces."""
        clock = time.monotonic()
        allowance = take_allowance(
            budgets,
            reply.granted,
            verdict.rates,
            reply.resets,
            now,
            clock,
            WINDOW_SECONDS,
            self._reserve_seconds,
        )
        if allowance.expires <= now or self._failing or self._closed.is_set():
            self._give_back([allowance])
            return
        self._give_back(self._allowances.hold(allowance))
        self._start_sender()
        if allowance.deadline < self._wake_at:  # the thread would sleep past this one
            self._charge_due.set()

    def _give_back(self, allowances: list[Allowance]) -> None:
        """Queue the unspent points of these allowances as deferred script calls."""
        commands = [self._refund(a) for a in allowances if a.remaining > 0]
        if not commands:
            return
        with self._pending_changed:
            self._pending.extend(commands)
        self._start_sender()
        self._charge_due.set()

    def _refund(self, allowance: Allowance) -> _Command:
        keys, args = self._command(allowance.budgets, 0.0, 0, _REFUND)
        args.extend(self._reserve_args(0, allowance))
        return keys, args

    def _start_sender(self) -> None:
        with self._pending_changed:
            if self._sender is None and not self._closed.is_set():
                self._sender = threading.Thread(
                    target=self._send_deferred, name="extapi-redis-charges", daemon=True
                )
                self._sender.start()

    def charge_later(self, budgets: Sequence[Budget], points: int, now: float) -> None:
        if not budgets or points <= 0:
            return
        if self._failing:
            self._fail_open(budgets, None)
            return
        with self._pending_changed:
            self._pending.append(self._command(budgets, now, points, _CHARGE))
        self._start_sender()
        self._charge_due.set()

    def flush(self) -> None:
        """Give back every allowance and send every deferred charge now (at close, and for
        tests that read the windows)."""
        refunds = [self._refund(a) for a in self._allowances.drain() if a.remaining > 0]
        pending = self._take_pending() + refunds
        if pending and not self._failing:
            try:
                self._send(pending)
            except (RedisError, OSError) as exc:
                self._note_failure(exc)

    def close(self) -> None:
        self._closed.set()
        self._charge_due.set()
        for thread in (self._prober, self._sender):
            if thread is not None:
                thread.join(timeout=5)
        self.flush()
        self._client.close()
        self._pool.disconnect()

    def _command(self, budgets: Sequence[Budget], now: float, points: int, op: str) -> _Command:
        keys = [self._prefix + b.key for b in budgets]
        args: list[str | int] = [repr(float(now)), WINDOW_SECONDS, points, op]
        args.extend(b.limit for b in budgets)
        return keys, args

    def _run(
        self,
        budgets: Sequence[Budget],
        now: float,
        points: int,
        op: str,
        need: int,
        extra: Sequence[str | int] = (),
    ) -> Verdict:
        if not budgets:
            return _open_verdict(budgets)
        if self._failing:
            return self._fail_open(budgets, None)
        keys, args = command = self._command(budgets, now, points, op)
        args.extend(extra)
        pending = self._take_pending()
        try:
            if pending:  # the deferred charges first, in the same round trip
                raw = self._send([*pending, command])[-1]
            else:
                raw = self._script(keys=keys, args=args)
            reply = _parse_reply(raw, len(budgets))
        except (RedisError, OSError) as exc:
            return self._fail_open(budgets, exc)
        verdict = _verdict(budgets, reply.readings, reply.allowed, need)
        if reply.granted > 0:
            self._keep(budgets, reply, verdict, now)
        return verdict

    def _take_pending(self) -> list[_Command]:
        """The deferred charges, once any send of them by the background thread has landed."""
        with self._pending_changed:
            while self._sending:
                self._pending_changed.wait()
            pending, self._pending = self._pending, []
        return pending

    def _send(self, commands: list[_Command]) -> list[Any]:
        """Several script calls in one round trip; their replies, in order."""
        replies = self._pipeline(commands)
        if any(isinstance(r, NoScriptError) for r in replies):
            # Redis lost its script cache (a restart): load it and send the refused calls again.
            self._client.script_load(_LUA)
            again = [
                c for c, r in zip(commands, replies, strict=True) if isinstance(r, NoScriptError)
            ]
            retried = iter(self._pipeline(again))
            replies = [next(retried) if isinstance(r, NoScriptError) else r for r in replies]
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies

    def _pipeline(self, commands: list[_Command]) -> list[Any]:
        pipe = self._client.pipeline(transaction=False)
        for keys, args in commands:
            pipe.execute_command("EVALSHA", self._script.sha, len(keys), *keys, *args)
        return list(pipe.execute(raise_on_error=False))

    def _send_deferred(self) -> None:
        """Send deferred charges that no request carried within the delay, and give back the
        allowances that expired with nobody spending them."""
        while not self._closed.is_set():
            due = self._allowances.next_due()
            self._wake_at = math.inf if due is None else due
            self._charge_due.wait(None if due is None else max(0.0, due - time.monotonic()))
            self._charge_due.clear()
            self._wake_at = math.inf
            if self._closed.wait(self._charge_delay):
                return
            expired = self._allowances.expired(time.monotonic())
            if expired:
                refunds = [self._refund(a) for a in expired if a.remaining > 0]
                with self._pending_changed:
                    self._pending.extend(refunds)
            with self._pending_changed:
                pending, self._pending = self._pending, []
                self._sending = bool(pending)
            if not pending:
                continue
            try:
                if self._failing:  # dropped, and counted like any other unchecked operation
                    for _, args in pending:
                        if args[3] != _REFUND:
                            self._note_failure(None)
                else:
                    self._send(pending)
            except Exception as exc:  # counted and probed like any failure, never fatal here
                self._note_failure(exc)
            finally:
                with self._pending_changed:
                    self._sending = False
                    self._pending_changed.notify_all()

    def _fail_open(self, budgets: Sequence[Budget], error: Exception | None) -> Verdict:
        """Count the miss, warn now and then, start probing, and allow the operation."""
        self._note_failure(error)
        return _open_verdict(budgets, known=False)

    def _note_failure(self, error: Exception | None) -> None:
        if self._on_failure is not None:
            self._on_failure()
        with self._state_lock:
            self.failures += 1
            if error is None:
                return
            self._failing = True
            # What Redis holds for them is unknown now; their points stay charged there.
            self._allowances.drain()
            clock = time.monotonic()
            warn = self._warned_at is None or clock - self._warned_at >= WARNING_INTERVAL_SECONDS
            if warn:
                self._warned_at = clock
            if self._prober is None and not self._closed.is_set():
                self._prober = threading.Thread(
                    target=self._probe, name="extapi-redis-probe", daemon=True
                )
                self._prober.start()
        if warn:
            log.warning(
                "Rate limiting is not enforced: Redis failed (%s: %s); %d operations allowed "
                "unchecked so far",
                type(error).__name__,
                error,
                self.failures,
            )

    def _probe(self) -> None:
        """Ping Redis at growing intervals until it answers (or the store closes)."""
        wait = self._cooldown
        while not self._closed.wait(wait):
            try:
                self._client.ping()
            except (RedisError, OSError):
                wait = min(max(wait * 2, 0.05), self._max_cooldown)
                continue
            with self._state_lock:
                self._failing = False
                self._prober = None
            log.info("Rate limiting is enforced again: Redis answered")
            return
        with self._state_lock:
            self._prober = None


def open_window_store(
    redis_url: str | None,
    prefix: str = REDIS_PREFIX,
    on_failure: Callable[[], None] | None = None,
) -> WindowStore:
    """A Redis-backed store when a URL is given, else one in process memory."""
    if redis_url:
        return RedisWindowStore(redis_url, prefix=prefix, on_failure=on_failure)
    return MemoryWindowStore()
