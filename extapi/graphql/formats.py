"""Rendering text fields in the format a query asks for (core_format), as Totara's two field
formatters do.

* The string formatter (names): RAW gives the value; HTML strips tags and turns risky
  characters into numeric entities; PLAIN converts that HTML back to text. Other formats are
  refused with a coding error.
* The text formatter (descriptions): RAW gives the value; HTML renders the stored text as HTML
  and cleans it; PLAIN and MOBILE convert that HTML to text with links written inline.
  MARKDOWN and JSON_EDITOR are refused with a coding error.

An unsupported format is refused even when the value is null: Totara checks the format first.
"""

from __future__ import annotations

import re

from extapi.errors import CodingError
from extapi.graphql.html_clean import purify
from extapi.graphql.html_text import html_to_text
from extapi.graphql.php_text import PHP_TRIM, clean_string, escape_html, strip_tags
from extapi.jsondoc import is_json_document

__all__ = [
    "format_string_field",
    "format_text",
    "format_cleaned",
    "MOODLE_CODE",
    "HTML_CODE",
    "PLAIN_CODE",
]

MOODLE_CODE, HTML_CODE, PLAIN_CODE = 0, 1, 2
_STRING_FORMATS = ("RAW", "HTML", "PLAIN")
_TEXT_FORMATS = ("RAW", "HTML", "PLAIN", "MOBILE")


def _check(fmt: str, supported: tuple[str, ...], formatter: str) -> None:
    if fmt not in supported:
        raise CodingError(f"{fmt} format is currently not supported by the {formatter} formatter.")


def format_string_field(value: str | None, fmt: str) -> str | None:
    """Totara's string formatter (names, titles), filters off as on a default site."""
    _check(fmt, _STRING_FORMATS, "string")
    if value is None or fmt == "RAW":
        return value
    html = clean_string(strip_tags(value))
    return html if fmt == "HTML" else html_to_text(html, links="none")


def format_cleaned(value: str, fmt: str) -> str:
    """How Totara's user type renders a user's full name (and card display values): risky
    characters as numeric entities, turned back into text for PLAIN; tags are not stripped
    and no format is refused."""
    html = clean_string(value)
    return html_to_text(html, links="none") if fmt == "PLAIN" else html


# --- the text formatter -------------------------------------------------------------------------
_NUMERIC_AMP = re.compile(r"&amp;#(\d+|x[0-9a-f]+);", re.I)
_NOLINK = re.compile(r"&lt;(/*nolink)&gt;", re.I)
_NEWLINE = re.compile(r"(\r\n|\n\r|\n|\r)")


def _plain_to_html(text: str) -> str:
    """Stored plain text as HTML: escaped (quotes too), double spaces kept, line breaks shown."""
    text = _NUMERIC_AMP.sub(r"&#\1;", escape_html(text, quotes="both"))
    text = _NOLINK.sub(r"<\1>", text).replace("  ", "&nbsp; ")
    return _NEWLINE.sub(r"<br />\1", text)


def _moodle_to_html(text: str) -> str:
    """The legacy "Moodle auto-format": white space between tags dropped, lines broken, wrapped."""
    text = re.sub(r">(\s+)<", "><", text)
    text = re.sub(r"[\n\r]<", " <", text)
    text = re.sub(r">[\n\r]", "> ", text)
    return '<div class="text_to_html">' + _NEWLINE.sub(r"<br />\1", text) + "</div>"


def _is_json_document(text: str) -> bool:
    text = text.strip(PHP_TRIM)
    if len(text) < len('{"type":"doc","content":[]}') or not text.startswith("{"):
        return False
    return is_json_document(text)


def _as_html(value: str, stored: int) -> str:
    if value == "":
        return ""
    if stored == PLAIN_CODE:
        return _plain_to_html(value)
    if stored == MOODLE_CODE:
        return purify(_moodle_to_html(value))
    return purify(value)


def format_text(value: str | None, fmt: str, stored: int = HTML_CODE) -> str | None:
    """Totara's text formatter; ``stored`` is the Moodle format code the text is kept in
    (0 auto-format, 1 HTML, 2 plain). Totara's own types always render as HTML (1)."""
    _check(fmt, _TEXT_FORMATS, "text")
    if value is None or fmt == "RAW":
        return value
    if fmt == "MOBILE" and _is_json_document(value):
        return value
    html = _as_html(value, stored)
    return html if fmt == "HTML" else html_to_text(html, links="inline")
