"""Throughput benchmark of the real ``extapi`` server against the HTTP-stack ceiling.

Run it with ``make bench`` or ``.venv/bin/python bench/run.py [--duration 10]
[--connections 16] [--database-url URL] [--workers 1] [--output FILE]``.

What it does, in one run:

1. makes a fresh database (SQLite in a temp dir by default; with ``--database-url`` a
   PostgreSQL database that is dropped and created again) and fills it through the real CLI
   (``extapi user add`` / ``role assign`` / ``client add``), each in a subprocess;
2. starts the real server (``extapi serve``) and, on another port, ``bench/ceiling.py``: a bare
   ASGI app served by uvicorn with the same options ``extapi serve`` uses (httptools, uvloop,
   no access log, one worker) that answers any request with the status query's bytes;
3. drives each with ``wrk`` (one thread, so that the other core is left to the server), after a
   short warm-up, in this order:

   * **status**: ``POST /api/graphql.php`` with a Bearer token and the query
     ``query { totara_webapi_status { status } }``: authentication, GraphQL parse/validate/
     execute and serialisation, the smallest useful authenticated request (first, on a
     server that has served nothing else);
   * **token**: ``POST /totara/oauth2/token.php`` with the client-credentials form; every
     request checks the client secret and stores a new token (same server, afterwards);
   * **status-off**: the status query on a fresh server with rate limiting off;
   * **ceiling**: the same POST against the bare ASGI app;
   * **starlette**: the same POST against a one-route Starlette app giving the same bytes.

How to read the numbers: the ceiling is the most requests/s uvicorn can serve on this machine
with these options, so it bounds what any application on that stack can do. The "% of ceiling"
column says how much of it the real server keeps; the aim is the status query at 60 % or more
on one worker. p50/p99 are wrk's latency percentiles at the given number of open connections
(a closed loop: lower throughput shows up as higher latency). Each response is checked once
before its load run, and a run with socket errors or non-2xx/3xx answers makes the script fail.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

from extapi.config import Config
from extapi.runtime import Runtime, open_runtime

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
TOKEN_PATH = "/totara/oauth2/token.php"
GRAPHQL_PATH = "/api/graphql.php"
STATUS_QUERY = {"query": "query { totara_webapi_status { status } }", "variables": "{}"}
STATUS_ANSWER = {"data": {"totara_webapi_status": {"status": "ok"}}}
STARTUP_TIMEOUT_S = 30.0
MAX_BUDGET = 2147483647
RESULT_MARKER = "BENCH_RESULT "


class BenchError(Exception):
    """A failure that ends the run with a message (and exit status 1)."""


@dataclass(frozen=True)
class Options:
    duration: int
    connections: int
    database_url: str | None
    workers: int
    warmup: int
    output: Path | None
    redis_url: str | None = None


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_us: int
    p50_us: int
    p99_us: int

    @property
    def rps(self) -> float:
        return self.requests / (self.duration_us / 1_000_000)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    result: WrkResult


# --- command line ---------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per load run")
    parser.add_argument("--connections", type=int, default=16, help="open connections (wrk -c)")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--workers", type=int, default=1, help="extapi serve --workers")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds before each run")
    parser.add_argument("--output", type=Path, default=None, help="append the Markdown here")
    parser.add_argument(
        "--redis-url", default=None, help="keep rate-limit windows in this Redis (default: memory)"
    )
    args = parser.parse_args(argv)
    if args.duration < 1 or args.connections < 1 or args.workers < 1 or args.warmup < 0:
        parser.error("--duration, --connections, --workers must be >= 1 and --warmup >= 0")
    return Options(
        args.duration,
        args.connections,
        args.database_url,
        args.workers,
        args.warmup,
        args.output,
        args.redis_url,
    )


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def quiet_run(command: list[str]) -> bool:
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return done.returncode == 0


# --- wrk ------------------------------------------------------------------------------------
def ensure_wrk() -> str:
    """The path of ``wrk``, installed with apt-get if it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk not found: installing it with apt-get")
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if shutil.which("apt-get") is None:
        raise BenchError("wrk is not installed and apt-get is unavailable; install wrk first")
    if not quiet_run(install):
        quiet_run(["apt-get", "update", "-q"])
        quiet_run(install)
    found = shutil.which("wrk")
    if not found:
        raise BenchError("could not install wrk (try 'apt-get install wrk' as root)")
    return found


def run_wrk(
    wrk: str,
    script: str,
    url: str,
    env: Mapping[str, str],
    connections: int,
    seconds: int,
    prefix: Sequence[str] = (),
) -> WrkResult:
    """One wrk run (one thread, ``connections`` open), its command started with ``prefix``
    (such as ``taskset -c 1``)."""
    command = [
        *prefix,
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        str(BENCH_DIR / script),
        url,
    ]
    done = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, timeout=seconds + 30
    )
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return parse_wrk(done.stdout, url)


def parse_wrk(output: str, url: str) -> WrkResult:
    """Read the line ``wrk_report.lua`` prints; fail on socket errors or error statuses."""
    lines = [line for line in output.splitlines() if line.startswith(RESULT_MARKER)]
    if not lines:
        raise BenchError(f"no result line in the wrk output:\n{output}")
    data = json.loads(lines[-1][len(RESULT_MARKER) :])
    errors = {k: data[k] for k in ("connect", "read", "write", "timeout") if data[k]}
    if errors or data["status"] or "Non-2xx" in output:
        raise BenchError(
            f"wrk saw failures against {url}: socket errors {errors or 'none'}, "
            f"{data['status']} non-2xx/3xx responses\n{output}"
        )
    if data["requests"] == 0:
        raise BenchError(f"wrk completed no request against {url}\n{output}")
    return WrkResult(data["requests"], data["duration_us"], data["p50_us"], data["p99_us"])


def measure(wrk: str, script: str, url: str, env: Mapping[str, str], options: Options) -> WrkResult:
    if options.warmup:
        run_wrk(wrk, script, url, env, options.connections, options.warmup)
    result = run_wrk(wrk, script, url, env, options.connections, options.duration)
    log(f"{url}: {result.rps:,.0f} req/s, p50 {fmt_us(result.p50_us)}, p99 {fmt_us(result.p99_us)}")
    return result


# --- database and data ----------------------------------------------------------------------
def reset_postgres(url: str) -> str:
    """Drop and create the database named in ``url``; return the server version."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    target = make_url(url)
    if not target.database:
        raise BenchError(f"--database-url names no database: {url}")
    admin = target.set(drivername="postgresql", database="postgres")
    conninfo = admin.render_as_string(hide_password=False)
    name = sql.Identifier(target.database)
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
            version = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error as exc:
        raise BenchError(f"could not recreate the PostgreSQL database: {exc}") from exc
    return f"PostgreSQL {version[0] if version else '?'}"


def prepare_database(database_url: str | None, tmp: Path, name: str) -> tuple[str, str]:
    """The database URL to use (PostgreSQL, dropped and created again, or a SQLite file
    ``name``.db in ``tmp``) and a description of the backend."""
    if database_url is None:
        import sqlite3

        return (
            f"sqlite:///{tmp / (name + '.db')}",
            f"SQLite {sqlite3.sqlite_version} (file, temp dir)",
        )
    return database_url, reset_postgres(database_url)


def run_cli(env: Mapping[str, str], *args: str, root: Path = ROOT) -> str:
    """``extapi ARGS`` run from the checkout at ``root`` (whose package it imports)."""
    done = subprocess.run(
        [sys.executable, "-m", "extapi", *args],
        env=dict(env),
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise BenchError(f"'extapi {' '.join(args)}' failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def seed(env: Mapping[str, str], root: Path = ROOT) -> Credentials:
    """A service account with the apiuser role and an API client acting as it."""

    def cli(*args: str) -> str:
        return run_cli(env, *args, root=root)

    cli(
        "user",
        "add",
        "--username",
        "svc",
        "--email",
        "svc@example.com",
        "--firstname",
        "Service",
        "--lastname",
        "Account",
    )
    cli("role", "assign", "apiuser", "--user", "svc")
    out = cli("client", "add", "--name", "bench", "--service-account", "svc", "--json")
    data = json.loads(out)
    # Budgets as large as the settings allow: the load runs measure the cost of the
    # accounting, and would otherwise be cut short by 429s within seconds.
    for name in ("site_rate_limit", "client_rate_limit"):
        cli("settings", "set", name, str(MAX_BUDGET))
    cli("client", "set", data["client_id"], "--rate-limit", str(MAX_BUDGET))
    return Credentials(data["client_id"], data["client_secret"])


# --- servers --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(proc: subprocess.Popen[bytes], base: str, logfile: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"server exited ({proc.returncode}):\n{tail(logfile)}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise BenchError(f"server at {base} not ready after {STARTUP_TIMEOUT_S:.0f}s:\n{tail(logfile)}")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextmanager
def server(
    command: list[str], env: Mapping[str, str], logfile: Path, root: Path = ROOT
) -> Iterator[str]:
    """Start a server on a free port (``{port}`` in ``command``), from the checkout at
    ``root``; yield its base URL."""
    port = free_port()
    argv = [part.replace("{port}", str(port)) for part in command]
    base = f"http://127.0.0.1:{port}"
    with logfile.open("wb") as out:
        proc = subprocess.Popen(argv, env=dict(env), cwd=root, stdout=out, stderr=out)
    try:
        wait_ready(proc, base, logfile)
        yield base
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def extapi_command(workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "extapi",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--workers",
        str(workers),
    ]


def ceiling_command(app: str = "app") -> list[str]:
    """uvicorn with the options ``extapi serve`` passes to ``uvicorn.run``, serving
    ``bench.ceiling:APP``."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        f"bench.ceiling:{app}",
        "--app-dir",
        str(ROOT),
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--workers",
        "1",
        "--http",
        "httptools",
        "--loop",
        "uvloop",
        "--no-access-log",
        "--no-proxy-headers",
        "--log-level",
        "info",
    ]


# --- one-off checks -------------------------------------------------------------------------
def post(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def token_form(creds: Credentials) -> str:
    return urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        }
    )


def fetch_token(base: str, creds: Credentials) -> str:
    """Ask for one token, checking the answer has the shape the token scenario relies on."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, body = post(base + TOKEN_PATH, token_form(creds).encode(), headers)
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if status != 200 or not isinstance(data, dict) or data.get("token_type") != "Bearer":
        raise BenchError(f"unexpected token answer {status}: {body[:500]!r}")
    return str(data["access_token"])


def check_status(url: str, token: str | None) -> None:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    status, body = post(url, json.dumps(STATUS_QUERY).encode(), headers)
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if status != 200 or data != STATUS_ANSWER:
        raise BenchError(f"unexpected status-query answer from {url} ({status}): {body[:500]!r}")


# --- report ---------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True)
    first = (done.stdout or done.stderr).splitlines()
    return first[0].split(" [")[0] if first else "wrk"


def host_facts() -> list[tuple[str, str]]:
    """The machine and software every benchmark report starts with."""
    import uvicorn

    return [
        ("CPU", cpu_model()),
        ("nproc", str(len(os.sched_getaffinity(0)))),
        ("Kernel", platform.release()),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("uvicorn", f"{uvicorn.__version__} (httptools, uvloop, no access log)"),
    ]


def machine_facts(wrk: str, backend: str, options: Options) -> list[tuple[str, str]]:
    return [
        *host_facts(),
        ("Load generator", f"{wrk_version(wrk)}, -t1 -c{options.connections}"),
        ("Database", backend),
        ("Workers (extapi serve)", str(options.workers)),
        ("Duration per scenario", f"{options.duration} s (after a {options.warmup} s warm-up)"),
        ("Connections", str(options.connections)),
    ]


def fmt_us(micros: int) -> str:
    return f"{micros / 1000:.2f} ms"


def render(scenarios: list[Scenario], facts: list[tuple[str, str]], title: str) -> str:
    ceiling = next(s.result.rps for s in scenarios if s.name == "ceiling")
    status = next(s.result.rps for s in scenarios if s.name == "status")
    lines = [f"### {title}", ""]
    lines += [f"- {name}: {value}" for name, value in facts]
    lines += [
        "",
        "| Scenario | Requests/s | p50 | p99 | % of ceiling |",
        "|---|---:|---:|---:|---:|",
    ]
    for s in scenarios:
        share = f"{100 * s.result.rps / ceiling:.1f} %"
        lines.append(
            f"| {s.name}: {s.description} | {s.result.rps:,.0f} | {fmt_us(s.result.p50_us)} "
            f"| {fmt_us(s.result.p99_us)} | {share} |"
        )
    ratio = 100 * status / ceiling
    verdict = "meets" if ratio >= 60 else "misses"
    lines += ["", f"Status query / ceiling: **{ratio:.1f} %** ({verdict} the 60 % aim)."]
    starlette = next((s.result.rps for s in scenarios if s.name == "starlette"), None)
    if starlette:
        share = 100 * status / starlette
        verdict = "meets" if share >= 60 else "misses"
        lines.append(
            f"Status query / bare Starlette endpoint: **{share:.1f} %** ({verdict} issue 14's "
            "60 % aim)."
        )
    off = next((s.result.rps for s in scenarios if s.name == "status-off"), None)
    if off:
        lines.append(f"Rate limits on / off: **{100 * status / off:.1f} %** of the throughput.")
    lines.append("")
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------
def run_scenarios(
    wrk: str, options: Options, env: Mapping[str, str], creds: Credentials, logs: Path
) -> list[Scenario]:
    status_body = json.dumps(STATUS_QUERY)
    scenarios: list[Scenario] = []
    with server(extapi_command(options.workers), env, logs / "extapi.log") as api:
        # The status query first, on a server that has done nothing else: run after the
        # token scenario it also paid for that scenario's aftermath (thousands of new token
        # and request-log rows being written, a grown WAL), which is not its own cost.
        token = fetch_token(api, creds)
        check_status(api + GRAPHQL_PATH, token)
        log(f"status scenario against {api}")
        status_env = {"BENCH_BODY": status_body, "BENCH_TOKEN": token}
        result = measure(wrk, "post_graphql.lua", api + GRAPHQL_PATH, status_env, options)
        limits = "rate limits on, " + ("Redis" if env.get("EXTAPI_REDIS_URL") else "memory")
        status = Scenario("status", f"POST {GRAPHQL_PATH} (Bearer), {limits}", result)

        log(f"token scenario against {api}")
        token_env = {"BENCH_BODY": token_form(creds)}
        result = measure(wrk, "post_token.lua", api + TOKEN_PATH, token_env, options)
        scenarios.append(Scenario("token", f"POST {TOKEN_PATH}", result))
        scenarios.append(status)
    off_env = {**env, "EXTAPI_RATE_LIMIT_BACKEND": "off"}
    with server(extapi_command(options.workers), off_env, logs / "extapi-off.log") as api:
        token = fetch_token(api, creds)
        check_status(api + GRAPHQL_PATH, token)
        log(f"status scenario with rate limits off against {api}")
        status_env = {"BENCH_BODY": status_body, "BENCH_TOKEN": token}
        result = measure(wrk, "post_graphql.lua", api + GRAPHQL_PATH, status_env, options)
        scenarios.append(Scenario("status-off", "the same, rate limits off", result))
    with server(ceiling_command(), os.environ, logs / "ceiling.log") as bare:
        check_status(bare + GRAPHQL_PATH, None)
        log(f"ceiling scenario against {bare}")
        ceiling_env = {"BENCH_BODY": status_body, "BENCH_TOKEN": "x" * len(token)}
        result = measure(wrk, "post_graphql.lua", bare + GRAPHQL_PATH, ceiling_env, options)
        scenarios.append(Scenario("ceiling", "bare ASGI app, same uvicorn options", result))
    with server(ceiling_command("starlette_app"), os.environ, logs / "starlette.log") as bare:
        check_status(bare + GRAPHQL_PATH, None)
        log(f"bare Starlette scenario against {bare}")
        result = measure(wrk, "post_graphql.lua", bare + GRAPHQL_PATH, ceiling_env, options)
        scenarios.append(Scenario("starlette", "one-route Starlette app, same bytes", result))
    return scenarios


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A temporary folder for logs and SQLite files, removed afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def bench_runtime(database_url: str | None, name: str) -> Iterator[Runtime]:
    """A runtime on a fresh database: ``database_url`` (a PostgreSQL database, dropped and
    created again) or a SQLite file in a scratch folder; closed afterwards."""
    with scratch_dir(f"extapi-bench-{name}-") as tmp:
        url = database_url or f"sqlite:///{tmp / (name + '.db')}"
        if database_url:
            reset_postgres(database_url)
        runtime = open_runtime(Config(database_url=url, secret_key="bench"))
        try:
            yield runtime
        finally:
            runtime.close()


def micro_options(doc: str | None, iterations: int) -> argparse.Namespace:
    """The command line of an in-process benchmark (its description the first line of
    ``doc``): ``--database-url`` (default: SQLite in a scratch folder, see
    :func:`bench_runtime`) and ``--iterations`` (default ``iterations``)."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--iterations", type=int, default=iterations)
    return parser.parse_args()


def backend_name(runtime: Runtime) -> str:
    return "PostgreSQL" if runtime.engine.dialect.name == "postgresql" else "SQLite"


def report_title(backend: str) -> str:
    return f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {backend.split()[0]}"


def bench(options: Options) -> str:
    wrk = ensure_wrk()
    with scratch_dir("extapi-bench-") as tmp:
        url, backend = prepare_database(options.database_url, tmp, "bench")
        env = {**os.environ, "EXTAPI_DATABASE_URL": url}
        if options.redis_url:
            env["EXTAPI_REDIS_URL"] = options.redis_url
            env["EXTAPI_REDIS_PREFIX"] = f"extapi:bench:{os.getpid()}:"
        log(f"database: {backend}; seeding through the CLI")
        creds = seed(env)
        scenarios = run_scenarios(wrk, options, env, creds, tmp)
        title = report_title(backend)
        return render(scenarios, machine_facts(wrk, backend, options), title)


def deliver(make_report: Callable[[], str], output: Path | None) -> int:
    """Print a benchmark's Markdown report (and append it to ``output``); 1 on failure."""
    try:
        report = make_report()
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    print(report)
    if output is not None:
        with output.open("a") as out:
            out.write(report + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    return deliver(lambda: bench(options), options.output)


if __name__ == "__main__":
    sys.exit(main())
