"""The guide at the top of the documentation page (endpoint, authentication, rate limits,
errors...) as search entries.

The guide is written once, as HTML in the page's template; each of its
``<section data-doc-intro>`` becomes one entry, named by its heading and holding its text, so
the search finds "429" or "Retry-After" as readily as an operation's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from extapi.apidocs.search import Entry

__all__ = ["GUIDE_LABEL", "guide_entries"]

GUIDE_LABEL = "Guide"
# Tags that separate words even when the HTML has no space around them.
_BREAKS = frozenset({"p", "li", "ol", "ul", "pre", "br", "h2", "h3", "td", "th", "dd", "dt"})


@dataclass
class _Section:
    anchor: str
    heading: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


class _GuideSections(HTMLParser):
    """Collects the heading and the text of each guide section (they do not nest)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[_Section] = []
        self._current: _Section | None = None
        self._in_heading = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._break(tag)
        found = dict(attrs)
        if tag == "section" and "data-doc-intro" in found:
            self._current = _Section(found.get("id") or "")
            self.sections.append(self._current)
        elif tag == "h2" and self._current is not None:
            self._in_heading = True

    def handle_endtag(self, tag: str) -> None:
        self._break(tag)
        if tag == "section":
            self._current = None
        elif tag == "h2":
            self._in_heading = False

    def _break(self, tag: str) -> None:
        if tag in _BREAKS and self._current is not None and not self._in_heading:
            self._current.text.append(" ")

    def handle_data(self, data: str) -> None:
        if self._current is None:
            return
        (self._current.heading if self._in_heading else self._current.text).append(data)


def guide_entries(html: str) -> tuple[Entry, ...]:
    """One entry per guide section of the rendered ``html``, in page order."""
    parser = _GuideSections()
    parser.feed(html)
    parser.close()
    return tuple(
        Entry(GUIDE_LABEL, _words(s.heading), s.anchor, _words(s.text))
        for s in parser.sections
        if s.anchor
    )


def _words(parts: list[str]) -> str:
    return " ".join("".join(parts).split())
