"""The released schema contract: a committed SDL snapshot, a changelog, and the check that
keeps them honest.

``extapi/schema/extapi.graphqls`` is the printed schema as last released (``extapi schema dump``
writes it); ``extapi/schema/CHANGELOG.md`` says what changed in each version. The check compares
the schema the server builds now with the snapshot, using graphql-core's
``find_breaking_changes`` and ``find_dangerous_changes``:

- a breaking change fails unless the changelog lists it: a list item under a
  ``### Breaking changes`` heading holds a code span whose text is exactly graphql-core's
  description of the change (for example ``core_user.firstname was removed.``);
- a dangerous change (an added enum value, a changed default ...) is only a warning;
- any other difference means the snapshot is out of date and must be dumped again.

Everything here is a pure function of texts, so tests can check temporary files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from graphql import (
    GraphQLError,
    GraphQLSchema,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
    print_schema,
)

from extapi.errors import ConfigError

__all__ = [
    "SCHEMA_DIR",
    "SNAPSHOT_PATH",
    "CHANGELOG_PATH",
    "BREAKING_HEADING",
    "Report",
    "printed",
    "listed_breaking_changes",
    "compare",
    "read_text",
    "write_text",
]

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
SNAPSHOT_PATH = SCHEMA_DIR / "extapi.graphqls"
CHANGELOG_PATH = SCHEMA_DIR / "CHANGELOG.md"
BREAKING_HEADING = "breaking changes"

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ITEM = re.compile(r"^\s*[-*]\s+")
_CODE = re.compile(r"`([^`\n]+)`")
_FENCE = "```"


@dataclass(frozen=True)
class Report:
    """What separates the current schema from the snapshot."""

    unlisted: tuple[str, ...]  # breaking changes the changelog does not list: failures
    listed: tuple[str, ...]  # breaking changes the changelog lists
    dangerous: tuple[str, ...]  # warnings only
    up_to_date: bool  # the snapshot is the current printed schema (bar trailing white space)

    @property
    def ok(self) -> bool:
        return not self.unlisted and self.up_to_date

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "up_to_date": self.up_to_date,
            "unlisted_breaking_changes": list(self.unlisted),
            "listed_breaking_changes": list(self.listed),
            "dangerous_changes": list(self.dangerous),
        }


def printed(schema: GraphQLSchema) -> str:
    """The snapshot text of ``schema``: graphql-core's printed SDL, without the trailing
    spaces it leaves on blank lines inside descriptions, and a final newline."""
    return _normal(print_schema(schema))


def _normal(sdl: str) -> str:
    """Editors strip trailing white space; it never changes what the SDL means here."""
    return "\n".join(line.rstrip() for line in sdl.strip().splitlines()) + "\n"


def read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read the {what} {path}: {exc}") from exc


def write_text(path: Path, text: str, what: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot write the {what} {path}: {exc}") from exc


def listed_breaking_changes(changelog: str) -> frozenset[str]:
    """The texts of the code spans in list items under a ``### Breaking changes`` heading
    (any version, any level of heading with that title); fenced code blocks are skipped."""
    found: set[str] = set()
    under_breaking = False
    fenced = False
    for line in changelog.splitlines():
        if line.lstrip().startswith(_FENCE):
            fenced = not fenced
            continue
        if fenced:
            continue
        heading = _HEADING.match(line)
        if heading:
            under_breaking = heading.group(2).strip().lower() == BREAKING_HEADING
        elif under_breaking and _ITEM.match(line):
            found.update(" ".join(code.split()) for code in _CODE.findall(line))
    return frozenset(found)


def _schema_of(sdl: str, what: str) -> GraphQLSchema:
    try:
        return build_schema(sdl)
    except (GraphQLError, TypeError) as exc:
        raise ConfigError(f"The {what} is not a valid GraphQL schema: {exc}") from exc


def compare(snapshot: str, current: str, changelog: str) -> Report:
    """Compare the ``snapshot`` SDL with the ``current`` SDL, matching breaking changes
    against the ``changelog`` text."""
    if _normal(snapshot) == _normal(current):
        return Report((), (), (), True)
    old = _schema_of(snapshot, "snapshot")
    new = _schema_of(current, "current schema")
    listed = listed_breaking_changes(changelog)
    breaking = _descriptions(find_breaking_changes(old, new))
    return Report(
        unlisted=tuple(d for d in breaking if d not in listed),
        listed=tuple(d for d in breaking if d in listed),
        dangerous=_descriptions(find_dangerous_changes(old, new)),
        up_to_date=False,
    )


def _descriptions(changes: Iterable[object]) -> tuple[str, ...]:
    return tuple(" ".join(str(getattr(change, "description", "")).split()) for change in changes)
