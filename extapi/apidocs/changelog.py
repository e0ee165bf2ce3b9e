"""The schema changelog (:mod:`extapi.schema_versions`) as a documentation page: its HTML, and
one search entry per version, linking to that version's section of the page."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from markupsafe import Markup

from extapi.apidocs.markdown import Block, parse, plain, render
from extapi.apidocs.search import Entry

__all__ = ["CHANGELOG_PAGE", "Changelog", "changelog_document"]

CHANGELOG_PAGE = "/totara/api/documentation/changelog"
LABEL = "Schema changelog"
VERSION_LEVEL = 2
_MISSING = Markup("<p>No schema changelog is installed with this server.</p>")


@dataclass(frozen=True)
class Changelog:
    html: Markup
    entries: tuple[Entry, ...]


@lru_cache(maxsize=4)
def changelog_document(path: Path, page: str = CHANGELOG_PAGE) -> Changelog:
    """Read and render the changelog once per process (it ships with the code)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return Changelog(_MISSING, ())
    blocks = parse(text)
    return Changelog(render(blocks), tuple(_entries(blocks, page)))


def _entries(blocks: list[Block], page: str) -> list[Entry]:
    """Each version heading with the plain text of everything under it."""
    entries: list[Entry] = []
    heading: Block | None = None
    words: list[str] = []
    for block in [*blocks, Block("heading", ("",), level=VERSION_LEVEL)]:
        if block.kind == "heading" and block.level <= VERSION_LEVEL:
            if heading is not None:
                text = plain(" ".join(words))
                entries.append(Entry(LABEL, heading.text, heading.anchor, text, page))
            heading = block if block.level == VERSION_LEVEL else None
            words = []
        elif heading is not None:
            words.append(block.text)
    return entries
