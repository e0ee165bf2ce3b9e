"""What every ``extapi`` command shares: the global options, the database, the output.

Every command accepts ``--database URL`` and ``--json``, after the command or before it
(``extapi --database URL --json tenant list``). Output rules:

- text for people on stdout; with ``--json``, exactly one JSON document on stdout;
- warnings and notices (such as "Created the SQLite database ...") on stderr;
- errors on stderr, as ``Error: ...`` or, with ``--json``, as
  ``{"error": {"message": ..., "code": ...}}``;
- exit status 0 on success, 1 for a refused action (invalid input, not found, a conflict),
  2 for a usage error (an unknown or missing option, a bad option value).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

import click
import orjson
from sqlalchemy import Connection, Engine

from extapi.config import Config, check_database_url, load_config
from extapi.errors import (
    ConfigError,
    ConflictError,
    ExtapiError,
    MigrationRefused,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from extapi.runtime import open_database

__all__ = [
    "ExtapiCommand",
    "ExtapiGroup",
    "USAGE_ERROR",
    "REFUSED",
    "common_params",
    "config",
    "emit",
    "engine",
    "error_code",
    "fail",
    "json_wanted",
    "transaction",
    "warn",
]

USAGE_ERROR = 2
REFUSED = 1
_OPTIONS_KEY = "extapi.options"


@dataclass
class Options:
    """The global options, as given before or after the command."""

    database_url: str | None = None
    as_json: bool = False


def _options(ctx: click.Context | None = None) -> Options:
    ctx = ctx or click.get_current_context()
    found = ctx.meta.get(_OPTIONS_KEY)
    if found is None:
        found = ctx.meta[_OPTIONS_KEY] = Options()
    return found


def _remember_database(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    try:
        check_database_url(value)
    except ConfigError:
        expected = "expected a sqlite:/// or postgresql:// URL"
        raise click.BadParameter(f"{expected}, got {value!r}.") from None
    _options(ctx).database_url = value


def _remember_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        _options(ctx).as_json = True


def common_params() -> list[click.Parameter]:
    """``--database`` and ``--json``, new objects for each command."""
    return [
        click.Option(
            ["--database"],
            metavar="URL",
            expose_value=False,
            callback=_remember_database,
            help="The database (default: EXTAPI_DATABASE_URL, else sqlite:///extapi.db).",
        ),
        click.Option(
            ["--json"],
            is_flag=True,
            expose_value=False,
            callback=_remember_json,
            help="Print JSON (errors too, on stderr).",
        ),
    ]


class ExtapiCommand(click.Command):
    """A command that accepts the global options after its name too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        taken = {opt for param in self.params for opt in param.opts}
        self.params.extend(p for p in common_params() if not taken & set(p.opts))


class ExtapiGroup(click.Group):
    """Its commands take the global options; the root group also reports errors."""

    command_class = ExtapiCommand
    group_class = type  # sub-groups are ExtapiGroups too

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode:
            return super().main(argv, prog_name, complete_var, False, **extra)
        as_json = "--json" in argv[: argv.index("--")] if "--" in argv else "--json" in argv
        try:
            status = super().main(argv, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            _report_usage(exc, as_json)
        except click.ClickException as exc:
            _report(exc.format_message(), "error", exc.exit_code, as_json)
        except ExtapiError as exc:
            _report(exc.message, error_code(exc), REFUSED, as_json)
        except click.Abort:
            _report("Aborted.", "aborted", REFUSED, as_json)
        sys.exit(status if isinstance(status, int) else 0)


def error_code(exc: ExtapiError) -> str:
    """A stable word for the kind of refusal, for scripts (``error.code`` under --json)."""
    for kind, code in (
        (MigrationRefused, "migration_refused"),
        (ConfigError, "config"),
        (NotFoundError, "not_found"),
        (ConflictError, "conflict"),
        (ValidationError, "invalid"),
        (PermissionDenied, "denied"),
    ):
        if isinstance(exc, kind):
            return code
    return "refused"


def _report(message: str, code: str, status: int, as_json: bool) -> NoReturn:
    if as_json:
        error = {"error": {"message": message, "code": code}}
        click.echo(orjson.dumps(error).decode(), err=True)
    else:
        click.echo(f"Error: {message}", err=True)
    sys.exit(status)


def _report_usage(exc: click.UsageError, as_json: bool) -> NoReturn:
    if as_json:
        _report(exc.format_message(), "usage", USAGE_ERROR, True)
    exc.show()
    sys.exit(USAGE_ERROR)


def fail(message: str, status: int, code: str | None = None) -> NoReturn:
    """Stop a command with an error (for commands that choose their own exit status)."""
    _report(
        message, code or ("usage" if status == USAGE_ERROR else "refused"), status, json_wanted()
    )


def json_wanted() -> bool:
    ctx = click.get_current_context(silent=True)
    return ctx is not None and _options(ctx).as_json


def emit(data: Any, text: str) -> None:
    """The command's result: ``data`` as JSON under --json, else ``text``."""
    if json_wanted():
        click.echo(orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS).decode())
    else:
        click.echo(text)


def warn(message: str) -> None:
    click.echo(f"Warning: {message}", err=True)


def config() -> Config:
    """The process configuration, with ``--database`` in place of EXTAPI_DATABASE_URL."""
    env = dict(os.environ)
    url = _options().database_url
    if url is not None:
        env["EXTAPI_DATABASE_URL"] = url
    return load_config(env)


def engine(settings: Config | None = None, announce: Callable[[str], None] | None = None) -> Engine:
    """The database, created and migrated when needed, saying so (on stderr by default)."""
    return open_database(
        settings or config(), announce=announce or (lambda text: click.echo(text, err=True))
    )


@contextmanager
def transaction() -> Iterator[Connection]:
    """One transaction: a command changes everything it was asked to, or nothing."""
    opened = engine()
    try:
        with opened.begin() as conn:
            yield conn
    finally:
        opened.dispose()
