"""Resolvers of the hierarchy area (organisations, positions, frameworks, types)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["RESOLVERS"]

RESOLVERS: dict[str, Callable[..., Any]] = {}
