"""The diff: what the server holds and what the feed says become a list of actions.

Pure: no I/O, the same inputs always give the same actions in the same order. Each
:class:`Action` concerns one person and holds that person's mutations in the order they must
run (the user first, then job assignments: creations and updates, then removals). Actions come
in *waves*: a person whose manager's job assignment is created by this run waits for the wave
after the manager's, so the reference resolves. Leavers (suspensions) come last.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from extapi.hrsync.config import SyncConfig
from extapi.hrsync.feed import Feed, Person, RowError
from extapi.people.rules import country_name

__all__ = ["ServerUser", "ServerJob", "ServerState", "Mutation", "Action", "Plan", "make_plan"]

JOB_TEXT_FIELDS = ("fullname", "shortname", "start_date", "end_date")
JOB_COUNTS = {
    "create_job": "jobs_created",
    "update_job": "jobs_updated",
    "delete_job": "jobs_removed",
}


@dataclass(frozen=True)
class ServerUser:
    id: str
    username: str
    idnumber: str
    suspended: bool
    fields: dict[str, str | None]  # None: the server does not show it (email, usually)
    custom: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServerJob:
    """A job assignment as the server has it; ``fields`` holds fullname, shortname and the
    dates as YYYY-MM-DD (empty when unset)."""

    id: str
    userid: str
    idnumber: str
    fields: dict[str, str]
    positionid: str | None = None
    organisationid: str | None = None
    managerjaid: str | None = None


@dataclass
class ServerState:
    users: list[ServerUser] = field(default_factory=list)
    jobs: list[ServerJob] = field(default_factory=list)
    positions: dict[str, str] = field(default_factory=dict)  # idnumber -> id
    organisations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Mutation:
    """One API mutation: ``kind`` is create_user, update_user, create_job, update_job or
    delete_job; ``target`` the reference for updates and removals."""

    kind: str
    input: dict[str, Any] | None = None
    target: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "input": self.input, "target": self.target}


@dataclass(frozen=True)
class Action:
    """One person's changes. ``kind`` is create, update, reactivate, suspend or jobs (only
    job assignments change); ``changes`` names what changes, for the report."""

    id: str
    kind: str
    key: str
    line: int | None
    wave: int
    mutations: tuple[Mutation, ...]
    changes: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "key": self.key,
            "line": self.line,
            "changes": list(self.changes),
        }


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    unchanged: int = 0

    def counts(self) -> dict[str, int]:
        """Actions by kind, and job assignment changes by kind."""
        out: dict[str, int] = {}
        for action in self.actions:
            out[action.kind] = out.get(action.kind, 0) + 1
            for mutation in action.mutations:
                name = JOB_COUNTS.get(mutation.kind)
                if name is not None:
                    out[name] = out.get(name, 0) + 1
        return out


def normalise_custom(value: str, wanted: str) -> str:
    """A custom field value as the server shows it, in the feed's terms: date fields come
    back as unix seconds (noon UTC of the day), the feed gives YYYY-MM-DD."""
    if value.isdigit() and len(wanted) == 10 and wanted[4:5] == "-":
        return dt.datetime.fromtimestamp(int(value), dt.UTC).date().isoformat()
    return value


class _Bad(Exception):
    pass


def _action_id(kind: str, key: str, mutations: Iterable[Mutation]) -> str:
    payload = orjson.dumps(
        [kind, key, [m.as_dict() for m in mutations]], option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(payload).hexdigest()[:16]


@dataclass
class _Resolved:
    """Where a person's manager link points: an existing job (``job_id``) or one this run
    creates for ``depends_on`` (then ``ref`` names it by holder and idnumber)."""

    ref: dict[str, Any] | None
    job_id: str | None
    depends_on: str | None


def _differs(name: str, wanted: str, current: str) -> bool:
    """Whether a user field needs changing; the server shows a country by its name."""
    if name == "country" and wanted and current == country_name(wanted):
        return False
    return wanted != current


def _manager_differs(wanted: _Resolved, current: str | None) -> bool:
    if wanted.ref is None:
        return current is not None
    return wanted.job_id is None or wanted.job_id != current


class _Planner:
    def __init__(self, server: ServerState, feed: Feed, config: SyncConfig) -> None:
        self.server, self.feed, self.config = server, feed, config
        key = config.key
        self.by_key = {getattr(u, key): u for u in server.users if getattr(u, key)}
        self.by_username = {u.username: u for u in server.users}
        self.jobs_of: dict[str, list[ServerJob]] = {}
        for job in sorted(server.jobs, key=lambda j: int(j.id) if j.id.isdigit() else 0):
            self.jobs_of.setdefault(job.userid, []).append(job)
        self.errors: list[RowError] = list(feed.errors)
        self.bad_lines = {e.key: e.line for e in feed.errors if e.key}

    # --- the user --------------------------------------------------------------------------
    def user_mutation(self, person: Person) -> tuple[str, Mutation | None, list[str]]:
        found = self.by_key.get(person.key)
        holder = self.by_username.get(person.username)
        if holder is not None and holder is not found:
            raise _Bad(f"username {person.username!r} belongs to another user")
        custom = self.config.custom_fields
        if found is None:
            data: dict[str, Any] = {k: v for k, v in person.user.items() if v}
            data["generate_password"] = True
            if self.config.create_auth:
                data["auth"] = self.config.create_auth
            values = [{"shortname": s, "data": v} for s, v in person.custom.items() if v]
            if values:
                data["custom_fields"] = values
            return "create", Mutation("create_user", data), ["user"]
        changed: dict[str, Any] = {}
        hidden: dict[str, str] = {}
        for name, value in person.user.items():
            current = found.fields.get(name, "")
            if current is None:
                hidden[name] = value
            elif _differs(name, value, current):
                changed[name] = value
        changes = sorted(changed)
        values = [
            {"shortname": s, "data": v}
            for s, v in person.custom.items()
            if s in custom and v != normalise_custom(found.custom.get(s, ""), v)
        ]
        if values:
            changed["custom_fields"] = values
            changes += [f"custom:{v['shortname']}" for v in values]
        kind = "update"
        if found.suspended:
            changed["suspended"] = False
            changes.append("suspended")
            kind = "reactivate"
        if not changed:
            return kind, None, []
        # Fields the server does not show can not be compared: they go along with any other
        # change of the person (and are always set on creation).
        changed.update((name, value) for name, value in hidden.items() if value)
        return kind, Mutation("update_user", changed, {"id": found.id}), changes

    # --- job assignments -------------------------------------------------------------------
    def check_hierarchy(self, person: Person) -> None:
        if person.job is None:
            return
        for name, known in (
            ("position", self.server.positions),
            ("organisation", self.server.organisations),
        ):
            value = person.job.fields.get(name, "")
            if value and value not in known:
                raise _Bad(f"unknown {name} {value!r}")

    def resolve_manager(self, person: Person, valid: Mapping[str, Person]) -> _Resolved | None:
        """The manager link ``person`` should have (None: leave it alone)."""
        assert person.job is not None
        manager_key = person.job.manager
        if manager_key is None:
            return None
        if manager_key == "":
            return _Resolved(None, None, None)
        manager = valid.get(manager_key)
        on_server = self.by_key.get(manager_key)
        if manager is not None:
            if manager.job is None:
                raise _Bad(f"manager {manager_key!r} has no job assignment in the feed")
            existing = self._job(on_server, manager.job.idnumber)
            if existing is not None:
                return _Resolved({"id": existing.id}, existing.id, None)
            ref = {"user": {"username": manager.username}, "idnumber": manager.job.idnumber}
            return _Resolved(ref, None, manager.key)
        if manager_key in self.bad_lines and on_server is None:
            raise _Bad(
                f"manager {manager_key!r} is on a bad row (line {self.bad_lines[manager_key]})"
            )
        if on_server is None:
            raise _Bad(f"manager {manager_key!r} not found in the feed or on the server")
        jobs = self.jobs_of.get(on_server.id, [])
        if not jobs:
            raise _Bad(f"manager {manager_key!r} has no job assignment")
        return _Resolved({"id": jobs[0].id}, jobs[0].id, None)

    @staticmethod
    def _hierarchy_input(name: str, value: str) -> dict[str, Any] | None:
        return {"idnumber": value} if value else None

    def _job(self, user: ServerUser | None, idnumber: str) -> ServerJob | None:
        if user is None:
            return None
        return next((j for j in self.jobs_of.get(user.id, []) if j.idnumber == idnumber), None)

    def job_mutations(
        self, person: Person, manager: _Resolved | None
    ) -> tuple[list[Mutation], list[str]]:
        user = self.by_key.get(person.key)
        mutations: list[Mutation] = []
        changes: list[str] = []
        job = person.job
        keep: str | None = None
        if job is not None:
            keep = job.idnumber
            existing = self._job(user, job.idnumber)
            positions, organisations = self.server.positions, self.server.organisations
            if existing is None:
                data: dict[str, Any] = {"idnumber": job.idnumber}
                data["user"] = {"id": user.id} if user else {"username": person.username}
                for name in JOB_TEXT_FIELDS:
                    if job.fields.get(name):
                        data[name] = job.fields[name]
                for name in ("position", "organisation"):
                    if job.fields.get(name):
                        data[name] = {"idnumber": job.fields[name]}
                if manager is not None and manager.ref is not None:
                    data["manager"] = manager.ref
                mutations.append(Mutation("create_job", data))
                changes.append(f"job {job.idnumber}: new")
            else:
                diff: dict[str, Any] = {}
                for name in JOB_TEXT_FIELDS:
                    if name not in job.fields or (name == "fullname" and not job.fields[name]):
                        continue  # an empty full name gets the server's default
                    if job.fields[name] != existing.fields.get(name, ""):
                        empty = None if name.endswith("_date") else ""
                        diff[name] = job.fields[name] or empty
                for name, known, current in (
                    ("position", positions, existing.positionid),
                    ("organisation", organisations, existing.organisationid),
                ):
                    if name in job.fields:
                        wanted = known.get(job.fields[name]) if job.fields[name] else None
                        if wanted != current:
                            diff[name] = self._hierarchy_input(name, job.fields[name])
                if manager is not None and _manager_differs(manager, existing.managerjaid):
                    diff["manager"] = manager.ref
                if diff:
                    mutations.append(Mutation("update_job", diff, {"id": existing.id}))
                    changes.append(f"job {job.idnumber}: {', '.join(sorted(diff))}")
        if user is not None and self.config.remove_unlisted_jobs:
            for other in self.jobs_of.get(user.id, []):
                if other.idnumber != keep:
                    mutations.append(Mutation("delete_job", None, {"id": other.id}))
                    changes.append(f"job {other.idnumber}: removed")
        return mutations, changes

    # --- the whole plan --------------------------------------------------------------------
    def plan(self) -> Plan:
        plan = Plan()
        valid: dict[str, Person] = {}
        users: dict[str, tuple[str, Mutation | None, list[str]]] = {}
        for person in self.feed.people:
            try:
                users[person.key] = self.user_mutation(person)
                self.check_hierarchy(person)
            except _Bad as exc:
                self._bad(person, str(exc))
                continue
            valid[person.key] = person
        managers = self._resolve_managers(valid)
        waves = self._waves(valid, managers)
        for person in self.feed.people:
            if person.key not in valid:
                continue
            kind, user_mutation, changes = users[person.key]
            mutations = [user_mutation] if user_mutation is not None else []
            if self.config.has_job:
                job_mutations, job_changes = self.job_mutations(person, managers.get(person.key))
                mutations += job_mutations
                changes += job_changes
            if not mutations:
                plan.unchanged += 1
                continue
            if user_mutation is None:
                kind = "jobs"
            action = Action(
                _action_id(kind, person.key, mutations),
                kind,
                person.key,
                person.line,
                waves[person.key],
                tuple(mutations),
                tuple(changes),
            )
            plan.actions.append(action)
        plan.actions.sort(key=lambda a: (a.wave, a.line or 0))
        plan.actions += self._leavers()
        plan.errors = sorted(self.errors, key=lambda e: e.line)
        return plan

    def _bad(self, person: Person, message: str) -> None:
        self.errors.append(RowError(person.line, person.key, message))
        self.bad_lines[person.key] = person.line

    def _resolve_managers(self, valid: dict[str, Person]) -> dict[str, _Resolved]:
        """Each valid person's manager link; a person whose manager can not be resolved
        becomes a bad row, which may in turn leave their own staff unresolved."""
        while True:
            resolved: dict[str, _Resolved] = {}
            dropped = False
            for person in list(valid.values()):
                if person.job is None:
                    continue
                try:
                    found = self.resolve_manager(person, valid)
                except _Bad as exc:
                    self._bad(person, str(exc))
                    del valid[person.key]
                    dropped = True
                    continue
                if found is not None:
                    resolved[person.key] = found
            if not dropped:
                return resolved

    def _waves(self, valid: dict[str, Person], managers: dict[str, _Resolved]) -> dict[str, int]:
        """Each valid person's wave: 0, or one more than the wave of the manager whose new
        job assignment they link to. A cycle of such links makes its members bad rows."""
        waves: dict[str, int] = {}
        for start in valid:
            chain: list[str] = []
            key = start
            while key not in waves:
                if key in chain:
                    for member in chain[chain.index(key) :]:
                        self._bad(valid[member], "managers form a cycle of new job assignments")
                        del valid[member]
                    # Their staff are resolved again: they may now be bad rows too.
                    managers.clear()
                    managers.update(self._resolve_managers(valid))
                    return self._waves(valid, managers)
                chain.append(key)
                link = managers.get(key)
                depends_on = link.depends_on if link is not None else None
                if depends_on is None:
                    waves[chain.pop()] = 0
                    break
                key = depends_on
            wave = waves[key]
            for member in reversed(chain):
                wave += 1
                waves[member] = wave
        return waves

    def _in_scope(self, user: ServerUser) -> bool:
        if user.username in self.config.protect or not user.idnumber:
            return False
        return user.idnumber.startswith(self.config.idnumber_prefix)

    def _leavers(self) -> list[Action]:
        if not self.config.suspend_leavers:
            return []
        named = self.feed.keys()
        out: list[Action] = []
        for user in sorted(self.server.users, key=lambda u: u.username):
            key = getattr(user, self.config.key)
            if user.suspended or not key or key in named or not self._in_scope(user):
                continue
            mutation = Mutation("update_user", {"suspended": True}, {"id": user.id})
            out.append(
                Action(
                    _action_id("suspend", key, [mutation]),
                    "suspend",
                    key,
                    None,
                    0,
                    (mutation,),
                    ("suspended",),
                )
            )
        return out


def make_plan(server: ServerState, feed: Feed, config: SyncConfig) -> Plan:
    """The actions that bring the server in line with the feed, and the rows left out."""
    return _Planner(server, feed, config).plan()
