"""What a query's rate-limit charge costs the worker with the windows in Redis: spent from an
allowance (no round trip) against charged exactly (one script call).

Run it with ``.venv/bin/python -m bench.allowance_cost --redis-url redis://.../N
[--iterations 20000]``. Both loops run on one thread against budgets as large as the settings
allow, like ``bench/run.py``; wall and thread CPU time per charge are printed.
"""

from __future__ import annotations

import argparse
import time
import uuid

from extapi.limits.window import Budget, RedisWindowStore

LARGEST = 2_147_483_647


def per_charge(store: RedisWindowStore, budgets: list[Budget], n: int, exact: bool) -> str:
    wall, cpu = time.perf_counter(), time.thread_time()
    for _ in range(n):
        store.charge(budgets, 6, time.time(), require_fit=True, exact=exact)
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    return f"{1e6 * wall / n:.1f} µs wall, {1e6 * cpu / n:.1f} µs CPU a charge"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--iterations", type=int, default=20_000)
    args = parser.parse_args()
    prefix = f"extapi:bench:{uuid.uuid4().hex}:"
    store = RedisWindowStore(args.redis_url, prefix=prefix)
    budgets = [Budget("site", LARGEST), Budget("client:1", LARGEST)]
    try:
        store.charge(budgets, 6, time.time(), require_fit=True)  # connect, load the script
        exact = per_charge(store, budgets, max(1, args.iterations // 10), exact=True)
        spent = per_charge(store, budgets, args.iterations, exact=False)
        print(f"charged exactly in Redis: {exact}")
        print(f"spent from allowances:    {spent} (a Redis call now and then included)")
    finally:
        store.close()


if __name__ == "__main__":
    main()
