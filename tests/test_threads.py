"""The worker threads beside the event loop, their configuration and the serving process's
interpreter settings."""

from __future__ import annotations

import asyncio
import contextvars
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from extapi.config import Config, load_config
from extapi.errors import ConfigError
from extapi.runtime import Runtime, open_runtime, thread_count
from extapi.threads import THREAD_NAME_PREFIX, WorkerThreads
from tests.support.aio import run_async

REQUEST = contextvars.ContextVar("request", default="none")


def test_work_runs_in_a_named_worker_thread_with_the_callers_context():
    # given a pool, and a context variable set by the caller
    pool = WorkerThreads(2)

    def work(x: int) -> tuple[str, str, int]:
        return threading.current_thread().name, REQUEST.get(), x * 2

    async def caller() -> tuple[str, str, int]:
        REQUEST.set("request 7")
        return await pool.run(work, 21)

    # when work is handed to it
    try:
        name, seen, result = run_async(caller())
    finally:
        pool.close()
    # then it ran in a worker thread, saw the caller's context, and its result came back
    assert name.startswith(THREAD_NAME_PREFIX)
    assert seen == "request 7"
    assert result == 42


def test_an_exception_in_a_worker_thread_reaches_the_caller():
    pool = WorkerThreads(1)

    def fail() -> None:
        raise ValueError("from the thread")

    # when the work raises, then the caller sees the same exception
    try:
        with pytest.raises(ValueError, match="from the thread"):
            run_async(pool.run(fail))
    finally:
        pool.close()


def test_work_that_started_finishes_even_when_its_caller_is_cancelled():
    # given work held inside a worker thread
    pool = WorkerThreads(1)
    entered, release, finished = threading.Event(), threading.Event(), threading.Event()

    def work() -> None:
        entered.set()
        release.wait(60)
        finished.set()

    async def caller() -> None:
        task = asyncio.create_task(pool.run(work))
        await asyncio.to_thread(entered.wait, 60)
        # when the caller is cancelled while the work runs
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        run_async(caller())
        release.set()
    finally:
        pool.close()  # waits for running work
    # then the work still ran to its end
    assert finished.is_set()


@pytest.mark.parametrize(("raw", "expected"), [(None, 4), ("1", 1), ("16", 16)])
def test_worker_threads_come_from_the_environment(raw, expected):
    env = {} if raw is None else {"EXTAPI_WORKER_THREADS": raw}
    assert load_config(env).worker_threads == expected


@pytest.mark.parametrize("raw", ["0", "-2", "four", "1.5"])
def test_a_bad_worker_thread_count_fails_fast(raw):
    with pytest.raises(ConfigError, match="EXTAPI_WORKER_THREADS"):
        load_config({"EXTAPI_WORKER_THREADS": raw})


def test_the_connection_pool_holds_a_connection_per_thread_and_one_for_the_token_check(
    database_url,
):
    # given a runtime with six worker threads
    runtime = open_runtime(Config(database_url=database_url, worker_threads=6))
    try:
        # then its pool keeps seven connections
        assert runtime.threads.size == 6
        assert runtime.engine.pool.size() == 7  # type: ignore[attr-defined]
    finally:
        runtime.close()


def test_an_in_memory_database_gets_one_worker_thread():
    # its single connection is shared by every thread, so they must take turns
    assert thread_count(Config(database_url="sqlite://", worker_threads=8)) == 1
    assert thread_count(Config(database_url="sqlite:///x.db", worker_threads=8)) == 8


def test_known_settings_are_the_last_loaded_without_a_read(runtime: Runtime):
    # given the settings loaded at the current revision
    loaded = runtime.current_settings()
    # then they are known without asking the database again
    assert runtime.known_settings() is loaded


def test_the_serving_process_shortens_the_switch_interval_and_freezes_its_start(
    tmp_path: Path,
):
    # when a worker process builds its app the way uvicorn does
    script = (
        "import gc, sys\n"
        "from extapi.app import create_app_from_env\n"
        "create_app_from_env()\n"
        "print(sys.getswitchinterval(), gc.get_freeze_count() > 0)\n"
    )
    env = {"EXTAPI_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}", "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    # then the GIL changes hands every millisecond and the objects made at start are frozen
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0.001", "True"]
