"""Fire many GraphQL requests at a live server at the same moment.

Every request waits at a barrier until all are ready, then goes out on its own connection so
that the kernel spreads them over the worker processes. Only outcomes are asserted on, never
timings: however the requests interleave, the answers must be the same.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["Answer", "race"]


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]

    @property
    def succeeded(self) -> bool:
        return "errors" not in self.body and self.body.get("data") is not None

    @property
    def reason(self) -> str | None:
        """The hidden reason of the first error (Normal error level), if any."""
        errors = self.body.get("errors") or []
        return errors[0].get("debugMessage") if errors else None


def race(url: str, token: str, bodies: list[dict[str, Any]]) -> list[Answer]:
    """POST every body at once; the answers come back in the order of the bodies."""
    barrier = threading.Barrier(len(bodies))
    answers: list[Answer | None] = [None] * len(bodies)
    failures: list[BaseException] = []

    def fire(index: int) -> None:
        headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
        try:
            with httpx.Client(timeout=120) as client:
                barrier.wait()
                response = client.post(url, json=bodies[index], headers=headers)
            answers[index] = Answer(response.status_code, response.json())
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return [answer for answer in answers if answer is not None]
