"""``extapi sync``: apply an HR feed through the API (:mod:`extapi.hrsync`).

Exit status 0 when every good row is applied, 1 when rows were bad, actions failed or the
run stopped early (the report says which), 2 for usage errors (options, the mapping file, a
feed that can not be read at all). The report goes to stdout, as one JSON object with
``--json``; errors go to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from extapi.cli.base import ExtapiCommand, emit, fail, json_wanted

__all__ = ["sync"]

USAGE_ERROR = 2


@contextmanager
def _progress_bars(enabled: bool) -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    """Progress bars on stderr (rich), or none."""
    if not enabled:
        yield lambda description, total: lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bars:

        def start(description: str, total: int) -> Callable[[int], None]:
            task = bars.add_task(description, total=total)
            return lambda n: bars.advance(task, n)

        yield start


def _fail(message: str, status: int) -> None:
    fail(message, status)


@click.command(cls=ExtapiCommand)
@click.argument("feed", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--config",
    "mapping",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The mapping file (TOML).",
)
@click.option("--url", envvar="EXTAPI_SYNC_URL", help="The server (default: [server] url).")
@click.option("--client-id", envvar="EXTAPI_SYNC_CLIENT_ID", help="API client id.")
@click.option("--client-secret", envvar="EXTAPI_SYNC_CLIENT_SECRET", help="API client secret.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), help="Feed format.")
@click.option("--dry-run", is_flag=True, help="Print the changes; change nothing.")
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The journal file (default: next to the feed, FEED.sync-state).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 1000),
    default=50,
    show_default=True,
    help="People per request (at most the server's batch size).",
)
@click.option(
    "--max-actions",
    type=click.IntRange(0),
    help="Stop after this many people's changes (the next run carries on).",
)
def sync(
    feed: Path,
    mapping: Path,
    url: str | None,
    client_id: str | None,
    client_secret: str | None,
    fmt: str | None,
    dry_run: bool,
    state: Path | None,
    batch_size: int,
    max_actions: int | None,
) -> None:
    """Apply an HR feed (CSV or JSON lines) of people and their jobs to a server (--database
    is accepted, as by every command, and not used: the feed goes through the API)."""
    as_json = json_wanted()
    try:
        from extapi.client import ApiError
        from extapi.hrsync.config import load_config
        from extapi.hrsync.runner import SyncOptions, run_sync
    except ImportError as exc:
        _fail(f"extapi sync needs the sync extra (pip install 'extapi[sync]'): {exc}", 2)
    from extapi.errors import ExtapiError

    try:
        config = load_config(mapping)
    except ExtapiError as exc:
        _fail(exc.message, USAGE_ERROR)
    server = url or config.server_url
    if not server or not client_id or not client_secret:
        _fail(
            "Give the server and the client credentials: --url (or [server] url), "
            "--client-id and --client-secret (or EXTAPI_SYNC_CLIENT_ID and "
            "EXTAPI_SYNC_CLIENT_SECRET).",
            USAGE_ERROR,
        )
    assert server and client_id and client_secret
    options = SyncOptions(
        server,
        client_id,
        client_secret,
        fmt=fmt,
        dry_run=dry_run,
        state=state,
        batch_size=batch_size,
        max_actions=max_actions,
        mapping=mapping.read_bytes(),
    )
    with _progress_bars(sys.stderr.isatty() and not as_json) as progress:
        try:
            report = run_sync(feed, config, options, progress)
        except ExtapiError as exc:
            _fail(exc.message, USAGE_ERROR)
        except ApiError as exc:
            _fail(f"The server refused the sync: {type(exc).__name__}: {exc.reason}", 1)
    emit(report.as_dict(), report.text())
    sys.exit(0 if report.ok else 1)
