"""The journal that makes an interrupted run resumable.

A run re-plans from the live server every time, which is what makes it idempotent: work that
reached the server is no longer in the plan. The journal (JSON lines: a header naming the
feed's checksum, then one line per finished action) adds two things on top. It tells the next
run of the same feed that it is resuming, and how far the last one got; and an action recorded
as done that shows up again unchanged in the new plan (the server accepted it but it changed
nothing visible) is not sent a second time. The journal is removed when a run ends without
being interrupted; a journal of another feed is replaced.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import IO

import orjson

__all__ = ["Journal", "feed_checksum", "default_state_path"]

STATE_SUFFIX = ".sync-state"


def feed_checksum(feed: Path, mapping: bytes) -> str:
    digest = hashlib.sha256(feed.read_bytes())
    digest.update(b"\0")
    digest.update(mapping)
    return digest.hexdigest()


def default_state_path(feed: Path) -> Path:
    return feed.with_name(feed.name + STATE_SUFFIX)


class Journal:
    """Open with :meth:`open`; ``resumed`` is how many actions an earlier, interrupted run of
    the same feed finished, and ``done`` their ids."""

    def __init__(self, path: Path, checksum: str) -> None:
        self.path = path
        self.checksum = checksum
        self.done: set[str] = set()
        self.resumed = 0
        self._file: IO[bytes] | None = None

    @classmethod
    def open(cls, path: Path, checksum: str) -> Journal:
        journal = cls(path, checksum)
        journal._load()
        return journal

    def _load(self) -> None:
        try:
            lines = self.path.read_bytes().splitlines()
        except FileNotFoundError:
            lines = []
        header = _decode(lines[0]) if lines else None
        if header is not None and header.get("feed") == self.checksum:
            for raw in lines[1:]:
                entry = _decode(raw)  # a line cut short by a crash is skipped
                if entry is not None and isinstance(entry.get("done"), str):
                    self.done.add(entry["done"])
            self.resumed = len(self.done)
            self._file = self.path.open("ab")
            return
        self._file = self.path.open("wb")
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self._write({"feed": self.checksum, "started": started})

    def _write(self, entry: dict[str, str]) -> None:
        assert self._file is not None
        self._file.write(orjson.dumps(entry) + b"\n")

    def record(self, action_ids: list[str]) -> None:
        """Note finished actions, durably before the next batch is sent."""
        for action_id in action_ids:
            self._write({"done": action_id})
            self.done.add(action_id)
        assert self._file is not None
        self._file.flush()

    def close(self, finished: bool) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if finished:
            self.path.unlink(missing_ok=True)


def _decode(raw: bytes) -> dict[str, str] | None:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
