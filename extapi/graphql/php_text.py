"""The PHP string primitives Totara's formatters are built on, reproduced for Python strings.

Totara renders names and descriptions through PHP's ``strip_tags``, ``html_entity_decode``
and ``htmlspecialchars`` and through its own ``clean_string``; their edge cases (a ``<``
followed by a digit opens a tag, ``&#39;`` survives decoding ...) are visible on the wire, so
they are rebuilt here rule by rule rather than approximated with :mod:`html`.
"""

from __future__ import annotations

import re
from html.entities import html5

__all__ = ["strip_tags", "clean_string", "decode_entities", "escape_html", "php_trim", "PHP_TRIM"]

_C_SPACE = " \t\n\v\f\r"  # C isspace(): what strip_tags treats as white space
PHP_TRIM = " \t\n\r\0\x0b"  # the characters PHP's trim() removes


def php_trim(text: str) -> str:
    return text.strip(PHP_TRIM)


# --- strip_tags ---------------------------------------------------------------------------------
class _TagStripper:
    """PHP's tag stripper: a small state machine over the characters of the text.

    States: text, inside a tag, inside ``<? ... ?>``, inside ``<! ... >``, inside a comment.
    Quotes inside a tag hide ``<`` and ``>``; a ``<`` followed by white space is plain text.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.out: list[str] = []
        self.state = "text"
        self.depth = 0
        self.quote = ""
        self.last = ""  # last structural character seen (PHP's "lc")
        self.parens = 0
        self.xml = False  # inside "<?xml ...": a ">" right after "-" does not close the tag

    def at(self, i: int) -> str:
        return self.text[i] if 0 <= i < len(self.text) else ""

    def run(self) -> str:
        for i, c in enumerate(self.text):
            if c != "\0":
                getattr(self, "_" + self.state)(i, c)
        return "".join(self.out)

    def _text(self, i: int, c: str) -> None:
        if c == "<":
            if self.at(i + 1) and self.at(i + 1) in _C_SPACE:
                self.out.append(c)
            else:
                self.last, self.state = "<", "tag"
        elif c == ">" and self.depth:
            self.depth -= 1
        else:
            self.out.append(c)

    def _toggle_quote(self, i: int, c: str) -> None:
        if i != 0 and (not self.quote or c == self.quote):
            self.quote = "" if self.quote else c

    def _leave(self) -> None:
        self.quote, self.state = "", "text"

    def _tag(self, i: int, c: str) -> None:
        if c == "<":
            if not self.quote and not (self.at(i + 1) and self.at(i + 1) in _C_SPACE):
                self.depth += 1
        elif c == ">":
            if self.depth:
                self.depth -= 1
            elif not self.quote and not (self.xml and self.at(i - 1) == "-"):
                self.last, self.xml = ">", False
                self._leave()
        elif c in "\"'":
            self._toggle_quote(i, c)
        elif c == "!" and self.at(i - 1) == "<":
            self.last, self.state = c, "bang"
        elif c == "?" and self.at(i - 1) == "<":
            self.parens, self.state = 0, "php"

    def _php(self, i: int, c: str) -> None:
        if c in "()" and self.last not in ('"', "'"):
            self.last = c
            self.parens += 1 if c == "(" else -1
        elif c == ">":
            if self.depth:
                self.depth -= 1
            elif not self.quote and not self.parens and self.last != '"' and self.at(i - 1) == "?":
                self._leave()
        elif c in "\"'":
            if i >= 1 and self.at(i - 1) != "\\":
                if self.last == c:
                    self.last = ""
                elif self.last != "\\":
                    self.last = c
            self._toggle_quote(i, c)
        elif c in "lL" and i > 4 and self.text[i - 4 : i].lower() == "<?xm":
            self.state, self.xml = "tag", True

    def _bang(self, i: int, c: str) -> None:
        if c == ">":
            if self.depth:
                self.depth -= 1
            elif not self.quote:
                self._leave()
        elif c in "\"'":
            if i != 0 and self.at(i - 1) != "\\":
                self._toggle_quote(i, c)
        elif c == "-" and self.text[i - 2 : i] == "!-":
            self.state = "comment"
        elif c in "eE" and i > 6 and self.text[i - 6 : i].lower() == "doctyp":
            self.state = "tag"

    def _comment(self, i: int, c: str) -> None:
        if c == ">" and not self.quote and i >= 2 and self.text[i - 2 : i] == "--":
            self._leave()


def strip_tags(text: str) -> str:
    """PHP's ``strip_tags`` with no allowed tags."""
    if "<" not in text and ">" not in text and "\0" not in text:
        return text
    return _TagStripper(text).run()


# --- clean_string -------------------------------------------------------------------------------
_CLEAN_MAP = {
    "&amp;": "&#38;",
    "&lt;": "&#60;",
    "<": "&#60;",
    "&gt;": "&#62;",
    ">": "&#62;",
    "&quot;": "&#34;",
    '"': "&#34;",
    "&apos;": "&#39;",
    "'": "&#39;",
    "{": "&#123;",
    "}": "&#125;",
}
_CLEAN = re.compile("|".join(re.escape(k) for k in sorted(_CLEAN_MAP, key=len, reverse=True)))
_LONE_AMP = re.compile(r"&(?!([a-z]+|#\d+|#x[0-9a-f]+);)", re.I)


def clean_string(text: str) -> str:
    """Totara's ``clean_string``: risky characters (and their named entities) become numeric
    entities, other entities stay, and an ``&`` that starts no entity becomes ``&#38;``."""
    text = _CLEAN.sub(lambda m: _CLEAN_MAP[m.group(0)], text)
    return _LONE_AMP.sub("&#38;", text)


# --- html_entity_decode (ENT_COMPAT | ENT_HTML5) ------------------------------------------------
_ENTITY = re.compile(r"&(?:#([0-9]+)|#[xX]([0-9a-fA-F]+)|([A-Za-z0-9]+));")
_NAMED = {name[:-1]: value for name, value in html5.items() if name.endswith(";")}


def _allowed_code_point(cp: int) -> bool:
    """Numeric references PHP decodes in an HTML5 document (never CR, never a single quote)."""
    if cp in (0x0D, 0x27):
        return False
    return (
        0x20 <= cp <= 0x7E
        or 0x09 <= cp <= 0x0C
        and cp != 0x0B
        or 0xA0 <= cp <= 0xD7FF
        or (0xE000 <= cp <= 0x10FFFF and (cp & 0xFFFF) < 0xFFFE and not 0xFDD0 <= cp <= 0xFDEF)
    )


def _decode(match: re.Match[str]) -> str:
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        value = _NAMED.get(name)
        return match.group(0) if value is None or value == "'" else value
    digits = decimal if decimal is not None else hexadecimal
    if len(digits) > 16:
        return match.group(0)
    cp = int(digits, 10 if decimal is not None else 16)
    return chr(cp) if _allowed_code_point(cp) else match.group(0)


def decode_entities(text: str) -> str:
    """PHP's ``html_entity_decode`` with double quotes decoded and single quotes kept."""
    return _ENTITY.sub(_decode, text) if "&" in text else text


def escape_html(text: str, quotes: str = "double") -> str:
    """PHP's ``htmlspecialchars``: ``&`` ``<`` ``>``, plus ``"`` unless ``quotes`` is "none",
    plus ``'`` (as ``&#039;``) when ``quotes`` is "both"."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if quotes != "none":
        text = text.replace('"', "&quot;")
    if quotes == "both":
        text = text.replace("'", "&#039;")
    return text
