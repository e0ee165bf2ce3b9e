"""Sliding-window budgets: the formula worked by hand, on the memory store always and on Redis
when EXTAPI_TEST_REDIS_URL is set; fail-open against a private redis-server process.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import redis

from extapi.limits.window import (
    WINDOW_SECONDS,
    Budget,
    MemoryWindowStore,
    RedisWindowStore,
    Verdict,
    WindowStore,
    open_window_store,
)

REDIS_URL = os.environ.get("EXTAPI_TEST_REDIS_URL")
T0 = 1_700_000_000.0  # a realistic unix time; offsets below are seconds after it


def at(seconds: float) -> float:
    return T0 + seconds


def client(n: int, limit: int = 100) -> Budget:
    return Budget(f"client:{n}", limit)


def charge(store: WindowStore, budget: Budget, points: int, t: float) -> Verdict:
    return store.charge([budget], points, at(t), require_fit=False)


def rate(store: WindowStore, budget: Budget, t: float) -> int:
    return store.check([budget], at(t)).rates[0]


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[WindowStore]:
    if request.param == "memory":
        memory = MemoryWindowStore()
        yield memory
        memory.close()
        return
    if not REDIS_URL:
        pytest.skip("Redis store tests need EXTAPI_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
    prefix = f"extapi:test:{uuid.uuid4().hex}:"
    shared = RedisWindowStore(REDIS_URL, prefix=prefix)
    yield shared
    # A failure here means Redis answered with errors and the test only saw fail-open verdicts.
    assert shared.failures == 0
    shared.close()
    with redis.Redis.from_url(REDIS_URL) as conn:
        for key in conn.scan_iter(match=prefix + "*"):
            conn.delete(key)


# --- the formula ---------------------------------------------------------------------------


def test_points_count_fully_within_their_own_window(store):
    # given 60 points spent at t=0
    verdict = charge(store, client(1), 60, 0)
    # then the rate is 60 at once and 30 s later, with the window ending at t=60
    assert (verdict.allowed, verdict.rates, verdict.reset_after) == (True, (60,), 60)
    assert rate(store, client(1), 30) == 60
    assert store.check([client(1)], at(30)).reset_after == 30
    # and at t=60 the window has not rotated yet (it rotates once more than 60 s have passed)
    assert rate(store, client(1), 60) == 60


def test_rotation_carries_the_window_into_prev(store):
    # given 60 points at t=0
    charge(store, client(1), 60, 0)
    # when checked at t=61 the window rotates: prev=60, current=0, reset=61, elapsed 0
    verdict = store.check([client(1)], at(61))
    # then round(60 * (60 - 0) / 60) + 0 = 60, and the new window ends 60 s later
    assert (verdict.rates, verdict.reset_after) == ((60,), 60)


def test_previous_window_decays_linearly(store):
    # given 60 points at t=0, then 10 at t=61 (rotation: prev=60, current=10, reset=61)
    charge(store, client(1), 60, 0)
    assert charge(store, client(1), 10, 61).rates == (70,)
    # then 30 s into the new window: round(60 * 30 / 60) + 10 = 40
    assert rate(store, client(1), 91) == 40
    # 45 s in: round(60 * 15 / 60) + 10 = 25
    assert rate(store, client(1), 106) == 25
    # 60 s in: nothing of prev is left
    assert rate(store, client(1), 121) == 10
    # 61 s in: rotated again, the 10 points become prev
    assert rate(store, client(1), 122) == 10


def test_halves_round_up_like_php(store):
    # given prev=25, current=1, reset=61
    charge(store, client(1), 25, 0)
    charge(store, client(1), 1, 61)
    # when 30 s in: 25 * 30 / 60 = 12.5
    # then it rounds to 13 (PHP's round), not to 12 (Python's banker's rounding)
    assert rate(store, client(1), 91) == 13 + 1


def test_a_window_older_than_two_minutes_forgets_prev(store):
    # given 60 points at t=0
    charge(store, client(1), 60, 0)
    # then just under 2W later they still become prev
    assert rate(store, client(1), 119.5) == 60


def test_a_window_two_minutes_old_is_dropped_entirely(store):
    # given 60 points at t=0
    charge(store, client(1), 60, 0)
    # when 120 s have passed (elapsed not < 2W)
    # then rotation sets prev to 0
    assert rate(store, client(1), 120) == 0


def test_check_saves_rotation_so_the_previous_window_decays(store):
    # given a full window (limit 100) at t=0
    charge(store, client(1), 100, 0)
    # when checked at t=61: rotated (prev=100, reset=61), rate 100, blocked, retry in 1 s
    first = store.check([client(1)], at(61))
    assert (first.allowed, first.rates, first.retry_after) == (False, (100,), 1)
    # then at t=62 the client is let in: round(100 * 59 / 60) = 98
    second = store.check([client(1)], at(62))
    assert (second.allowed, second.rates) == (True, (98,))


def test_unknown_key_starts_empty(store):
    # given nothing spent
    # when checked
    verdict = store.check([client(7)], at(0))
    # then it is allowed with the full window ahead
    assert verdict == Verdict(allowed=True, rates=(0,), retry_after=0, reset_after=60)


# --- limits --------------------------------------------------------------------------------


def test_check_needs_room_for_one_more_point(store):
    # given 99 of 100 points spent
    charge(store, client(1), 99, 0)
    # then one more point fits
    assert store.check([client(1)], at(1)).allowed
    # when the 100th point is spent
    charge(store, client(1), 1, 1)
    # then the budget is exactly at its limit, which blocks
    verdict = store.check([client(1)], at(2))
    assert (verdict.allowed, verdict.rates) == (False, (100,))
    assert verdict.remaining(0, 100) == 0


def test_require_fit_refuses_and_changes_nothing(store):
    # given 60 of 100 points spent
    charge(store, client(1), 60, 0)
    # when 50 more must fit
    refused = store.charge([client(1)], 50, at(10), require_fit=True)
    # then they are refused and the rate is still 60
    assert (refused.allowed, refused.rates) == (False, (60,))
    assert rate(store, client(1), 10) == 60
    # when exactly the remaining 40 must fit
    admitted = store.charge([client(1)], 40, at(10), require_fit=True)
    # then they are admitted, reaching the limit
    assert (admitted.allowed, admitted.rates, admitted.retry_after) == (True, (100,), 0)


def test_without_require_fit_points_are_always_added(store):
    # given a budget already at its limit
    charge(store, client(1), 100, 0)
    # when more is charged without require_fit (the work was already done)
    verdict = charge(store, client(1), 30, 1)
    # then it is recorded, going over the limit
    assert (verdict.allowed, verdict.rates) == (True, (130,))
    assert verdict.remaining(0, 100) == 0


def test_either_of_two_budgets_blocks(store):
    site = Budget("site", 200)
    # given client 1 spends its full 100 and client 2 spends 50, both counted site-wide
    store.charge([site, client(1)], 100, at(0), require_fit=False)
    store.charge([site, client(2)], 50, at(0), require_fit=False)
    # then client 1 is blocked by its own budget though the site still has room
    one = store.check([site, client(1)], at(1))
    assert (one.allowed, one.rates) == (False, (150, 100))
    assert store.check([site, client(2)], at(1)).allowed
    # when client 2 spends 50 more, filling the site
    store.charge([site, client(2)], 50, at(1), require_fit=False)
    # then client 3, with nothing spent, is blocked by the site budget
    three = store.check([site, client(3)], at(2))
    assert (three.allowed, three.rates) == (False, (200, 0))
    assert (three.remaining(0, 200), three.remaining(1, 100)) == (0, 100)


def test_a_refused_charge_adds_to_no_budget(store):
    site = Budget("site", 1000)
    # given client 1 has 90 of 100 points spent
    store.charge([site, client(1)], 90, at(0), require_fit=False)
    # when 20 more must fit on both budgets
    verdict = store.charge([site, client(1)], 20, at(1), require_fit=True)
    # then the client budget refuses and the site budget is not charged either
    assert (verdict.allowed, verdict.rates) == (False, (90, 90))
    assert store.check([site], at(1)).rates == (90,)


def test_clients_do_not_share_budgets(store):
    # given client 1 is at its limit
    charge(store, client(1), 100, 0)
    # then client 2 is untouched
    assert store.check([client(2)], at(1)) == Verdict(True, (0,), 0, 60)
    assert not store.check([client(1)], at(1)).allowed


def test_no_budgets_is_allowed(store):
    assert store.check([], at(0)) == Verdict(True, (), 0, 0)
    assert store.charge([], 5, at(0), require_fit=True).allowed


# --- retry_after and reset_after -----------------------------------------------------------


def test_retry_after_while_the_previous_window_decays(store):
    # given prev=90, current=40, reset=61 (limit 100): rate 130
    charge(store, client(1), 90, 0)
    charge(store, client(1), 40, 61)
    # when checked at the start of that window
    verdict = store.check([client(1)], at(61))
    # then one point fits when round(90 * (60 - t) / 60) + 40 + 1 <= 100: at t=20 it is
    # round(60) = 60 (too many), at t=21 round(58.5) = 59, which fits
    assert (verdict.allowed, verdict.retry_after, verdict.reset_after) == (False, 21, 60)
    # and 10 s later both figures are 10 s smaller
    later = store.check([client(1)], at(71))
    assert (later.retry_after, later.reset_after) == (11, 50)
    # and at that moment the client really gets in
    assert store.check([client(1)], at(82)).rates == (99,)


def test_retry_after_counts_fractional_seconds(store):
    # given the same windows, checked half a second into the window
    charge(store, client(1), 90, 0)
    charge(store, client(1), 40, 61)
    verdict = store.check([client(1)], at(61.5))
    # then t=20 reaches 20.5 s in: 90 * 39.5 / 60 = 59.25, round 59, which fits
    assert (verdict.retry_after, verdict.reset_after) == (20, 60)


def test_retry_after_runs_into_the_next_window(store):
    # given the whole limit spent in this window: no decay in it can help
    charge(store, client(1), 100, 0)
    verdict = store.check([client(1)], at(0))
    # then the first touch after the window ends would count those 100 in full (the window
    # rotates then, as Totara's does), so the wait is until they no longer count at all
    assert (verdict.allowed, verdict.retry_after, verdict.reset_after) == (False, 120, 60)
    # and at that moment the client really gets in
    assert store.check([client(1)], at(120)).allowed


def test_retry_after_just_past_the_window_when_this_window_leaves_room(store):
    # given 100 spent by t=0, and a check at t=61 that rotated the window (prev=100, current=0)
    charge(store, client(1), 100, 0)
    store.check([client(1)], at(61))
    # when 100 more are refused half a second into that window
    verdict = store.charge([client(1)], 100, at(61.5), require_fit=True)
    # then no whole second inside the window is enough (59 s on, round(100 * 0.5 / 60) = 1
    # still counts), but just past its end the rotation leaves only this window's 0
    assert (verdict.allowed, verdict.retry_after) == (False, 60)
    assert store.charge([client(1)], 100, at(61.5 + 60), require_fit=True).allowed


def test_retry_after_of_a_refused_charge_is_for_its_points(store):
    # given 90 of 100 spent in the window that began at t=0, 20 more refused at t=0
    charge(store, client(1), 90, 0)
    verdict = store.charge([client(1)], 20, at(0), require_fit=True)
    # then the wait is until 20 points fit, not one (which would be at once): the 90 stay
    # in full until the horizon, two windows after this one began
    assert (verdict.allowed, verdict.retry_after) == (False, 120)
    assert store.charge([client(1)], 20, at(120), require_fit=True).allowed


def test_retry_after_of_a_charge_inside_the_window(store):
    # given 90 spent in the previous window and 5 in this one (window rotated at t=61)
    charge(store, client(1), 90, 0)
    charge(store, client(1), 5, 61)
    # when 20 are refused at t=61 (rate 95)
    verdict = store.charge([client(1)], 20, at(61), require_fit=True)
    # then round(90 * (60 - x) / 60) + 5 + 20 <= 100 first holds at x = 10 (round(75) = 75;
    # at x = 9, round(76.5) = 77 is too many)
    assert (verdict.allowed, verdict.retry_after) == (False, 10)
    # and a second earlier the 20 still do not fit, at that moment they do
    assert not store.charge([client(1)], 20, at(61 + 9), require_fit=True).allowed
    assert store.charge([client(1)], 20, at(61 + 10), require_fit=True).allowed


def test_retry_after_of_a_charge_larger_than_the_limit_is_the_horizon(store):
    # given a charge of more points than the limit holds: it never fits
    verdict = store.charge([client(1, limit=10)], 11, at(0), require_fit=True)
    # then the wait is the whole horizon, after which nothing of today's use counts
    assert (verdict.allowed, verdict.retry_after) == (False, 2 * WINDOW_SECONDS)


def test_retry_after_follows_the_first_blocking_budget(store):
    site = Budget("site", 100)
    # given the site fills at t=0 and client 1 fills the window it started at t=30
    store.charge([site], 100, at(0), require_fit=False)
    store.charge([client(1, limit=10)], 10, at(30), require_fit=False)
    # when both block at t=40
    verdict = store.check([client(1, limit=10), site], at(40))
    # then retry_after is the client's: its 10 count until two windows after t=30;
    # reset_after is the client's too, being the first budget
    assert (verdict.retry_after, verdict.reset_after) == (110, 50)
    # and with the site first, both come from the site's window
    site_first = store.check([site, client(1, limit=10)], at(40))
    assert (site_first.retry_after, site_first.reset_after) == (80, 20)


# --- clock skew ----------------------------------------------------------------------------


def test_a_window_from_the_future_neither_blocks_nor_is_charged(store):
    # given a window started at t=100 by a clock that runs ahead, and full
    charge(store, client(1), 100, 100)
    # when a server 6 s behind checks and charges
    checked = store.check([client(1)], at(94))
    charged = store.charge([client(1)], 50, at(94), require_fit=True)
    # then both are allowed and nothing changes
    assert (checked.allowed, charged.allowed) == (True, True)
    assert charged.rates == (100,)
    assert rate(store, client(1), 100) == 100


def test_a_small_skew_is_tolerated(store):
    # given a full window started at t=100
    charge(store, client(1), 100, 100)
    # when a server 4 s behind checks
    verdict = store.check([client(1)], at(96))
    # then the window counts as just started, and blocks
    assert (verdict.allowed, verdict.rates, verdict.reset_after) == (False, (100,), 60)


def test_skew_on_one_budget_leaves_the_others_working(store):
    site = Budget("site", 1000)
    # given the site window comes from a clock 10 s ahead
    store.charge([site], 10, at(10), require_fit=False)
    # when a client is charged alongside it
    verdict = store.charge([site, client(1)], 5, at(0), require_fit=True)
    # then the client is charged and the site is left alone
    assert (verdict.allowed, verdict.rates) == (True, (10, 5))
    assert store.check([site], at(10)).rates == (10,)


# --- concurrency ---------------------------------------------------------------------------


def test_concurrent_charges_never_overshoot(store):
    budget = Budget("client:race", 5000)
    admitted = [0] * 8
    start = threading.Barrier(8)

    def worker(n: int) -> None:
        start.wait()
        for _ in range(200):
            if store.charge([budget], 7, at(0), require_fit=True).allowed:
                admitted[n] += 7

    # given 8 threads each trying 200 charges of 7 points at the same moment
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then no more than the limit is admitted, and at most one charge's worth is left over
    assert 5000 - 7 <= sum(admitted) <= 5000
    assert rate(store, budget, 0) == sum(admitted)


# --- the memory store ----------------------------------------------------------------------


def test_a_charge_not_waited_for_counts_before_the_next_operation(store):
    # given 30 points charged without waiting, on the site and a client budget
    site = Budget("site", 1000)
    store.charge_later([site, client(1)], 30, at(0))
    # when the next operation reads the windows
    verdict = store.check([site, client(1)], at(1))
    # then the charge is in both
    assert verdict.rates == (30, 30)


def test_deferred_charges_are_sent_by_close():
    if not REDIS_URL:
        pytest.skip("Redis store tests need EXTAPI_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
    # given a charge held back for an hour
    prefix = f"extapi:test:{uuid.uuid4().hex}:"
    held = RedisWindowStore(REDIS_URL, prefix=prefix, charge_delay=3600)
    held.charge_later([client(1)], 25, at(0))
    # when the store closes
    held.close()
    # then the charge reached Redis
    reader = RedisWindowStore(REDIS_URL, prefix=prefix)
    try:
        assert rate(reader, client(1), 1) == 25
    finally:
        reader.close()


def test_verdict_plus_counts_points_on_every_budget():
    known = Verdict(allowed=True, rates=(5, 7), retry_after=0, reset_after=30)
    assert known.plus(10).rates == (15, 17)
    assert known.plus(10).reset_after == 30
    unknown = Verdict(allowed=True, rates=(0, 0), retry_after=0, reset_after=0, known=False)
    assert unknown.plus(10) is unknown


def test_memory_check_of_an_unknown_key_stores_nothing():
    store = MemoryWindowStore()
    # when an unknown key is checked
    store.check([client(1)], at(0))
    # then nothing is kept for it
    assert len(store) == 0


def test_memory_store_drops_stale_keys_past_ten_thousand():
    store = MemoryWindowStore()
    # given 10,000 keys last used at t=0
    for n in range(10_000):
        charge(store, client(n), 1, 0)
    assert len(store) == 10_000
    # when a new key arrives more than 2W later
    charge(store, client(-1), 1, 2 * WINDOW_SECONDS + 1)
    # then the stale keys are dropped and the new one kept
    assert len(store) == 1
    assert rate(store, client(-1), 2 * WINDOW_SECONDS + 1) == 1


def test_memory_store_keeps_live_keys_past_ten_thousand():
    store = MemoryWindowStore()
    # given 10,000 keys still inside their window
    for n in range(10_000):
        charge(store, client(n), 1, 0)
    # when one more arrives
    charge(store, client(-1), 1, 30)
    # then none is dropped
    assert len(store) == 10_001
    assert rate(store, client(0), 30) == 1


def test_open_window_store_picks_the_backend():
    memory = open_window_store(None)
    assert isinstance(memory, MemoryWindowStore)
    # constructing a Redis store does not connect
    shared = open_window_store("redis://127.0.0.1:1/0")
    assert isinstance(shared, RedisWindowStore)
    shared.close()


def test_verdict_remaining():
    verdict = Verdict(allowed=True, rates=(30, 120), retry_after=0, reset_after=60)
    assert (verdict.remaining(0, 100), verdict.remaining(1, 100)) == (70, 0)


# --- the Redis store on its own ------------------------------------------------------------


@pytest.mark.skipif(not REDIS_URL, reason="needs EXTAPI_TEST_REDIS_URL")
def test_redis_keys_carry_the_prefix_and_expire():
    assert REDIS_URL
    prefix = f"extapi:test:{uuid.uuid4().hex}:"
    store = RedisWindowStore(REDIS_URL, prefix=prefix)
    conn = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        # given a charge at t=0 and a check of another, unknown key
        charge(store, client(1), 42, 0)
        store.check([client(2)], at(0))
        # then the charged hash holds the window and expires after 2W + 10 s
        key = prefix + "client:1"
        assert conn.hgetall(key) == {"prev": "0", "current": "42", "reset": repr(at(0))}
        assert 2 * WINDOW_SECONDS < conn.ttl(key) <= 2 * WINDOW_SECONDS + 10
        # and the checked key was not created
        assert not conn.exists(prefix + "client:2")
    finally:
        for key in conn.scan_iter(match=prefix + "*"):
            conn.delete(key)
        conn.close()
        store.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _redis_server(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A throwaway redis-server with no persistence, stopped on exit."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_up(port)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_until_up(port: int) -> None:
    deadline = time.monotonic() + 10
    with redis.Redis(port=port, socket_connect_timeout=0.2) as conn:
        while True:
            try:
                conn.ping()
                return
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def _wait_for(condition: Callable[[], bool]) -> None:
    """Poll a condition that a background thread makes true (generous deadline, no fixed
    sleep: a busy machine only makes this slower)."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, "condition not met within 60 s"
        time.sleep(0.01)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "extapi.limits" and r.levelno == logging.WARNING]


def test_redis_store_fails_open_and_recovers(caplog):
    port = _free_port()
    store = RedisWindowStore(f"redis://127.0.0.1:{port}/0", cooldown=0)
    budget = client(1, limit=50)
    try:
        # given a working server with 30 points charged
        with _redis_server(port):
            assert charge(store, budget, 30, 0).rates == (30,)
        # when the server is gone
        with caplog.at_level(logging.WARNING, logger="extapi.limits"):
            charged = store.charge([budget], 500, at(1), require_fit=True)
            checked = store.check([budget], at(1))
        # then everything is allowed, marked as not known, counted, and warned about once
        assert charged == Verdict(True, (0,), 0, 0, known=False)
        assert checked == Verdict(True, (0,), 0, 0, known=False)
        assert store.failures == 2
        assert not store.enforcing
        assert len(_warnings(caplog)) == 1
        # when a new, empty server comes up on the same port
        with _redis_server(port):
            # then the background probe finds it and the same store works again, from 0
            _wait_for(lambda: store.enforcing)
            assert charge(store, budget, 10, 2).rates == (10,)
            assert store.check([budget], at(2)).rates == (10,)
            assert store.failures == 2
    finally:
        store.close()


def test_redis_store_rests_after_a_failure():
    port = _free_port()
    store = RedisWindowStore(f"redis://127.0.0.1:{port}/0", cooldown=60)
    try:
        # given a failure with no server listening
        assert store.check([client(1)], at(0)).allowed
        assert store.failures == 1
        # when a server appears within the cooldown
        with _redis_server(port):
            verdict = store.charge([client(1)], 5, at(0), require_fit=False)
        # then the store has not tried it yet: the answer is still the fail-open one
        assert verdict == Verdict(True, (0,), 0, 0, known=False)
        assert store.failures == 2
    finally:
        store.close()


class _SilentServer:
    """A TCP server that accepts connections and reads, but never answers: a hung Redis."""

    def __init__(self) -> None:
        self.received = bytearray()
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen()
        self.port = int(self._listener.getsockname()[1])
        self._conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self._listener.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self.received.extend(data)

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._conns)

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        for conn in self._conns:
            conn.close()


def test_a_hung_redis_costs_one_timeout_then_nothing():
    server = _SilentServer()
    # given a store on a Redis that accepts and never answers; the probe waits a minute
    store = RedisWindowStore(f"redis://127.0.0.1:{server.port}/0", cooldown=60, timeout=0.2)
    try:
        # when a hundred requests are checked and charged
        verdicts = [store.check([client(1)], at(0)) for _ in range(50)]
        verdicts += [store.charge([client(1)], 5, at(0), require_fit=True) for _ in range(50)]
        # then all are allowed, none claims a known budget
        assert all(v.allowed and not v.known for v in verdicts)
        assert store.failures == 100
        # and only the first one went to Redis (and waited): one connection, never retried
        assert server.connections == 1
    finally:
        store.close()
        server.close()


def test_a_hung_redis_is_probed_in_the_background():
    server = _SilentServer()
    # given a store whose probe starts at once and backs off
    store = RedisWindowStore(
        f"redis://127.0.0.1:{server.port}/0", cooldown=0.01, max_cooldown=0.05, timeout=0.05
    )
    try:
        # when one request finds Redis hung
        assert not store.check([client(1)], at(0)).known
        # then the probe tries the server again and again, each time on a new connection
        _wait_for(lambda: server.connections >= 3)
        # and requests meanwhile are still allowed without waiting on it
        assert not store.enforcing
        assert not store.charge([client(1)], 5, at(0), require_fit=True).known
    finally:
        store.close()
        server.close()


def test_the_memory_fast_path_gives_the_general_path_verdicts():
    # given two memory stores fed the same random charges, one always on the general path
    rng = random.Random(20261205)
    fast, general = MemoryWindowStore(), MemoryWindowStore()
    budgets = [Budget("site", 400), Budget("client:1", 150)]
    now = 1_000_000.0
    for _ in range(3_000):
        now += rng.choice([0.0, 0.3, 2.5, 17.0, 61.0, 130.0, -7.0])
        points = rng.choice([0, 1, 5, 40, 151])
        require_fit = rng.random() < 0.8
        chosen = budgets if rng.random() < 0.7 else budgets[1:]
        # when each charges
        expected = general._charge_slowly(chosen, points, now, require_fit)
        got = fast.charge(chosen, points, now, require_fit)
        # then the verdicts agree, and so do the stored windows
        assert got == expected
        assert got.blocked == expected.blocked
        for budget in budgets:
            a, b = fast._windows.get(budget.key), general._windows.get(budget.key)
            assert (a is None) == (b is None)
            if a is not None and b is not None:
                assert (a.prev, a.current, a.reset) == (b.prev, b.current, b.reset)
