"""The background task that writes each worker's request log: started and stopped by the
pages app's lifespan, so it runs in every ``extapi serve`` worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from extapi.requestlog.buffer import RequestLog
from extapi.runtime import Runtime

__all__ = ["request_log_lifespan", "flush_forever", "FLUSH_INTERVAL_SECONDS"]

FLUSH_INTERVAL_SECONDS = 1.0

log = logging.getLogger("extapi.requestlog")


async def flush_forever(request_log: RequestLog, interval: float) -> None:
    """Flush every ``interval`` seconds, in a thread so that the event loop keeps serving."""
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(request_log.flush)
        except Exception:  # never let the task die: the next round may succeed
            log.exception("request log: flush failed")


@contextlib.asynccontextmanager
async def request_log_lifespan(
    runtime: Runtime, interval: float = FLUSH_INTERVAL_SECONDS
) -> AsyncIterator[None]:
    """Flush the worker's request log in the background while the app runs, and once more
    at shutdown. With the log off it does nothing."""
    request_log = runtime.request_log
    if not request_log.enabled:
        yield
        return
    task = asyncio.create_task(flush_forever(request_log, interval))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # Waits for a flush the cancelled task may have left running in its thread.
        await asyncio.to_thread(request_log.flush)
