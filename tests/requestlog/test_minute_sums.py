"""The per-minute sums a flush adds, against the rule worked out row by row."""

from __future__ import annotations

import random
from collections.abc import Sequence

from sqlalchemy import select

from extapi.db.tables import api_usage_minutes
from extapi.requestlog.outcomes import ERROR, IP_NOT_ALLOWED, RATE_LIMITED, REFUSED, SUCCESS
from extapi.requestlog.writer import COMPLEXITY_MAX, Row, write_rows
from extapi.runtime import Runtime
from tests.factories import make_api_client

NOW = 1_800_000_000
OUTCOMES = (SUCCESS, SUCCESS, SUCCESS, ERROR, RATE_LIMITED, IP_NOT_ALLOWED, REFUSED)
Sums = dict[tuple[int, int], tuple[int, int, int, int, int | None]]


def expected_sums(batches: Sequence[Sequence[Row]]) -> Sums:
    """The rule, row by row: a 429 costs no points; errors, refusals and addresses not
    allowed count as errors; a minute's budget is the lowest known one (0: not known)."""
    sums: dict[tuple[int, int], list[int]] = {}
    budgets: dict[tuple[int, int], int | None] = {}
    for rows in batches:
        for client, at, _ops, points, _status, outcome, _ms, budget, *_ in rows:
            key = (client, at // 60)
            entry = sums.setdefault(key, [0, 0, 0, 0])
            limited = outcome == RATE_LIMITED
            entry[0] += 0 if limited else min(max(points, 0), COMPLEXITY_MAX)
            entry[1] += 1
            entry[2] += outcome in (ERROR, IP_NOT_ALLOWED, REFUSED)
            entry[3] += limited
            known = budgets.get(key)
            if budget > 0 and (known is None or budget < known):
                budgets[key] = budget
            else:
                budgets.setdefault(key, None)
    return {key: (*values, budgets[key]) for key, values in sums.items()}  # type: ignore[misc]


def stored_sums(runtime: Runtime) -> Sums:
    with runtime.engine.connect() as conn:
        found = conn.execute(select(api_usage_minutes)).mappings().all()
    return {
        (row["client_id"], row["minute"]): (
            row["points"],
            row["requests"],
            row["errors"],
            row["rate_limited"],
            row["budget"],
        )
        for row in found
    }


def test_flushes_add_up_to_the_rule_for_random_rows(runtime: Runtime) -> None:
    # given three clients, and five batches of random requests over four minutes (budgets
    # known or not, changing between batches, costs past 32 bits and below zero included)
    clients = [make_api_client(runtime, name=f"Sums {n}").id for n in range(3)]
    rng = random.Random(14)
    batches: list[list[Row]] = []
    for _ in range(5):
        rows: list[Row] = []
        for _ in range(rng.randint(1, 80)):
            outcome = rng.choice(OUTCOMES)
            rows.append(
                (
                    rng.choice(clients),
                    NOW + rng.randint(0, 4 * 60 - 1),
                    "op",
                    rng.choice([0, 1, 7, 250, -3, COMPLEXITY_MAX + 5]),
                    429 if outcome == RATE_LIMITED else 200,
                    outcome,
                    1.5,
                    rng.choice([0, 0, 1000, 500, 2500]),
                    None,
                    None,
                    None,
                )
            )
        batches.append(rows)
    # when each batch is flushed in a transaction of its own
    for rows in batches:
        with runtime.engine.begin() as conn:
            assert write_rows(conn, rows) == len(rows)
    # then the stored minutes are the rule's sums, the later batches added to the earlier ones
    assert stored_sums(runtime) == expected_sums(batches)


def test_a_minute_with_no_known_budget_keeps_none_until_one_is_known(runtime: Runtime) -> None:
    client = make_api_client(runtime).id

    def flush(budget: int) -> None:
        row: Row = (client, NOW, "op", 5, 200, SUCCESS, 1.0, budget, None, None, None)
        with runtime.engine.begin() as conn:
            write_rows(conn, [row])

    # given a minute whose requests did not know their budget
    flush(0)
    assert stored_sums(runtime)[(client, NOW // 60)][4] is None
    # when later requests of the minute know it, then the lowest known one is kept
    flush(900)
    flush(1200)
    assert stored_sums(runtime)[(client, NOW // 60)] == (15, 3, 0, 0, 900)
