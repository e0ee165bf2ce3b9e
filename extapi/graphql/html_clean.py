"""Totara's cleaning of HTML text (``clean_text``, HTMLPurifier with Totara's settings), for
the markup descriptions ordinarily hold.

Kept: the elements and attributes of XHTML 1.0 Transitional that Totara allows, safe link
schemes, inline CSS with colour names spelled as hex, multi-language spans. Repaired as the
cleaner repairs them: unclosed elements, a link inside a link, a block inside a paragraph or
heading. Not reproduced: the cleaner's finer nesting rules for malformed markup, per-property
CSS value checks, and its rewriting of legacy elements such as ``<center>``.
"""

from __future__ import annotations

import re
from html.entities import name2codepoint
from html.parser import HTMLParser

from extapi.graphql.php_text import escape_html

__all__ = ["purify"]

_VOID = {"br", "hr", "img", "col", "area", "wbr"}
_DROP_WITH_CONTENT = {"script", "style", "iframe", "head", "title", "noscript"}
# Elements kept only inside one of these open parents.
_PARENTS = {
    "li": {"ul", "ol", "menu", "dir"},
    "dt": {"dl"},
    "dd": {"dl"},
    "tr": {"table", "thead", "tbody", "tfoot"},
    "td": {"tr"},
    "th": {"tr"},
}
_ALLOWED = {
    "a", "abbr", "acronym", "address", "b", "bdo", "big", "blockquote", "br", "caption", "cite",
    "code", "col", "colgroup", "dd", "del", "dfn", "div", "dl", "dt", "em", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "samp",
    "small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "tt", "u", "ul", "var", "nolink", "tex", "algebra", "lang", "video", "audio",
    "source", "track", "ruby", "rt", "rp", "rb", "font", "center", "dir", "menu",
}  # fmt: skip
_ATTRS = {
    "class", "title", "lang", "xml:lang", "dir", "style", "href", "src", "alt", "width",
    "height", "colspan", "rowspan", "align", "valign", "target", "rel", "xxxlang",
    "controls", "type", "start", "summary", "border", "cellpadding", "cellspacing",
    "color", "size", "face", "bgcolor",
}  # fmt: skip
_COLOUR_NAMES = {
    "maroon": "#800000", "red": "#FF0000", "orange": "#FFA500", "yellow": "#FFFF00",
    "olive": "#808000", "purple": "#800080", "fuchsia": "#FF00FF", "white": "#FFFFFF",
    "lime": "#00FF00", "green": "#008000", "navy": "#000080", "blue": "#0000FF",
    "aqua": "#00FFFF", "teal": "#008080", "black": "#000000", "silver": "#C0C0C0",
    "gray": "#808080",
}  # fmt: skip
_CSS_PROPERTIES = {
    "color", "background-color", "background", "font", "font-family", "font-size",
    "font-style", "font-variant", "font-weight", "text-align", "text-decoration",
    "text-indent", "text-transform", "letter-spacing", "word-spacing", "line-height",
    "vertical-align", "white-space", "width", "height", "min-width", "max-width",
    "min-height", "max-height", "margin", "margin-top", "margin-right", "margin-bottom",
    "margin-left", "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
    "border", "border-top", "border-right", "border-bottom", "border-left", "border-color",
    "border-style", "border-width", "border-collapse", "border-spacing", "list-style",
    "list-style-type", "list-style-position", "float", "clear", "display", "visibility",
    "overflow", "caption-side", "table-layout", "empty-cells",
}  # fmt: skip
_URI_ATTRS = {"href", "src"}
_BLOCK = {
    "address", "blockquote", "center", "dir", "div", "dl", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "menu", "ol", "p", "pre", "table", "ul",
}  # fmt: skip
_INLINE_ONLY = {"p", "h1", "h2", "h3", "h4", "h5", "h6"}
_SAFE_SCHEME = re.compile(
    r"^(?:(?:https?|irc|nntp|news|rtsp|rtmp|teamspeak|mms|mailto|skype|meet|sip|xmpp):|[^:]*$)",
    re.I,
)
_MULTILANG_OPEN = re.compile(r'<span(\s+lang="([a-zA-Z0-9_-]+)"|\s+class="multilang"){2}\s*>')


_CLEANER_ENTITY = re.compile(r"&(?:#([0-9]+)|#[xX]([0-9a-fA-F]+)|([A-Za-z][A-Za-z0-9]*));|&")
# Characters the cleaner drops from the text as written (not from numeric references).
_NON_SGML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_HTML4_NAMES = {**name2codepoint, "apos": 0x27}
_MARKUP = {"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&#39;"}


def _entity(m: re.Match[str]) -> str:
    """The cleaner's reading of one entity: HTML 4 names (with their semicolon) and numeric
    references become characters, impossible code points vanish, anything else is a lone "&"."""
    decimal, hexadecimal, name = m.groups()
    if name is not None:
        cp = _HTML4_NAMES.get(name)
        if cp is None:
            return "&amp;" + m.group(0)[1:]
    elif decimal is None and hexadecimal is None:
        return "&amp;"
    else:
        digits = decimal if decimal is not None else hexadecimal
        cp = int(digits, 10 if decimal is not None else 16) if len(digits) < 9 else -1
        if cp < 0x20 and cp not in (0x09, 0x0A, 0x0D) or cp in (0xFFFE, 0xFFFF):
            return ""
        if 0xD800 <= cp <= 0xDFFF or cp > 0x10FFFF:
            return ""
    char = chr(cp)
    return _MARKUP.get(char, char)


def _css(style: str) -> str:
    """Inline CSS as the cleaner writes it back: known properties only, ``name:value;``."""
    kept = []
    for declaration in style.split(";"):
        name, colon, value = declaration.partition(":")
        name, value = name.strip().lower(), value.strip()
        if not colon or not value or name not in _CSS_PROPERTIES:
            continue
        if "color" in name:
            value = _COLOUR_NAMES.get(value.lower(), re.sub(r"\s+", "", value))
        kept.append(f"{name}:{value};")
    return "".join(kept)


class _Cleaner(HTMLParser):
    """Keeps known elements and attributes, drops scripts, balances tags, escapes text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.dropping = 0

    def _attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> str:
        kept: dict[str, str] = {}
        for name, raw in attrs:
            value = raw if raw is not None else ""
            if name not in _ATTRS or (name in _URI_ATTRS and not _SAFE_SCHEME.match(value)):
                continue
            if name == "style":
                value = _css(value)
            elif name in ("color", "bgcolor"):
                value = _COLOUR_NAMES.get(value.strip().lower(), value)
            if value or name not in ("class", "style"):
                kept[name] = value
        if tag == "img" and "alt" not in kept and "src" in kept:
            kept["alt"] = kept["src"].rsplit("/", 1)[-1]
        if tag == "a" and kept.get("target") == "_blank":
            rel = kept.get("rel", "").split()
            kept["rel"] = " ".join(rel + [r for r in ("noreferrer", "noopener") if r not in rel])
        return "".join(f' {name}="{escape_html(value)}"' for name, value in kept.items())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_WITH_CONTENT:
            self.dropping += 1
        elif not self.dropping and tag in _ALLOWED and self._placeable(tag, attrs):
            self._close_for(tag)
            if tag in _VOID:
                self.out.append(f"<{tag}{self._attrs(tag, attrs)} />")
            else:
                self.out.append(f"<{tag}{self._attrs(tag, attrs)}>")
                self.open.append(tag)

    def _placeable(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        """A list item needs a list, a cell a row ...; an image needs a usable source."""
        if tag == "img":
            return any(n == "src" and _SAFE_SCHEME.match(v or "") for n, v in attrs)
        parents = _PARENTS.get(tag)
        return parents is None or any(open_tag in parents for open_tag in self.open)

    def _close_for(self, tag: str) -> None:
        """Close what cannot hold the new element: a link inside a link, a block inside a
        paragraph or heading."""
        if tag == "a" and "a" in self.open:
            self.handle_endtag("a")
        elif tag in _BLOCK and self.open and self.open[-1] in _INLINE_ONLY:
            self.handle_endtag(self.open[-1])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID or tag in _DROP_WITH_CONTENT:
            self.handle_starttag(tag, attrs)
            if tag in _DROP_WITH_CONTENT:
                self.dropping -= 1
        else:
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_WITH_CONTENT:
            self.dropping = max(0, self.dropping - 1)
        elif not self.dropping and tag in self.open:
            while self.open:
                name = self.open.pop()
                self.out.append(f"</{name}>")
                if name == tag:
                    break

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.out.append(escape_html(data, quotes="none"))

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(f"</{t}>" for t in reversed(self.open))


def _needs_cleaning(text: str) -> bool:
    """Totara skips the cleaner for text that is plainly safe (digits, or only p/em/strong/br)."""
    if text == "" or re.fullmatch(r"-?[1-9][0-9]*|0", text):
        return False
    if "&" in text or re.search(r"<[^pesb/]", text):
        return True
    altered = escape_html(text, quotes="none")
    for pattern, repl in (
        (r"&lt;p&gt;(.*?)&lt;/p&gt;", r"<p>\1</p>"),
        (r"&lt;em&gt;([^<>]+?)&lt;/em&gt;", r"<em>\1</em>"),
        (r"&lt;strong&gt;([^<>]+?)&lt;/strong&gt;", r"<strong>\1</strong>"),
    ):
        if altered == text:
            return False
        altered = re.sub(pattern, repl, altered)
    return altered != text and altered.replace("&lt;br /&gt;", "<br />") != text


def purify(html: str) -> str:
    """Totara's ``clean_text`` for HTML: untouched when plainly safe, else sanitised, with
    multi-language spans kept."""
    if not _needs_cleaning(html):
        return html
    multilang = 'class="multilang"' in html
    if multilang:
        html = _MULTILANG_OPEN.sub(lambda m: f'<span xxxlang="{m.group(2)}">', html)
    cleaner = _Cleaner()
    cleaner.feed(_CLEANER_ENTITY.sub(_entity, _NON_SGML.sub("", html)))
    cleaned = cleaner.result()
    if multilang:
        cleaned = re.sub(
            r'<span xxxlang="([a-zA-Z0-9_-]+)">', r'<span lang="\1" class="multilang">', cleaned
        )
    return cleaned
