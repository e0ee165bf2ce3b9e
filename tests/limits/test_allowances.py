"""Points reserved in advance by a worker (extapi.limits.allowance) on a real Redis: taken only
far from the limits, spent without a round trip, given back when unused, and never letting
two workers together admit more than a budget."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator

import pytest
import redis

from extapi.limits.allowance import (
    REFUND_GRACE_SECONDS,
    RESERVE_MAX_POINTS,
    RESERVE_SECONDS,
    Allowance,
    Allowances,
    reserve_size,
)
from extapi.limits.window import (
    WINDOW_SECONDS,
    Budget,
    MemoryWindowStore,
    RedisWindowStore,
    Verdict,
)
from tests.limits.test_window import _free_port, _redis_server, _wait_for, at

REDIS_URL = os.environ.get("EXTAPI_TEST_REDIS_URL")
SITE = Budget("site", 1_000_000)
CLIENT = Budget("client:1", 200_000)  # the smaller limit: reserves 200_000 // 200 = 1_000
RESERVE = 1_000


def query(store: RedisWindowStore, points: int, t: float = 0, **kw: bool) -> Verdict:
    return store.charge([SITE, CLIENT], points, at(t), require_fit=True, **kw)


class Windows:
    """Reads what Redis itself holds, past any allowance."""

    def __init__(self, url: str, prefix: str) -> None:
        self.prefix = prefix
        self.conn = redis.Redis.from_url(url, decode_responses=True)

    def current(self, budget: Budget = CLIENT) -> int:
        return int(self.conn.hget(self.prefix + budget.key, "current") or 0)

    def store(self, patient: bool = True) -> RedisWindowStore:
        """A worker; a patient one keeps its allowances until the window's last second, so
        that however slow the machine, none expires while a test looks at it."""
        lifetime = WINDOW_SECONDS if patient else RESERVE_SECONDS
        return RedisWindowStore(REDIS_URL or "", prefix=self.prefix, reserve_seconds=lifetime)

    def close(self) -> None:
        for key in self.conn.scan_iter(match=self.prefix + "*"):
            self.conn.delete(key)
        self.conn.close()


@pytest.fixture
def windows() -> Iterator[Windows]:
    if not REDIS_URL:
        pytest.skip("Redis store tests need EXTAPI_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
    held = Windows(REDIS_URL, f"extapi:test:{uuid.uuid4().hex}:")
    yield held
    held.close()


@pytest.fixture
def store(windows: Windows) -> Iterator[RedisWindowStore]:
    opened = windows.store()
    yield opened
    assert opened.failures == 0
    opened.close()


# --- taking and spending ---------------------------------------------------------------------


def test_a_query_far_from_the_limit_reserves_and_the_next_ones_spend_it_here(store, windows):
    # given budgets far from their limits
    # when a query of 5 points is charged
    first = query(store, 5)
    # then Redis holds its points and a reserve of 1,000, and the verdict counts only its own
    assert windows.current() == windows.current(SITE) == 5 + RESERVE
    assert (first.allowed, first.rates, first.known) == (True, (5, 5), True)
    assert store.allowances == 1
    # when nine more queries are charged
    verdicts = [query(store, 5, t=0.5) for _ in range(9)]
    # then Redis did not change, and each verdict adds up the points spent since
    assert windows.current() == 5 + RESERVE
    assert [v.rates for v in verdicts] == [(5 * n, 5 * n) for n in range(2, 11)]
    assert all(v.allowed and v.known and v.reset_after == 60 for v in verdicts)
    # and once flushed, Redis holds exactly the points spent
    store.flush()
    assert windows.current() == windows.current(SITE) == 50


def test_small_limits_never_reserve(store, windows):
    # given a client limit under 200 points (a reserve of 0)
    small = Budget("client:1", 199)
    # when queries are charged
    for _ in range(3):
        assert store.charge([SITE, small], 5, at(0), require_fit=True).allowed
    # then each was charged in Redis on its own, nothing held
    assert windows.current() == 15
    assert store.allowances == 0


def test_a_query_dearer_than_the_reserve_does_not_reserve(store, windows):
    # given a query costing more than the 1,000 points a reserve would hold
    # when it is charged
    query(store, RESERVE + 1)
    # then nothing is reserved: the next one like it would not fit anyway
    assert windows.current() == RESERVE + 1
    assert store.allowances == 0


def test_reserving_stops_at_half_the_limit(store, windows):
    # given a client at 98,995 of 200,000: 5 more points and the reserve reach exactly half
    other = windows.store()
    other.charge([SITE, CLIENT], 98_995, at(0), require_fit=False)
    # when a query of 5 points is charged
    query(store, 5)
    # then it reserves (100,000 is not over half the limit)
    assert windows.current() == 100_000
    store.flush()
    # when the client is one point further on
    other.charge([SITE, CLIENT], 1, at(0), require_fit=False)
    verdict = query(store, 5)
    # then the query is charged exactly, as without reserves
    assert windows.current() == 99_006
    assert verdict.rates[1] == 99_006
    assert store.allowances == 0
    other.close()


def test_a_skewed_window_never_reserves(store, windows):
    # given the client's window started 30 s ahead of this worker's clock
    ahead = windows.store()
    ahead.charge([CLIENT], 1, at(30), require_fit=False)
    ahead.close()
    # when a query is charged
    query(store, 5)
    # then nothing is reserved (the client budget is not charged at all)
    assert store.allowances == 0
    assert windows.current(SITE) == 5


def test_no_reserve_in_the_last_second_of_a_window(store, windows):
    # given windows that began at t=0
    query(store, 5)
    store.flush()
    # when a query comes 59.5 s in (the window ends at 60)
    query(store, 5, t=59.5)
    # then it is charged exactly
    assert store.allowances == 0
    assert windows.current() == 10


# --- giving back ---------------------------------------------------------------------------


def test_an_allowance_is_given_back_at_close(windows):
    # given a worker holding a reserve after one query
    store = windows.store(patient=False)
    query(store, 5)
    assert windows.current() == 5 + RESERVE
    # when it closes
    store.close()
    # then Redis holds the query's points only
    assert windows.current() == windows.current(SITE) == 5


def test_an_expired_allowance_nobody_touches_is_given_back_in_the_background(windows):
    # given a worker holding a reserve after one query, and no query after it
    store = windows.store(patient=False)
    query(store, 5)
    # when the allowance expires (a second, plus the grace)
    # then the background thread gives it back by itself
    _wait_for(lambda: windows.current() == 5)
    assert windows.current(SITE) == 5
    assert store.allowances == 0
    store.close()


def test_an_expired_allowance_is_given_back_in_the_next_charge(windows):
    # given a reserve taken at t=0 and spent once (or given back already, if the machine is
    # slow: the next charge then finds nothing to give back)
    store = windows.store(patient=False)
    query(store, 5)
    query(store, 5)
    # when the next query comes after it expired (t=2 on the worker's clock)
    verdict = query(store, 5, t=2)
    # then that query's call gave back the 995 unspent points and took a new reserve
    assert windows.current() == 15 + RESERVE
    assert verdict.rates == (15, 15)
    store.close()


def test_an_allowance_too_small_for_a_query_is_given_back_in_its_call(store, windows):
    # given queries of 600 points: the first reserves 1,000, the second spends 600 of them
    query(store, 600)
    query(store, 600)
    assert windows.current() == 600 + RESERVE
    # when a third comes, with 400 left
    verdict = query(store, 600)
    # then the 400 went back in the same call that charged it and reserved anew
    assert windows.current() == 3 * 600 + RESERVE
    assert verdict.rates == (1_800, 1_800)


def test_an_exact_charge_gives_the_allowance_back_and_reserves_nothing(store, windows):
    # given a reserve, 10 points of it spent
    query(store, 5)
    query(store, 5)
    # when a query asks for exact figures
    verdict = query(store, 5, exact=True)
    # then Redis holds exactly the points spent, and so do the verdict's rates
    assert windows.current() == windows.current(SITE) == 15
    assert verdict.rates == (15, 15)
    assert store.allowances == 0


def test_a_changed_limit_drops_the_allowance(store, windows):
    # given a reserve taken under a client limit of 200,000
    query(store, 5)
    # when the client's limit changes to 150 (too small to reserve) and a query comes
    smaller = Budget(CLIENT.key, 150)
    verdict = store.charge([SITE, smaller], 5, at(1), require_fit=True)
    # then the query went to Redis, which got the unspent reserve back in the same call
    assert verdict.rates == (10, 10)
    assert windows.current() == 10
    assert store.allowances == 0


def test_a_refund_never_reaches_into_a_later_window(store, windows):
    # given a reserve taken at t=0, and a window that another worker rotates at t=61
    query(store, 5)
    other = windows.store()
    other.charge([SITE, CLIENT], 7, at(61), require_fit=False)
    # when the reserve is given back
    store.flush()
    # then the new window keeps its points; the old one, now `prev`, keeps the reserve
    assert windows.current() == 7
    assert windows.conn.hget(windows.prefix + CLIENT.key, "prev") == str(5 + RESERVE)
    other.close()


# --- two workers ---------------------------------------------------------------------------


def test_two_workers_never_admit_more_than_a_budget(windows):
    # given two workers on the same Redis, each with four threads, and a client budget of
    # 20,000 points (reserves of 100)
    workers = [windows.store(), windows.store()]
    budgets = [SITE, Budget("client:1", 20_000)]
    admitted = [[0] * 4 for _ in workers]
    start = threading.Barrier(8)

    def spend(worker: int, thread: int) -> None:
        start.wait()
        for _ in range(1_000):
            if workers[worker].charge(budgets, 7, at(0), require_fit=True).allowed:
                admitted[worker][thread] += 7

    # when they charge queries of 7 points at once until well past the limit
    threads = [threading.Thread(target=spend, args=(w, t)) for w in range(2) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker in workers:
        worker.flush()
    total = sum(map(sum, admitted))
    # then together they admitted no more than the budget, and used nearly all of it
    assert 20_000 - 2 * 100 <= total <= 20_000
    # and once everything unspent is back, Redis holds exactly what was admitted
    assert windows.current() == total
    # and both workers took reserves and spent from them
    assert all(sum(a) > 0 for a in admitted)
    for worker in workers:
        assert worker.failures == 0
        worker.close()


# --- Redis down --------------------------------------------------------------------------


def test_allowances_are_dropped_when_redis_fails_and_taken_again_when_it_returns():
    port = _free_port()
    store = RedisWindowStore(
        f"redis://127.0.0.1:{port}/0", cooldown=0, reserve_seconds=WINDOW_SECONDS
    )
    try:
        # given a worker holding a reserve
        with _redis_server(port):
            assert query(store, 5).known
            assert store.allowances == 1
        # when Redis is gone and a query needs a call (it asks for exact figures)
        failed = query(store, 5, exact=True)
        # then it is allowed unchecked and the allowance is dropped
        assert (failed.allowed, failed.known) == (True, False)
        assert store.allowances == 0
        # and the next queries are allowed unchecked too, without reserving
        assert not query(store, 5).known
        assert store.allowances == 0
        # when a new, empty server comes up
        with _redis_server(port):
            _wait_for(lambda: store.enforcing)
            # then queries reserve again, counted from 0
            assert query(store, 5).rates == (5, 5)
            assert store.allowances == 1
            assert query(store, 5).rates == (10, 10)
            store.flush()
    finally:
        store.close()


# --- without Redis -----------------------------------------------------------------------


def test_reserve_size():
    assert reserve_size([SITE, CLIENT], 5) == RESERVE
    assert reserve_size([SITE, Budget("client:1", 199)], 1) == 0
    assert reserve_size([Budget("site", 2**31 - 1)], 1) == RESERVE_MAX_POINTS
    assert reserve_size([SITE, CLIENT], RESERVE) == RESERVE
    assert reserve_size([SITE, CLIENT], RESERVE + 1) == 0
    assert reserve_size([SITE, CLIENT], 0) == 0


def _allowance(key: str, remaining: int = 10, deadline: float = 0.0) -> Allowance:
    return Allowance(
        budgets=(Budget(key, 1000),),
        remaining=remaining,
        rates=(3,),
        resets=("0.0",),
        window_end=at(60),
        expires=at(1),
        deadline=deadline,
    )


def test_allowances_are_held_up_to_a_bound_and_the_oldest_goes_back():
    # given room for two allowances
    held = Allowances(max_held=2)
    assert held.hold(_allowance("a")) == []
    assert held.hold(_allowance("b")) == []
    # when a third is taken
    displaced = held.hold(_allowance("c"))
    # then the oldest is handed back to be refunded
    assert [a.budgets[0].key for a in displaced] == ["a"]
    assert len(held) == 2
    # and a new one for the same keys displaces the old
    assert [a.budgets[0].key for a in held.hold(_allowance("b"))] == ["b"]


def test_spending_needs_the_same_limits_time_left_and_enough_points():
    held = Allowances()
    held.hold(_allowance("a", remaining=10))
    # a changed limit, an expired allowance or too few points: not spent here
    assert held.spend([Budget("a", 999)], 1, at(0)) is None
    assert held.spend([Budget("a", 1000)], 1, at(1)) is None
    assert held.spend([Budget("a", 1000)], 11, at(0)) is None
    # otherwise spent, with the rates estimated from the last known
    verdict = held.spend([Budget("a", 1000)], 4, at(0.5))
    assert verdict == Verdict(True, (7,), 0, 60)
    assert held.spend([Budget("a", 1000)], 6, at(0.5)) == Verdict(True, (13,), 0, 60)
    assert held.spend([Budget("a", 1000)], 1, at(0.5)) is None


def test_expired_allowances_are_handed_back_after_the_grace():
    held = Allowances()
    held.hold(_allowance("a", deadline=10.0))
    held.hold(_allowance("b", deadline=20.0))
    assert held.next_due() == 10.0 + REFUND_GRACE_SECONDS
    assert held.expired(10.0) == []
    assert [a.budgets[0].key for a in held.expired(10.0 + REFUND_GRACE_SECONDS)] == ["a"]
    assert [a.budgets[0].key for a in held.drain()] == ["b"]
    assert held.next_due() is None


def test_the_memory_store_is_always_exact():
    # given the in-memory store (one process: nothing to reserve)
    store = MemoryWindowStore()
    # when queries are charged, with and without asking for exact figures
    first = store.charge([SITE, CLIENT], 5, at(0), require_fit=True)
    second = store.charge([SITE, CLIENT], 5, at(0), require_fit=True, exact=True)
    # then each is charged in full, as before
    assert (first.rates, second.rates) == ((5, 5), (10, 10))
