"""Carrying out a plan through :mod:`extapi.client`.

Each action (one person) is one GraphQL document whose mutations are aliased ``m0``, ``m1``
... in the plan's order. A server runs a document's mutations one after another and stops at
the first that fails; those before it stand (Totara opens no transaction around a request,
and extapi does as Totara does). Putting the user's mutation first means that when it fails,
nothing of that person changes; when a later job assignment mutation fails, the user's change
stands and the report lists what was applied. Up to ``batch_size`` documents go in one HTTP
request (a batch), waves one after another. The client waits out 429s (``Retry-After``, or
doubling waits on Totara) and retries; a request that got no usable answer stops the run,
since its mutations may or may not have run: the next run re-plans and finds out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from extapi.client import ApiError, Operation, Result
from extapi.client.sync import Client
from extapi.hrsync.plan import Action, Mutation
from extapi.hrsync.state import Journal

__all__ = ["Outcome", "Applied", "apply_plan", "document", "MAX_MUTATIONS_PER_REQUEST"]

# A root mutation costs 10 points and each selected field 1: with 11 per mutation, this many
# stay under the default 6000 points of one request.
MAX_MUTATIONS_PER_REQUEST = 500

_SHAPES: dict[str, tuple[str, str, str | None, str]] = {
    # kind: (field, input type, target argument and type, selection)
    "create_user": ("core_user_create_user", "core_user_create_user_input!", None, "user { id }"),
    "update_user": (
        "core_user_update_user",
        "core_user_update_user_input!",
        "target_user: core_user_user_reference!",
        "user { id }",
    ),
    "create_job": (
        "totara_job_create_job_assignment",
        "totara_job_create_job_assignment_input!",
        None,
        "job_assignment { id }",
    ),
    "update_job": (
        "totara_job_update_job_assignment",
        "totara_job_update_job_assignment_input!",
        "target_job: totara_job_job_assignment_reference!",
        "job_assignment { id }",
    ),
    "delete_job": (
        "totara_job_delete_job_assignment",
        "",
        "target_job: totara_job_job_assignment_reference!",
        "job_assignment_id",
    ),
}


def document(mutations: Sequence[Mutation]) -> Operation:
    """One document running ``mutations`` in order, aliased m0, m1 ..."""
    definitions: list[str] = []
    fields: list[str] = []
    variables: dict[str, Any] = {}
    for index, mutation in enumerate(mutations):
        name, input_type, target, selection = _SHAPES[mutation.kind]
        arguments: list[str] = []
        if target is not None:
            argument, target_type = target.split(": ")
            definitions.append(f"$t{index}: {target_type}")
            arguments.append(f"{argument}: $t{index}")
            variables[f"t{index}"] = mutation.target
        if input_type:
            definitions.append(f"$i{index}: {input_type}")
            arguments.append(f"input: $i{index}")
            variables[f"i{index}"] = mutation.input
        fields.append(f"m{index}: {name}({', '.join(arguments)}) {{ {selection} }}")
    query = f"mutation extapi_sync({', '.join(definitions)}) {{ {' '.join(fields)} }}"
    return Operation(query, variables)


@dataclass(frozen=True)
class Outcome:
    """An action's result: ``applied`` counts its mutations that stand; ``error`` is the
    reason the next one failed (None when all ran)."""

    action: Action
    applied: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.action.as_dict(),
            "error": self.error,
            "applied": [m.kind for m in self.action.mutations[: self.applied]],
            "not_applied": [m.kind for m in self.action.mutations[self.applied :]],
        }


@dataclass
class Applied:
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: int = 0  # done in an interrupted run, and unchanged since
    stopped: str | None = None  # why the run ended early, if it did


def _reason(error: dict[str, Any]) -> str:
    extensions = error.get("extensions")
    debug = error.get("debugMessage")
    if debug is None and isinstance(extensions, dict):
        debug = extensions.get("debugMessage")
    return str(debug or error.get("message") or "unknown error")


def _outcome(action: Action, result: Result) -> Outcome:
    if not result.errors:
        return Outcome(action, len(action.mutations))
    first = result.errors[0]
    path = first.get("path")
    failed = 0
    if isinstance(path, list) and path and isinstance(path[0], str) and path[0][1:].isdigit():
        failed = int(path[0][1:])
    return Outcome(action, failed, _reason(first))


def _chunks(actions: list[Action], batch_size: int) -> list[list[Action]]:
    """Requests in plan order: a new request at each wave, at ``batch_size`` documents, or
    before the mutations would pass :data:`MAX_MUTATIONS_PER_REQUEST`."""
    chunks: list[list[Action]] = []
    current: list[Action] = []
    mutations = 0
    for action in actions:
        full = len(current) >= batch_size
        heavy = mutations + len(action.mutations) > MAX_MUTATIONS_PER_REQUEST
        if current and (full or heavy or action.wave != current[-1].wave):
            chunks.append(current)
            current, mutations = [], 0
        current.append(action)
        mutations += len(action.mutations)
    if current:
        chunks.append(current)
    return chunks


def apply_plan(
    client: Client,
    actions: list[Action],
    journal: Journal | None,
    *,
    batch_size: int = 50,
    max_actions: int | None = None,
    advance: Callable[[int], None] = lambda n: None,
) -> Applied:
    """Send the actions; ``max_actions`` stops after that many (the rest are left for the
    next run); ``advance`` is told how many actions each request finished."""
    applied = Applied()
    todo: list[Action] = []
    for action in actions:
        if journal is not None and action.id in journal.done:
            applied.skipped += 1
            advance(1)
        else:
            todo.append(action)
    if max_actions is not None and len(todo) > max_actions:
        todo = todo[:max_actions]
        applied.stopped = f"stopped after {max_actions} actions (--max-actions)"
    for chunk in _chunks(todo, max(1, batch_size)):
        try:
            results = client.batch([document(a.mutations) for a in chunk], raise_errors=False)
        except ApiError as exc:
            applied.stopped = f"{type(exc).__name__}: {exc.reason}"
            break
        outcomes = [_outcome(a, r) for a, r in zip(chunk, results, strict=True)]
        applied.outcomes += outcomes
        if journal is not None:
            journal.record([o.action.id for o in outcomes if o.ok])
        advance(len(chunk))
    return applied
