"""Just enough Markdown for the schema changelog, rendered safely.

Understood: ``#`` headings (each gets an ``id`` made of its words), paragraphs, ``-`` or ``*``
list items (indented lines continue an item), fenced code blocks and `code` spans. Anything
else is text, and every piece of text is escaped, so the file can never inject markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["Block", "parse", "render", "inline", "plain"]

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_ITEM = re.compile(r"^[-*]\s+(.*)$")
_CODE = re.compile(r"`([^`\n]+)`")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_FENCE = "```"


@dataclass(frozen=True)
class Block:
    """``kind`` is heading, paragraph, list or code; ``lines`` holds a paragraph's or a code
    block's lines, or a list's items; headings carry their ``level`` and ``anchor``."""

    kind: str
    lines: tuple[str, ...]
    level: int = 0
    anchor: str = ""

    @property
    def text(self) -> str:
        return " ".join(self.lines)


def parse(text: str) -> list[Block]:
    blocks = list(_blocks(text.splitlines()))
    return _with_anchors(blocks)


def _blocks(lines: list[str]) -> Iterator[Block]:
    position = 0
    while position < len(lines):
        line = lines[position]
        stripped = line.strip()
        if not stripped:
            position += 1
        elif stripped.startswith(_FENCE):
            end = _fence_end(lines, position + 1)
            yield Block("code", tuple(lines[position + 1 : end]))
            position = end + 1
        elif heading := _HEADING.match(stripped):
            yield Block("heading", (heading.group(2),), level=len(heading.group(1)))
            position += 1
        elif _ITEM.match(stripped):
            items, position = _list(lines, position)
            yield Block("list", items)
        else:
            paragraph, position = _paragraph(lines, position)
            yield Block("paragraph", paragraph)


def _fence_end(lines: list[str], start: int) -> int:
    for position in range(start, len(lines)):
        if lines[position].strip().startswith(_FENCE):
            return position
    return len(lines)


def _list(lines: list[str], position: int) -> tuple[tuple[str, ...], int]:
    items: list[str] = []
    while position < len(lines):
        line = lines[position]
        item = _ITEM.match(line.strip())
        if item and not line.startswith("  "):
            items.append(item.group(1).strip())
        elif line.startswith((" ", "\t")) and line.strip() and items:
            items[-1] += " " + line.strip()  # an indented line continues the item
        else:
            break
        position += 1
    return tuple(items), position


def _paragraph(lines: list[str], position: int) -> tuple[tuple[str, ...], int]:
    found: list[str] = []
    while position < len(lines):
        stripped = lines[position].strip()
        if not stripped or stripped.startswith(_FENCE) or _HEADING.match(stripped):
            break
        if _ITEM.match(stripped):
            break
        found.append(stripped)
        position += 1
    return tuple(found), position


def _with_anchors(blocks: list[Block]) -> list[Block]:
    seen: dict[str, int] = {}
    out: list[Block] = []
    for block in blocks:
        if block.kind == "heading":
            base = _NOT_WORD.sub("-", plain(block.text).lower()).strip("-") or "section"
            seen[base] = seen.get(base, 0) + 1
            anchor = base if seen[base] == 1 else f"{base}-{seen[base]}"
            block = Block("heading", block.lines, block.level, anchor)
        out.append(block)
    return out


def inline(text: str) -> Markup:
    """Escaped text with `code` spans."""
    parts: list[Markup] = []
    position = 0
    for match in _CODE.finditer(text):
        parts.append(escape(text[position : match.start()]))
        parts.append(Markup("<code>{}</code>").format(match.group(1)))
        position = match.end()
    parts.append(escape(text[position:]))
    return Markup("").join(parts)


def plain(text: str) -> str:
    return " ".join(text.replace("`", "").split())


def render(blocks: list[Block]) -> Markup:
    return Markup("\n").join(_render(block) for block in blocks)


def _render(block: Block) -> Markup:
    if block.kind == "heading":
        return Markup('<h{0} id="{1}">{2}</h{0}>').format(
            block.level, block.anchor, inline(block.text)
        )
    if block.kind == "list":
        items = Markup("").join(Markup("<li>{}</li>").format(inline(i)) for i in block.lines)
        return Markup("<ul>{}</ul>").format(items)
    if block.kind == "code":
        return Markup('<pre tabindex="0"><code>{}</code></pre>').format("\n".join(block.lines))
    return Markup("<p>{}</p>").format(inline(block.text))
