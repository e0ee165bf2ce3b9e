"""The run's summary: counts, bad rows with their lines, failed actions; as text or JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from extapi.hrsync.apply import Outcome
from extapi.hrsync.feed import RowError
from extapi.hrsync.plan import Action

__all__ = ["Report"]

KIND_ORDER = ("create", "update", "reactivate", "jobs", "suspend")
JOB_ORDER = ("jobs_created", "jobs_updated", "jobs_removed")


@dataclass
class Report:
    dry_run: bool
    rows: int = 0
    people: int = 0
    unchanged: int = 0
    planned: dict[str, int] = field(default_factory=dict)
    applied: dict[str, int] = field(default_factory=dict)
    bad_rows: list[RowError] = field(default_factory=list)
    failures: list[Outcome] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    skipped: int = 0
    resumed: int = 0
    stopped: str | None = None
    requests: int = 0
    rate_limited: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.bad_rows and not self.failures and self.stopped is None

    def count_applied(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            if outcome.ok:
                kind = outcome.action.kind
                self.applied[kind] = self.applied.get(kind, 0) + 1
            else:
                self.failures.append(outcome)
            for mutation in outcome.action.mutations[: outcome.applied]:
                name = {
                    "create_job": "jobs_created",
                    "update_job": "jobs_updated",
                    "delete_job": "jobs_removed",
                }.get(mutation.kind)
                if name is not None:
                    self.applied[name] = self.applied.get(name, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "people": self.people,
            "unchanged": self.unchanged,
            "planned": self.planned,
            "applied": self.applied,
            "bad_rows": [e.as_dict() for e in self.bad_rows],
            "failures": [f.as_dict() for f in self.failures],
            "skipped_as_done": self.skipped,
            "resumed_after": self.resumed,
            "stopped": self.stopped,
            "requests": self.requests,
            "rate_limited": self.rate_limited,
            "seconds": round(self.seconds, 3),
        }
        if self.dry_run:
            out["actions"] = [a.as_dict() for a in self.actions]
        return out

    def text(self) -> str:
        lines: list[str] = []
        if self.dry_run:
            lines.append("Dry run: nothing was changed. Planned changes:")
            for action in self.actions:
                where = f"line {action.line}" if action.line else "not in feed"
                lines.append(
                    f"  {action.kind:<10} {action.key} ({where}): {', '.join(action.changes)}"
                )
        counts = self.planned if self.dry_run else self.applied
        summary = ", ".join(
            f"{counts.get(k, 0)} {k.replace('_', ' ')}" for k in (*KIND_ORDER, *JOB_ORDER)
        )
        verb = "Would apply" if self.dry_run else "Applied"
        lines.append(
            f"{self.rows} rows, {self.people} people read; {self.unchanged} unchanged. "
            f"{verb}: {summary}."
        )
        if self.resumed:
            lines.append(f"Resumed a run that had finished {self.resumed} actions.")
        for error in self.bad_rows:
            lines.append(f"Bad row, line {error.line} ({error.key or '?'}): {error.message}")
        for failure in self.failures:
            done = [m.kind for m in failure.action.mutations[: failure.applied]]
            lines.append(
                f"Failed: {failure.action.kind} {failure.action.key}"
                f"{f' (line {failure.action.line})' if failure.action.line else ''}: "
                f"{failure.error}" + (f" (applied before it: {', '.join(done)})" if done else "")
            )
        if self.stopped:
            lines.append(f"Stopped early: {self.stopped}. Run again to finish.")
        waited = f" ({self.rate_limited} refused with 429 and retried)" if self.rate_limited else ""
        lines.append(f"{self.requests} requests{waited} in {self.seconds:.1f} s.")
        return "\n".join(lines)
