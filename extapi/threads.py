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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from extapi.memory import return_large_buffers

__all__ = [
    "WorkerThreads",
    "THREAD_NAME_PREFIX",
    "SWITCH_INTERVAL_SECONDS",
    "prepare_serving_process",
]

THREAD_NAME_PREFIX = "extapi-worker"
# How long a thread may hold the GIL while another waits for it (Python's default: 5 ms).
SWITCH_INTERVAL_SECONDS = 0.001

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


class WorkerThreads:
    """A bounded pool of named threads; threads start on first use."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix=THREAD_NAME_PREFIX)

    async def run(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``work(*args, **kwargs)`` in a worker thread, in a copy of the caller's context
        variables. If the caller is cancelled, work that has started still runs to its end."""
        call = functools.partial(contextvars.copy_context().run, work, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def close(self) -> None:
        """Wait for running work to finish; no new work is accepted."""
        self._pool.shutdown(wait=True)
