"""Rate-limit windows kept in Redis, shared by every worker process and host.

Kept apart from :mod:`extapi.limits.window` so that a worker whose windows are in memory never
loads the Redis client (about 3 MB per worker); the window rules and verdicts are the same.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from string import Template
from typing import Any

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
from extapi.limits.window import (
    _CHARGE,
    _CHARGE_IF_FITS,
    _CHECK,
    _REFUND,
    CHARGE_DELAY_SECONDS,
    MAX_COOLDOWN_SECONDS,
    REDIS_PREFIX,
    REDIS_TIMEOUT_SECONDS,
    SKEW_SECONDS,
    WARNING_INTERVAL_SECONDS,
    WINDOW_SECONDS,
    _open_verdict,
    _Reading,
    _verdict,
    log,
)

__all__ = ["RedisWindowStore"]

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
