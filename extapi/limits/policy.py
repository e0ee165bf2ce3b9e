"""Rate-limit policy: which budgets a request draws on, when it is refused, what it is told.

Totara's rule, with one refinement so that concurrent requests cannot overrun a budget:

1. A request holding a mutation needs room for one point in every budget (site and client)
   before any work; otherwise it gets 429 at once and costs nothing.
2. After execution the request's complexity is charged to both budgets in one atomic step. A
   query whose cost does not fit is answered 429 instead of its data (it changed nothing), so
   the points admitted never exceed a budget; a query-only request therefore needs just this
   one window operation. A mutation has already changed data, so its cost is always charged
   and its answer always sent: nothing in the answer depends on the charge, so the request
   does not wait for it (:meth:`WindowStore.charge_later`), and its rate headers are the
   precheck's reading plus its cost.

So a request waits on at most one round trip to the store: the charge of a query-only request,
or the precheck of a mutation. A request that fails authentication never reaches the store.
A query's charge is often answered with no round trip at all, from points the store reserved
in advance (:mod:`extapi.limits.allowance`), unless the request asks for exact figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from extapi.auth.tokens import ApiCaller
from extapi.limits.window import WINDOW_SECONDS, Budget, Verdict, WindowStore
from extapi.settings.site import SiteSettings

__all__ = ["RateLimiter", "TOO_MANY_REQUESTS", "rate_headers", "retry_headers"]

TOO_MANY_REQUESTS = "Too many requests"


# How many budget pairs a limiter keeps built (one per client and limits in use).
KNOWN_BUDGETS_MAX = 4096


@dataclass
class RateLimiter:
    store: WindowStore | None  # None: rate limiting is off
    # Budget pairs already built, by client and limits: every request needs its pair.
    _known: dict[tuple[int, int, int], list[Budget]] = field(default_factory=dict, repr=False)

    def budgets(self, site: SiteSettings, caller: ApiCaller) -> list[Budget]:
        client_limit = min(caller.client_rate_limit, site.client_rate_limit)
        key = (caller.client_pk, client_limit, site.site_rate_limit)
        known = self._known.get(key)
        if known is None:
            known = [
                Budget("site", site.site_rate_limit),
                Budget(f"client:{caller.client_pk}", client_limit),
            ]
            if len(self._known) >= KNOWN_BUDGETS_MAX:
                self._known.clear()
            self._known[key] = known
        return known

    def precheck(self, budgets: Sequence[Budget], now: float) -> Verdict | None:
        return None if self.store is None else self.store.check(budgets, now)

    def settle(
        self,
        budgets: Sequence[Budget],
        points: int,
        now: float,
        admitted: Verdict | None = None,
        exact: bool = False,
    ) -> Verdict | None:
        """Charge a request's cost. ``admitted`` is a mutation's precheck: its charge is then
        not waited for, and the verdict returned is the precheck's plus ``points``. ``exact``
        (a request that reports its rates) charges a query in the store itself, so that its
        rates are the store's, not an estimate from points reserved in advance."""
        if self.store is None:
            return None
        if admitted is not None:
            self.store.charge_later(budgets, points, now)
            return admitted.plus(points)
        if points == 0:
            # Nothing to add, but like Totara a request still needs room for one point.
            return self.store.check(budgets, now)
        return self.store.charge(budgets, points, now, require_fit=True, exact=exact)


def rate_headers(budgets: Sequence[Budget], verdict: Verdict) -> list[tuple[bytes, bytes]]:
    """IETF RateLimit-Policy / RateLimit fields for the client's own budget (and the site's).

    ``RateLimit`` says what is left and when: on a refusal its reset is the same wait as
    ``Retry-After``. When the store could not be asked, only the policy is sent: the
    remaining budget is not known, so it is not claimed."""
    policy = ", ".join(
        f'"{b.key.split(":")[0]}";q={b.limit};w={WINDOW_SECONDS}' for b in reversed(budgets)
    )
    headers = [(b"ratelimit-policy", policy.encode())]
    if not verdict.known:
        return headers
    client = len(budgets) - 1
    remaining = verdict.remaining(client, budgets[client].limit)
    reset = _retry_seconds(verdict) if not verdict.allowed else max(verdict.reset_after, 0)
    headers.append((b"ratelimit", f'"client";r={remaining};t={reset}'.encode()))
    return headers


def retry_headers(budgets: Sequence[Budget], verdict: Verdict) -> list[tuple[bytes, bytes]]:
    """Headers of a 429: when the refused request would fit, plus the IETF fields."""
    seconds = _retry_seconds(verdict)
    return [(b"retry-after", str(seconds).encode()), *rate_headers(budgets, verdict)]


def _retry_seconds(verdict: Verdict) -> int:
    return max(1, math.ceil(verdict.retry_after))
