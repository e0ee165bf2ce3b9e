"""HTML to plain text as Totara converts it: its bundled Html2Text, with no line wrapping.

Not reproduced: the layout of ``<pre>`` and ``<blockquote>`` blocks.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from extapi.graphql.php_text import decode_entities, escape_html, php_trim, strip_tags

__all__ = ["html_to_text"]

_Replacement = str | Callable[[re.Match[str]], str]
_Rule = tuple[re.Pattern[str], _Replacement]


def _rules(*pairs: tuple[str, _Replacement], flags: int = re.I) -> list[_Rule]:
    return [(re.compile(p, flags), r) for p, r in pairs]


def _sub(rules: list[_Rule], text: str) -> str:
    for pattern, replacement in rules:
        text = pattern.sub(replacement, text)
    return text


# Block and inline markup turned into text layout, applied in this order.
_LAYOUT = _rules(
    (r"\r", ""),
    (r"[\n\t]+", " "),
    (r"<head\b[^>]*>.*?</head>", ""),
    (r"<script\b[^>]*>.*?</script>", ""),
    (r"<style\b[^>]*>.*?</style>", ""),
    (r"<i\b[^>]*>(.*?)</i>", r"_\1_"),
    (r"<em\b[^>]*>(.*?)</em>", r"_\1_"),
    (r"(<ul\b[^>]*>|</ul>)", "\n\n"),
    (r"(<ol\b[^>]*>|</ol>)", "\n\n"),
    (r"(<dl\b[^>]*>|</dl>)", "\n\n"),
    (r"<li\b[^>]*>(.*?)</li>", "\t* \\1\n"),
    (r"<dd\b[^>]*>(.*?)</dd>", " \\1\n"),
    (r"<dt\b[^>]*>(.*?)</dt>", "\t* \\1"),
    (r"<li\b[^>]*>", "\n\t* "),
    (r"<hr\b[^>]*>", "\n-------------------------\n"),
    (r"<div\b[^>]*>", "<div>\n"),
    (r"(<table\b[^>]*>|</table>)", "\n\n"),
    (r"(<tr\b[^>]*>|</tr>)", "\n"),
    (r"<td\b[^>]*>(.*?)</td>", "\t\t\\1\n"),
    (r'<span class="_html2text_ignore">.+?</span>', ""),
    (r'<(img)\b[^>]*alt="([^>"]+)"[^>]*>', r"[\2]"),
)

_ENTITIES = _rules(
    (r"&#153;", "\u2122"),
    (r"&#151;", "\u2014"),
    (r"&(amp|#38);", "|+|amp|+|"),
    (r"[ ]{2,}", " "),
    (r"&#39;", "'"),
    (r"[ ]+([\n\t])", r"\1"),
)
_LEFTOVER_ENTITY = re.compile(r"&([a-zA-Z0-9]{2,6}|#[0-9]{2,4});")
_TAG_CHUNK = re.compile(r"(<[^>]*>)")


def _upper(text: str) -> str:
    """Upper-case the text between tags (entities decoded first, then re-escaped)."""
    chunks = [c for c in _TAG_CHUNK.split(text) if c]
    return "".join(
        c if c.startswith("<") else escape_html(decode_entities(c).upper()) for c in chunks
    )


class _Converter:
    def __init__(self, links: str) -> None:
        self.links = links
        self.rules = _rules(
            (r"<(h)[123456]( [^>]*)?>(.*?)</h[123456]>", self._heading),
            (r"(?s)[ ]*<(p)( [^>]*)?>(.*?)</p>[ ]*", self._paragraph),
            (r"<(br)[^>]*>[ ]*", lambda m: "\n"),
            (r"<(b)( [^>]*)?>(.*?)</b>", lambda m: _upper(m.group(3))),
            (r"<(strong)( [^>]*)?>(.*?)</strong>", lambda m: _upper(m.group(3))),
            (r"<(th)( [^>]*)?>(.*?)</th>", lambda m: _upper("\t\t" + m.group(3) + "\n")),
            (r"<(a) [^>]*href=(\"|')([^\"']+)\2([^>]*)>(.*?)</a>", self._link),
        )

    @staticmethod
    def _heading(m: re.Match[str]) -> str:
        return _upper("\n\n" + m.group(3) + "\n\n")

    @staticmethod
    def _paragraph(m: re.Match[str]) -> str:
        return "\n" + php_trim(m.group(3).replace("\n", " ")) + "\n"

    def _link(self, m: re.Match[str]) -> str:
        url, display = m.group(3).replace(" ", ""), m.group(5)
        override = re.search(r"_html2text_link_(\w+)", m.group(4))
        method = override.group(1) if override else self.links
        if method == "none" or re.match(r"(javascript:|mailto:|#)", url, re.I):
            return display
        if not re.match(r"[a-z][a-z0-9.+-]+:", url, re.I) and not url.startswith("/"):
            url = "/" + url
        if method == "inline":
            return display if url == display else f"{display} [{url}]"
        return display

    def convert(self, html: str) -> str:
        text = _sub(_LAYOUT, php_trim(html))
        text = _sub(self.rules, text)
        text = _sub(_ENTITIES, strip_tags(text))
        text = _LEFTOVER_ENTITY.sub("", decode_entities(text)).replace("|+|amp|+|", "&")
        text = re.sub(r"\n[ \t\n\v\f\r]+\n", "\n\n", text)  # ASCII space only, as PCRE
        text = re.sub(r"\n{3,}", "\n\n", text)
        return text.lstrip("\n")


def html_to_text(html: str, links: str = "none") -> str:
    """Totara's html2text with no line wrapping; ``links`` is "none" or "inline"."""
    return _Converter(links).convert(html)
