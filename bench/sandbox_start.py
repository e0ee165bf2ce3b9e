"""Sandbox start, reset and stop times (BENCHMARKS.md, "Test sandbox").

Run from the checkout: ``python -m bench.sandbox_start``. The first start in a process
migrates the template database and applies the seed; later starts copy the seeded snapshot.
"""

from __future__ import annotations

import statistics
import time

from extapi.sandbox import running

ROUNDS = 10


def main() -> None:
    starts: list[float] = []
    resets: list[float] = []
    stops: list[float] = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        with running() as sandbox:
            starts.append(time.perf_counter() - began)
            sandbox.token()
            for _ in range(ROUNDS):
                sandbox.reset()
            resets.extend(sandbox.timings["reset"])
            stopping = time.perf_counter()
        stops.append(time.perf_counter() - stopping)

    def ms(values: list[float]) -> str:
        return f"median {statistics.median(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"

    print(f"first start: {starts[0] * 1000:.0f} ms")
    print(f"later starts ({len(starts) - 1}): {ms(starts[1:])}")
    print(f"resets ({len(resets)}): {ms(resets)}")
    print(f"stops ({len(stops)}): {ms(stops)}")


if __name__ == "__main__":
    main()
