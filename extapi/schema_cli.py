"""``extapi schema check`` and ``extapi schema dump``: the released schema contract
(:mod:`extapi.schema_versions`) from the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from extapi.cli.base import REFUSED, ExtapiGroup, emit, fail, json_wanted
from extapi.graphql.schema import build_schema
from extapi.schema_versions import (
    CHANGELOG_PATH,
    SNAPSHOT_PATH,
    Report,
    compare,
    printed,
    read_text,
    write_text,
)

__all__ = ["schema"]

DUMP_HINT = "Run `extapi schema dump` to record the current schema in the snapshot."


F = TypeVar("F", bound=Callable[..., Any])


def _paths(func: F) -> F:
    """The two files, settable so the check can run against other copies."""
    path = click.Path(dir_okay=False, path_type=Path)
    func = click.option(
        "--changelog",
        type=path,
        default=CHANGELOG_PATH,
        show_default=True,
        help="The schema changelog (Markdown).",
    )(func)
    return click.option(
        "--snapshot",
        type=path,
        default=SNAPSHOT_PATH,
        show_default=True,
        help="The committed schema snapshot (SDL).",
    )(func)


def _current() -> str:
    return printed(build_schema())


def _unlisted_text(report: Report, changelog: Path) -> list[str]:
    return [
        f"Breaking changes not listed in {changelog}:",
        *(f"  - `{change}`" for change in report.unlisted),
        "List each one as a list item under a '### Breaking changes' heading, the description",
        "in a code span exactly as above, followed by what clients should do instead.",
    ]


def _report_text(report: Report, snapshot: Path, changelog: Path) -> list[str]:
    if report.up_to_date:
        return [f"The schema matches the snapshot {snapshot}."]
    lines: list[str] = []
    if report.unlisted:
        lines += _unlisted_text(report, changelog)
    if report.listed:
        lines += ["Breaking changes listed in the changelog:"]
        lines += [f"  - {change}" for change in report.listed]
    if report.dangerous:
        lines += ["Warning: dangerous changes (allowed, but they may affect clients):"]
        lines += [f"  - {change}" for change in report.dangerous]
    if not report.unlisted:
        lines += [f"The snapshot {snapshot} is out of date. {DUMP_HINT}"]
    return lines


@click.group(cls=ExtapiGroup)
def schema() -> None:
    """Check the schema against its released snapshot and changelog, or record it."""


@schema.command("check")
@_paths
@click.pass_context
def check(ctx: click.Context, snapshot: Path, changelog: Path) -> None:
    """Fail (exit 1) on a breaking change the changelog does not list, or when the snapshot
    differs from the current schema; dangerous changes are only warnings."""
    report = compare(
        read_text(snapshot, "schema snapshot"), _current(), read_text(changelog, "changelog")
    )
    emit(report.as_dict(), "\n".join(_report_text(report, snapshot, changelog)))
    if not report.ok:
        ctx.exit(1)


@schema.command("dump")
@_paths
@click.pass_context
def dump(ctx: click.Context, snapshot: Path, changelog: Path) -> None:
    """Write the current schema to the snapshot. Refused (exit 1) while a breaking change is
    missing from the changelog, so the snapshot never hides one."""
    current = _current()
    if snapshot.exists():
        report = compare(
            read_text(snapshot, "schema snapshot"), current, read_text(changelog, "changelog")
        )
        if report.unlisted:
            lines = [*_unlisted_text(report, changelog), "Snapshot not written."]
            if json_wanted():
                fail(" ".join(lines), REFUSED, "unlisted_breaking_changes")
            click.echo("\n".join(lines))
            ctx.exit(REFUSED)
        if report.up_to_date:
            emit(
                {"snapshot": str(snapshot), "written": False},
                f"The snapshot {snapshot} is already up to date.",
            )
            return
    write_text(snapshot, current, "schema snapshot")
    emit({"snapshot": str(snapshot), "written": True}, f"Wrote the current schema to {snapshot}.")
