"""A serving process gives large freed buffers (password hashes) back to the system."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Coroutine
from typing import Any

import pytest

PROBE = """
import sys
from extapi.memory import return_large_buffers
from extapi.people.passwords import hash_password

def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

fixed = return_large_buffers() if sys.argv[1] == "fixed" else None
hash_password("warm up")
before = rss_kib()
for i in range(8):
    hash_password(f"password {i}")
print(fixed, rss_kib() - before)
"""


def _growth_kib(mode: str) -> tuple[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator (Linux)")
def test_hash_buffers_are_returned_once_the_threshold_is_fixed() -> None:
    # given a process that fixed the mmap threshold, when it hashes passwords,
    fixed, growth = _growth_kib("fixed")
    # then the 19 MiB each hash used is not kept.
    assert fixed == "True"
    assert growth < 8 * 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator (Linux)")
def test_without_it_the_heap_keeps_a_hash_buffer() -> None:
    # The control: the growth the fix removes is real on this system.
    _, growth = _growth_kib("default")
    assert growth > 12 * 1024


TRIM_PROBE = """
import sys
from extapi.memory import give_back_free_pages, return_large_buffers

def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

return_large_buffers()
before = rss_kib()
blocks = [bytes(4000) + bytes([i % 256]) for i in range(8000)]  # about 32 MB on the heap
pin = bytes(4000) + b"x"  # made after them, so the top of the heap stays in use
del blocks
trimmed = give_back_free_pages() if sys.argv[1] == "trim" else None
print(trimmed, rss_kib() - before)
"""


def _kept_kib(mode: str) -> tuple[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", TRIM_PROBE, mode], capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator (Linux)")
def test_free_pages_inside_the_heap_go_back_once_trimmed() -> None:
    # given a process that freed 32 MB of blocks below one still in use, when it gives back
    # its free pages, then it keeps almost none of the 32 MB.
    trimmed, kept = _kept_kib("trim")
    assert trimmed == "True"
    assert kept < 8 * 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator (Linux)")
def test_without_trimming_the_heap_keeps_them() -> None:
    # The control: the heap does keep those pages on this system.
    _, kept = _kept_kib("none")
    assert kept > 24 * 1024


def _run_apart(work: Coroutine[Any, Any, object]) -> None:
    """Run a coroutine to its end on an event loop of its own thread: this thread may already
    run one (Playwright's, when the browser tests ran first)."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(work)
        except BaseException as exc:  # re-raised in the test's thread
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


def test_only_a_long_task_in_a_worker_thread_is_followed_by_a_trim(monkeypatch) -> None:
    from extapi import threads

    calls: list[str] = []
    monkeypatch.setattr(threads, "give_back_free_pages", lambda: calls.append("trim") or True)
    pool = threads.WorkerThreads(1)
    try:
        # given worker threads, when a task runs longer than the threshold (here: any task),
        monkeypatch.setattr(threads, "TRIM_AFTER_SECONDS", -1.0)
        _run_apart(pool.run(calls.append, "long"))
        # and then one shorter than it (here: every task),
        monkeypatch.setattr(threads, "TRIM_AFTER_SECONDS", float("inf"))
        _run_apart(pool.run(calls.append, "short"))
    finally:
        pool.close()
    # then only the long one is followed by a trim.
    assert calls == ["long", "trim", "short"]
