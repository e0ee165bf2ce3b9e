"""Points a worker has taken from its budgets in advance, to spend without asking Redis.

Charging every query in Redis costs a round trip per request. Instead, a query charge made far
from the limits may take a small reserve of both budgets along with its own points, in the
same atomic script call. Later queries of this worker on the same budgets spend that reserve
here, under a lock, until it runs out or expires; what is left is given back to Redis. Since
the reserve was charged in Redis before any of it is spent, the points admitted never exceed a
budget, and since it expires before the Redis window it was charged in ends, every point spent
from it counts in the window it was spent in.

The reserve is ``min(limit) // RESERVE_SHARE`` points, at most ``RESERVE_MAX_POINTS``, and the
script grants it only while every budget stays at or under half its limit counting it. Near a
limit (or for a limit under ``RESERVE_SHARE`` points) nothing is reserved and every query is
charged in Redis, exactly as without allowances.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from extapi.limits.budget import Budget, Verdict

__all__ = [
    "MAX_ALLOWANCES",
    "REFUND_GRACE_SECONDS",
    "RESERVE_MARGIN_SECONDS",
    "RESERVE_MAX_POINTS",
    "RESERVE_SECONDS",
    "RESERVE_SHARE",
    "Allowance",
    "Allowances",
    "reserve_size",
]

# An allowance is spent for at most this long after it was taken...
RESERVE_SECONDS = 1.0
# ...and never later than this long before the Redis window it was taken in ends.
RESERVE_MARGIN_SECONDS = 1.0
# The reserve is the smallest limit divided by this, capped at RESERVE_MAX_POINTS.
RESERVE_SHARE = 200
RESERVE_MAX_POINTS = 10_000
# How many budget sets may hold an allowance at once; taking one more gives back the oldest.
MAX_ALLOWANCES = 1_000
# An expired allowance nobody touches is given back this long after it expired: a worker that
# keeps querying gives it back in its next charge instead, with no call of its own.
REFUND_GRACE_SECONDS = 0.25


def reserve_size(budgets: Sequence[Budget], points: int) -> int:
    """The points to ask for in advance along with a query charge of ``points``: 0 (none)
    for small limits, and when one more query like this one would not fit in the reserve."""
    reserve = min(min(b.limit for b in budgets) // RESERVE_SHARE, RESERVE_MAX_POINTS)
    return reserve if reserve >= points > 0 else 0


@dataclass(slots=True)
class Allowance:
    """Points of a budget set charged in Redis and not spent yet."""

    budgets: tuple[Budget, ...]
    remaining: int
    # Each budget's rate after the charge that took the allowance, not counting the reserve.
    rates: tuple[int, ...]
    # Each key's window start as Redis stores it: a refund applies only to that same window.
    resets: tuple[str, ...]
    window_end: float  # when the first budget's window ends (the caller's clock)
    expires: float  # spent until then (the caller's clock)
    deadline: float  # given back once time.monotonic() passes this (plus the grace)
    spent: int = 0


def take_allowance(
    budgets: Sequence[Budget],
    granted: int,
    rates: Sequence[int],
    resets: Sequence[str],
    now: float,
    clock: float,
    window_seconds: float,
    lifetime: float = RESERVE_SECONDS,
) -> Allowance:
    """The allowance a charge that reserved ``granted`` points leaves, ``now`` on the caller's
    clock and ``clock`` on the monotonic one. It lasts ``lifetime`` seconds at most."""
    starts = [float(reset) for reset in resets]
    expires = min(now + lifetime, min(starts) + window_seconds - RESERVE_MARGIN_SECONDS)
    return Allowance(
        budgets=tuple(budgets),
        remaining=granted,
        rates=tuple(rates),
        resets=tuple(resets),
        window_end=starts[0] + window_seconds,
        expires=expires,
        deadline=clock + max(0.0, expires - now),
    )


class Allowances:
    """The allowances of one store, by budget keys; safe to use from several threads."""

    def __init__(self, max_held: int = MAX_ALLOWANCES) -> None:
        self._lock = threading.Lock()
        self._held: dict[tuple[str, ...], Allowance] = {}
        self._max_held = max_held

    def __len__(self) -> int:
        return len(self._held)

    def spend(self, budgets: Sequence[Budget], points: int, now: float) -> Verdict | None:
        """Spend ``points`` from the allowance of these budgets (same keys and limits): an
        allowed verdict with the rates last known plus what was spent since, or None when
        there is no such allowance, it has expired or it is too small."""
        names = tuple([b.key for b in budgets])
        with self._lock:
            held = self._held.get(names)
            if held is None or now >= held.expires or held.remaining < points:
                return None
            if held.budgets != tuple(budgets):
                return None
            held.remaining -= points
            held.spent += points
            spent = held.spent
        return Verdict(
            allowed=True,
            rates=tuple([rate + spent for rate in held.rates]),
            retry_after=0,
            reset_after=max(0, math.ceil(held.window_end - now)),
        )

    def take(self, budgets: Sequence[Budget]) -> Allowance | None:
        """Remove and return the allowance held for these budget keys, whatever its limits."""
        names = tuple([b.key for b in budgets])
        with self._lock:
            return self._held.pop(names, None)

    def hold(self, allowance: Allowance) -> list[Allowance]:
        """Keep a new allowance; returns those it displaced (one already held for the same
        keys, the oldest when too many are held), to be given back."""
        names = tuple([b.key for b in allowance.budgets])
        with self._lock:
            displaced = self._held.pop(names, None)
            given_back = [] if displaced is None else [displaced]
            while len(self._held) >= self._max_held:
                oldest = next(iter(self._held))
                given_back.append(self._held.pop(oldest))
            self._held[names] = allowance
        return given_back

    def expired(self, clock: float) -> list[Allowance]:
        """Remove and return the allowances past their deadline and the grace."""
        cutoff = clock - REFUND_GRACE_SECONDS
        with self._lock:
            gone = [names for names, a in self._held.items() if a.deadline <= cutoff]
            return [self._held.pop(names) for names in gone]

    def next_due(self) -> float | None:
        """The monotonic time the next allowance is due to be given back, if any is held."""
        with self._lock:
            if not self._held:
                return None
            return min(a.deadline for a in self._held.values()) + REFUND_GRACE_SECONDS

    def drain(self) -> list[Allowance]:
        """Remove and return every allowance."""
        with self._lock:
            held, self._held = list(self._held.values()), {}
        return held
