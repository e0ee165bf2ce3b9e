"""Schema descriptions as HTML: paragraphs, `code` spans, and links to documented names.

Descriptions are plain text with two conventions: a blank line separates paragraphs, and
back-ticks mark code. A code span that names a documented operation or type links to it.
Everything else is escaped, so a description can never inject markup into the page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from markupsafe import Markup, escape

__all__ = ["describe", "plain"]

_PARAGRAPHS = re.compile(r"\n\s*\n")
_CODE = re.compile(r"`([^`\n]+)`")


def describe(text: str | None, links: Mapping[str, str], block: bool = True) -> Markup:
    """``text`` as HTML paragraphs (or, with ``block=False``, as one run of inline text);
    ``links`` maps a name to the anchor of its section."""
    if not text or not text.strip():
        return Markup("")
    paragraphs = [" ".join(part.split()) for part in _PARAGRAPHS.split(text.strip())]
    if not block:
        return _inline(" ".join(paragraphs), links)
    return Markup("").join(Markup("<p>{}</p>").format(_inline(p, links)) for p in paragraphs)


def _inline(paragraph: str, links: Mapping[str, str]) -> Markup:
    parts: list[Markup] = []
    position = 0
    for match in _CODE.finditer(paragraph):
        parts.append(escape(paragraph[position : match.start()]))
        parts.append(_code(match.group(1), links))
        position = match.end()
    parts.append(escape(paragraph[position:]))
    return Markup("").join(parts)


def _code(name: str, links: Mapping[str, str]) -> Markup:
    anchor = links.get(name)
    if anchor is None:
        return Markup("<code>{}</code>").format(name)
    return Markup('<a href="#{}"><code>{}</code></a>').format(anchor, name)


def plain(text: str | None) -> str:
    """The description as one line of text, for search and summaries."""
    return " ".join((text or "").replace("`", "").split())
