"""Per-request batch loading: a list resolver registers the ids of its page, and the first
field that needs related rows loads them for every registered id in one statement."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

__all__ = ["BatchLoader"]

V = TypeVar("V")


class BatchLoader(Generic[V]):
    def __init__(self, fetch: Callable[[list[int]], dict[int, V]], default: V) -> None:
        self._fetch = fetch
        self._default = default
        self._pending: set[int] = set()
        self._loaded: dict[int, V] = {}

    def expect(self, ids: Iterable[int]) -> None:
        """Announce ids that will be asked for soon, so they load together."""
        self._pending.update(i for i in ids if i not in self._loaded)

    def load(self, key: int) -> V:
        if key not in self._loaded:
            batch = sorted(self._pending | {key})
            self._pending.clear()
            found = self._fetch(batch)
            for item in batch:
                self._loaded[item] = found.get(item, self._default)
        return self._loaded[key]

    def forget(self, key: int) -> None:
        """Drop a cached entry after a mutation changed it."""
        self._loaded.pop(key, None)
