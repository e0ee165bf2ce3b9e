"""Totara's JSON editor documents, recognised by their shape."""

from __future__ import annotations

import json

__all__ = ["is_json_document"]


def is_json_document(text: str) -> bool:
    """An object of type "doc" with a list of content (the shape only: Totara also validates
    every node)."""
    try:
        document = json.loads(text) if text else None
    except ValueError:
        return False
    return (
        isinstance(document, dict)
        and document.get("type") == "doc"
        and isinstance(document.get("content"), list)
    )
