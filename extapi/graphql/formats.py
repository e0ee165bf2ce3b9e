"""Rendering text fields in the format a query asks for (core_format)."""

from __future__ import annotations

import html
import re

__all__ = ["format_text", "HTML_CODE", "PLAIN_CODE"]

HTML_CODE, PLAIN_CODE = 1, 2
_TAG = re.compile(r"<[^>]*>")
_DANGEROUS_BLOCK = re.compile(r"<(script|style|iframe|object|embed)\b.*?</\1\s*>", re.I | re.S)
_DANGEROUS_TAG = re.compile(r"</?(script|style|iframe|object|embed)\b[^>]*>", re.I)
_EVENT_ATTR = re.compile(r"\s+on\w+\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)", re.I)
_JS_URL = re.compile(r"(href|src)\s*=\s*([\"']?)\s*javascript:[^\"'\s>]*\2", re.I)


def _clean_html(value: str) -> str:
    """Remove what could run in a browser: script-like elements, event handlers, js: links."""
    value = _DANGEROUS_BLOCK.sub("", value)
    value = _DANGEROUS_TAG.sub("", value)
    value = _EVENT_ATTR.sub("", value)
    return _JS_URL.sub(r"\1=\2#\2", value)


def format_text(value: str | None, fmt: str, stored: int = PLAIN_CODE) -> str | None:
    """``stored`` is the Moodle format code of the value (1 HTML, 2 plain ...)."""
    if value is None:
        return None
    if fmt == "RAW":
        return value
    is_html = stored in (0, HTML_CODE)
    if fmt == "PLAIN":
        return html.unescape(_TAG.sub("", value)) if is_html else value
    if fmt in ("HTML", "MOBILE"):
        return _clean_html(value) if is_html else html.escape(value, quote=False)
    return value  # MARKDOWN and JSON_EDITOR: the stored text as it is
