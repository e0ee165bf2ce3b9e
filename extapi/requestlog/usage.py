"""What the admin pages show of a client's traffic, read from the request log.

Rows reach the log about a second after their request (see :mod:`extapi.requestlog.buffer`),
so the current minute may lag slightly behind the client's real rate.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select

from extapi.db.tables import api_request_log, api_usage_minutes
from extapi.requestlog.listed import REQUEST_COLUMNS, LoggedTime, utc_text

__all__ = [
    "MinuteUsage",
    "HourUsage",
    "LoggedRequest",
    "usage_last_hour",
    "recent_requests",
    "percent_of",
    "NEAR_LIMIT",
]

MINUTES = 60
NEAR_LIMIT = 0.8  # a minute above this share of the budget is flagged

_log = api_request_log.c
_sums = api_usage_minutes.c
_HOUR = select(
    _sums.minute, _sums.points, _sums.requests, _sums.errors, _sums.rate_limited, _sums.budget
).where(
    (_sums.client_id == bindparam("client"))
    & (_sums.minute >= bindparam("first"))
    & (_sums.minute <= bindparam("current"))
)
_RECENT = (
    select(*REQUEST_COLUMNS)
    .where(_log.client_id == bindparam("client"))
    .order_by(_log.time.desc(), _log.id.desc())
    .limit(bindparam("limit"))
)


def percent_of(part: int, whole: int) -> str:
    """``part`` as a whole percentage of ``whole``: "0%", "<1%", "85%", "120%"."""
    if whole <= 0:
        return "n/a"
    if 0 < part < whole / 100:
        return "<1%"
    return f"{round(part * 100 / whole)}%"


@dataclass(frozen=True)
class MinuteUsage:
    start: int  # unix seconds at which the minute began
    points: int  # complexity points charged (refused requests cost nothing)
    requests: int
    errors: int
    rate_limited: int
    # The per-minute budget in force in that minute; None when not recorded (an idle minute,
    # or one logged before it was kept): the current budget then stands in.
    budget: int | None = None

    def budget_or(self, current: int) -> int:
        """The budget this minute is judged against."""
        return current if self.budget is None else self.budget

    @property
    def label(self) -> str:
        """The minute in UTC, "HH:MM" (by arithmetic: UTC has no offsets to look up)."""
        return f"{self.start // 3600 % 24:02d}:{self.start // 60 % 60:02d}"

    @property
    def iso(self) -> str:
        return utc_text(self.start, "%Y-%m-%dT%H:%MZ")

    def near_limit(self, current: int) -> bool:
        budget = self.budget_or(current)
        return budget > 0 and self.points > budget * NEAR_LIMIT

    def percent(self, current: int) -> str:
        return percent_of(self.points, self.budget_or(current))


@dataclass(frozen=True)
class HourUsage:
    buckets: list[MinuteUsage]  # 60 minutes, oldest first; the last is the current minute
    points: int
    requests: int
    errors: int
    rate_limited: int

    @classmethod
    def of(cls, buckets: list[MinuteUsage]) -> HourUsage:
        """The hour made of ``buckets``, with its totals."""
        return cls(
            buckets,
            points=sum(b.points for b in buckets),
            requests=sum(b.requests for b in buckets),
            errors=sum(b.errors for b in buckets),
            rate_limited=sum(b.rate_limited for b in buckets),
        )

    @property
    def peak(self) -> MinuteUsage:
        """The minute with the most points (the latest of equals)."""
        return max(reversed(self.buckets), key=lambda b: b.points)

    def peak_percent(self, current: int) -> str:
        peak = self.peak
        return percent_of(peak.points, peak.budget_or(current))

    def budget_changed(self, current: int) -> bool:
        """Whether any minute was judged against another budget than ``current``."""
        return any(b.budget is not None and b.budget != current for b in self.buckets)

    def near_limit(self, budget: int) -> bool:
        """Whether any minute went over 80 % of ``budget``."""
        return any(b.near_limit(budget) for b in self.buckets)


def usage_last_hour(conn: Connection, client_db_id: int, now: float) -> HourUsage:
    """Per-minute figures for the 60 minutes up to and including the one holding ``now``:
    at most 60 rows of the per-minute sums, however busy the client."""
    current = int(now) // 60
    first = current - MINUTES + 1
    found = {
        int(minute): row
        for minute, *row in conn.execute(
            _HOUR, {"client": client_db_id, "first": first, "current": current}
        )
    }
    buckets = []
    for minute in range(first, current + 1):
        points, requests, errors, limited, budget = found.get(minute, (0, 0, 0, 0, None))
        buckets.append(
            MinuteUsage(
                minute * 60,
                int(points),
                int(requests),
                int(errors),
                int(limited),
                None if budget is None else int(budget),
            )
        )
    return HourUsage.of(buckets)


@dataclass(frozen=True)
class LoggedRequest(LoggedTime):
    id: int
    time: int
    operations: str
    complexity: int
    status: int
    outcome: str  # see extapi.requestlog.outcomes
    duration_ms: float


def recent_requests(conn: Connection, client_db_id: int, limit: int = 50) -> list[LoggedRequest]:
    """The client's latest logged requests, newest first, in one statement."""
    rows = conn.execute(_RECENT, {"client": client_db_id, "limit": limit})
    return [
        LoggedRequest(int(i), int(t), ops, int(points), int(status), outcome, float(ms))
        for i, t, ops, points, status, outcome, ms in rows
    ]
