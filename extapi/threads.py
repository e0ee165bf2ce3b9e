"""The worker threads beside each process's event loop.

A request that may take long (database work, password hashing, a large or new GraphQL document)
runs in one of these threads, so the event loop stays free to read, answer and dispatch every
other request meanwhile. The pool is bounded: beyond its size, requests wait their turn in its
queue instead of piling up connections. Database drivers, SQLite and Argon2 release the GIL
while they work; pure-Python work (GraphQL validation and execution) shares it with the loop,
which Python hands over every few milliseconds.

Work that has started always finishes, even when its client has gone away (the answer is then
dropped): a mutation is committed or rolled back whole, never left half done.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import gc
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from extapi.memory import give_back_free_pages, return_large_buffers

__all__ = [
    "WorkerThreads",
    "THREAD_NAME_PREFIX",
    "SWITCH_INTERVAL_SECONDS",
    "TRIM_AFTER_SECONDS",
    "prepare_serving_process",
]

THREAD_NAME_PREFIX = "extapi-worker"
# How long a thread may hold the GIL while another waits for it (Python's default: 5 ms).
SWITCH_INTERVAL_SECONDS = 0.001
# After work that took this long, the heap's free pages go back to the system (see
# extapi.memory.give_back_free_pages); shorter work leaves too little to be worth the call.
TRIM_AFTER_SECONDS = 0.02

P = ParamSpec("P")
T = TypeVar("T")


def prepare_serving_process() -> None:
    """Interpreter settings for a process that serves requests, applied once its app is built.

    * The event loop waits for the GIL each time it wakes up while a worker thread runs Python
      code, up to the switch interval each time; a shorter interval keeps the status query
      fast beside a heavy request (see BENCHMARKS.md, "Noisy neighbour").
    * A full garbage collection stops every thread for as long as it takes to scan every object
      the process holds; most of them (the schema, modules, the database engine) are made at
      start and live as long as the process. Freezing them leaves only later objects to scan.
    * Large buffers (a password hash takes 19 MiB) are given back to the system when freed; see
      :func:`extapi.memory.return_large_buffers`.
    """
    return_large_buffers()
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    gc.collect()
    gc.freeze()


def _trimming(call: Callable[[], T]) -> T:
    """``call()``, then, if it ran long, the heap's free pages go back to the system (a
    long request, such as a page of 461 users, frees megabytes the heap would keep)."""
    started = time.perf_counter()
    try:
        return call()
    finally:
        if time.perf_counter() - started > TRIM_AFTER_SECONDS:
            give_back_free_pages()


class WorkerThreads:
    """A bounded pool of named threads; threads start on first use."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix=THREAD_NAME_PREFIX)

    async def run(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``work(*args, **kwargs)`` in a worker thread, in a copy of the caller's context
        variables. If the caller is cancelled, work that has started still runs to its end."""
        call = functools.partial(contextvars.copy_context().run, work, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool, _trimming, call)

    def close(self) -> None:
        """Wait for running work to finish; no new work is accepted."""
        self._pool.shutdown(wait=True)
