"""``extapi serve`` and ``extapi migrate``."""

from __future__ import annotations

import logging.config
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy import Engine, make_url, select

from extapi.auth.secrets import load_hasher
from extapi.cli.base import ExtapiCommand, config, emit, engine, json_wanted
from extapi.config import DEFAULT_DATABASE_URL, Config
from extapi.db.migrate import database_revision
from extapi.db.tables import site_admins
from extapi.runtime import describe_database

__all__ = ["serve", "migrate"]

log = logging.getLogger("extapi.serve")


def _log_lines(text: str) -> None:
    """What the server says at start goes to its log, in the log's format (so a JSON log
    stays one JSON object a line)."""
    for line in text.splitlines():
        log.info(line)


def _base_url(config: Config, host: str, port: int) -> str:
    if config.public_url:
        return config.public_url
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def _site_text(facts: dict[str, Any]) -> str:
    lines = [
        f"Serving {facts['database_description']}.",
        f"GraphQL endpoint: {facts['graphql_url']}",
        f"Admin pages: {facts['admin_url']}",
    ]
    if facts["site_admins"] == 0:
        lines += [
            "No site administrator yet. Create one (it prints a password) with:",
            f"  {facts['create_admin']}",
        ]
    return "\n".join(lines)


def _site_facts(settings: Config, opened: Engine, base: str) -> dict[str, Any]:
    """Where the site is, and whether anyone can sign in to its admin pages yet."""
    with opened.connect() as conn:
        admins = len(conn.execute(select(site_admins.c.user_id)).all())
    database = ""
    if settings.database_url != DEFAULT_DATABASE_URL:
        shown = make_url(settings.database_url).render_as_string(hide_password=True)
        database = f" --database '{shown}'"
    return {
        "database_description": describe_database(settings.database_url),
        "graphql_url": f"{base}/api/graphql.php",
        "token_url": f"{base}/totara/oauth2/token.php",
        "admin_url": f"{base}/login",
        "documentation_url": f"{base}/totara/api/documentation/",
        "site_admins": admins,
        "create_admin": f"extapi admin add --username admin{database}",
    }


@click.command(cls=ExtapiCommand)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--demo",
    is_flag=True,
    help="Seed a demo site; its credentials stay the same across restarts.",
)
def serve(host: str, port: int, workers: int, demo: bool) -> None:
    """Create or migrate the database, say where the site is, then serve the API.

    Where the site is goes to the log (stderr); the demo's credentials, and with --json the
    addresses, go to stdout."""
    import uvicorn

    from extapi.ops.logs import logging_config

    settings = config()
    # The same configuration is applied by uvicorn in every worker: one line per request
    # from extapi, so uvicorn's own access log stays off.
    log_config = logging_config(settings.log_format)
    logging.config.dictConfig(log_config)
    opened = engine(settings, announce=_log_lines)
    base = _base_url(settings, host, port)
    if demo:
        # Only then: with one worker this process serves, and keeps what it imports.
        from extapi.demo import credentials_path, instructions, instructions_text, seed_demo

        path = credentials_path(settings.database_url)
        with opened.begin() as conn:
            credentials = seed_demo(
                conn, load_hasher(conn, settings.secret_key), settings.database_url, path
            )
        shown = instructions(credentials, base, path)
        emit(shown, instructions_text(shown))
    else:
        facts = _site_facts(settings, opened, base)
        if json_wanted():
            emit(facts, "")
        else:
            _log_lines(_site_text(facts))
    opened.dispose()
    # With one worker this process goes on to serve: the start-up engine (and the statements
    # it compiled) need not live as long as the server.
    del opened
    # The server's own environment names the database chosen with --database, so that every
    # worker process opens the same one.
    os.environ["EXTAPI_DATABASE_URL"] = settings.database_url
    with _shared_metrics(settings, workers):
        uvicorn.run(
            "extapi.app:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            http="httptools",
            loop="uvloop",
            access_log=False,
            proxy_headers=False,
            log_level="info",
            log_config=log_config,
        )


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def _shared_metrics(config: Config, workers: int) -> Iterator[None]:
    """With metrics on and several workers, each worker writes its figures to files in a
    private folder that any of them reads back when scraped (prometheus-client's multiprocess
    mode). The folder is made before the workers start and removed when the server stops."""
    if config.metrics is None or workers == 1:
        yield
        return
    folder = tempfile.mkdtemp(prefix="extapi-metrics-")
    previous = os.environ.get(MULTIPROC_ENV)
    os.environ[MULTIPROC_ENV] = folder
    try:
        yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if previous is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = previous


@click.command(cls=ExtapiCommand)
def migrate() -> None:
    """Create the database or bring it to the newest schema."""
    settings = config()
    opened = engine(settings)
    try:
        with opened.connect() as conn:
            revision = database_revision(conn)
    finally:
        opened.dispose()
    where = describe_database(settings.database_url)
    emit(
        {"database": where, "revision": revision},
        f"Database is up to date ({where}, revision {revision}).",
    )
