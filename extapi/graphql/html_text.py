"""HTML to plain text as Totara converts it: its bundled Html2Text, with no line wrapping."""

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
_BLOCKQUOTE_TAG = re.compile(r"</*blockquote[^>]*>", re.I)
_PRE = re.compile(r"<pre[^>]*?>(.*?)</pre>", re.I | re.S)
_LEFTOVER_ENTITY = re.compile(r"&([a-zA-Z0-9]{2,6}|#[0-9]{2,4});")
_TAG_CHUNK = re.compile(r"(<[^>]*>)")


def _upper(text: str) -> str:
    """Upper-case the text between tags; entities too (so ``&nbsp;`` becomes unknown)."""
    return "".join(c if c.startswith("<") else c.upper() for c in _TAG_CHUNK.split(text) if c)


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

    def _quotes(self, text: str) -> str:
        """Each outermost blockquote becomes a preformatted block of "> "-prefixed lines."""
        tags = list(_BLOCKQUOTE_TAG.finditer(text))
        result, level, start, taglen, shift = text, 0, 0, 0, 0
        for tag in tags:
            if not tag.group(0).startswith("</"):
                if level == 0:
                    start, taglen = tag.start(), len(tag.group(0))
                level += 1
                continue
            if level != 1:  # a stray closing tag, or the end of an inner quote
                level = max(level - 1, 0)
                continue
            level = 0
            body = self.convert(php_trim(result[start + taglen - shift : tag.start() - shift]))
            body = re.sub(r"((^|\n)>*)", r"\1> ", php_trim(body))
            block = "<pre>" + escape_html(body) + "</pre>"
            result = result[: start - shift] + block + result[tag.end() - shift :]
            shift += tag.end() - start - len(block)
        return result

    def _preformatted(self, text: str) -> str:
        """Each ``<pre>`` block keeps its lines and spaces (as <br> and non-breaking spaces)."""
        while match := _PRE.search(text):
            content = _sub(self.rules, re.sub(r"(<br\b[^>]*>)", "\n", match.group(1), flags=re.I))
            content = content.replace("\n", "<br>").replace("\t", "&nbsp;" * 4)
            content = re.sub(r"</?pre[^>]*>", "", content.replace(" ", "&nbsp;"))
            text = text[: match.start()] + f"<div><br>{content}<br></div>" + text[match.end() :]
        return text

    def convert(self, text: str) -> str:
        text = self._preformatted(self._quotes(text))
        text = _sub(_LAYOUT, text)
        text = _sub(self.rules, text)
        text = _sub(_ENTITIES, strip_tags(text))
        text = _LEFTOVER_ENTITY.sub("", decode_entities(text)).replace("|+|amp|+|", "&")
        text = re.sub(r"\n[ \t\n\v\f\r]+\n", "\n\n", text)  # ASCII space only, as PCRE
        text = re.sub(r"\n{3,}", "\n\n", text)
        return text.lstrip("\n")


def html_to_text(html: str, links: str = "none") -> str:
    """Totara's html2text with no line wrapping; ``links`` is "none" or "inline"."""
    return _Converter(links).convert(php_trim(html))
