"""The sync's mapping file (TOML): which feed column feeds which API field, how people are
matched, and who counts as a leaver.

Every table maps an API field name to a feed column name (``firstname = "First name"``). The
file is checked as a whole before anything is read from the feed or the server; a mistake
raises :class:`SyncConfigError` naming the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extapi.errors import ConfigError

__all__ = [
    "SyncConfig",
    "SyncConfigError",
    "load_config",
    "parse_config",
    "USER_FIELDS",
    "JOB_FIELDS",
    "KEYS",
]

# User fields the API both returns (core_user) and accepts (create and update inputs), so a
# second run can tell whether anything changed.
USER_FIELDS = (
    "username",
    "idnumber",
    "email",
    "firstname",
    "lastname",
    "middlename",
    "alternatename",
    "firstnamephonetic",
    "lastnamephonetic",
    "city",
    "country",
    "department",
    "institution",
    "phone1",
    "phone2",
    "address",
    "timezone",
    "lang",
    "url",
    "skype",
)
REQUIRED_USER_FIELDS = ("username", "email", "firstname", "lastname")
# Job fields: the manager is the manager's key (the same kind of value as ``key``).
JOB_FIELDS = (
    "idnumber",
    "fullname",
    "shortname",
    "position",
    "organisation",
    "manager",
    "start_date",
    "end_date",
)
KEYS = ("idnumber", "username")
SECTIONS = ("key", "server", "user", "custom_fields", "job", "create", "leavers", "jobs")


class SyncConfigError(ConfigError):
    """The mapping file is missing, unreadable or wrong."""


@dataclass(frozen=True)
class SyncConfig:
    """A checked mapping file. ``user``, ``custom_fields`` and ``job`` map API field names
    (custom fields: their shortnames) to feed column names."""

    key: str = "idnumber"
    user: dict[str, str] = field(default_factory=dict)
    custom_fields: dict[str, str] = field(default_factory=dict)
    job: dict[str, str] = field(default_factory=dict)
    server_url: str | None = None
    create_auth: str | None = None
    suspend_leavers: bool = True
    protect: tuple[str, ...] = ("admin", "guest")
    idnumber_prefix: str = ""
    remove_unlisted_jobs: bool = True

    @property
    def has_job(self) -> bool:
        return "idnumber" in self.job

    def columns(self) -> set[str]:
        """Every feed column the mapping names."""
        return {*self.user.values(), *self.custom_fields.values(), *self.job.values()}


def _table(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise SyncConfigError(f"[{name}] must be a table.")
    return value


def _columns(data: Mapping[str, Any], name: str, known: tuple[str, ...] | None) -> dict[str, str]:
    table = _table(data, name)
    out: dict[str, str] = {}
    for api_field, column in table.items():
        if known is not None and api_field not in known:
            raise SyncConfigError(
                f"[{name}] {api_field}: not a field the sync can set; known: {', '.join(known)}."
            )
        if not isinstance(column, str) or not column.strip():
            raise SyncConfigError(f"[{name}] {api_field}: must name a feed column.")
        out[api_field] = column
    return out


def _flag(table: Mapping[str, Any], section: str, name: str, default: bool) -> bool:
    value = table.get(name, default)
    if not isinstance(value, bool):
        raise SyncConfigError(f"[{section}] {name}: must be true or false.")
    return value


def _text(table: Mapping[str, Any], section: str, name: str) -> str | None:
    value = table.get(name)
    if value is not None and not isinstance(value, str):
        raise SyncConfigError(f"[{section}] {name}: must be a string.")
    return value


def _unknown(table: Mapping[str, Any], section: str, known: tuple[str, ...]) -> None:
    extra = sorted(set(table) - set(known))
    if extra:
        raise SyncConfigError(
            f"[{section}] has no setting {extra[0]!r}; known: {', '.join(known)}."
        )


def parse_config(data: Mapping[str, Any]) -> SyncConfig:
    """Check a decoded mapping file and return it as a :class:`SyncConfig`."""
    extra = sorted(set(data) - set(SECTIONS))
    if extra:
        raise SyncConfigError(f"Unknown setting {extra[0]!r}; known: {', '.join(SECTIONS)}.")
    key = data.get("key", "idnumber")
    if key not in KEYS:
        raise SyncConfigError(f"key must be one of {', '.join(KEYS)}, got {key!r}.")
    user = _columns(data, "user", USER_FIELDS)
    missing = [f for f in (key, *REQUIRED_USER_FIELDS) if f not in user]
    if missing:
        raise SyncConfigError(f"[user] must map {missing[0]} to a feed column.")
    job = _columns(data, "job", JOB_FIELDS)
    if job and "idnumber" not in job:
        raise SyncConfigError("[job] must map idnumber (the job assignment's) to a feed column.")
    server, create = _table(data, "server"), _table(data, "create")
    leavers, jobs = _table(data, "leavers"), _table(data, "jobs")
    _unknown(server, "server", ("url",))
    _unknown(create, "create", ("auth",))
    _unknown(leavers, "leavers", ("suspend", "protect", "idnumber_prefix"))
    _unknown(jobs, "jobs", ("remove_unlisted",))
    protect = leavers.get("protect", ["admin", "guest"])
    if not isinstance(protect, list) or not all(isinstance(p, str) for p in protect):
        raise SyncConfigError("[leavers] protect: must be a list of usernames.")
    return SyncConfig(
        key=key,
        user=user,
        custom_fields=_columns(data, "custom_fields", None),
        job=job,
        server_url=_text(server, "server", "url"),
        create_auth=_text(create, "create", "auth"),
        suspend_leavers=_flag(leavers, "leavers", "suspend", True),
        protect=tuple(protect),
        idnumber_prefix=_text(leavers, "leavers", "idnumber_prefix") or "",
        remove_unlisted_jobs=_flag(jobs, "jobs", "remove_unlisted", True),
    )


def load_config(path: str | Path) -> SyncConfig:
    """Read and check a TOML mapping file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SyncConfigError(f"Can not read the mapping file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SyncConfigError(f"{path} is not valid TOML: {exc}") from None
    try:
        return parse_config(data)
    except SyncConfigError as exc:
        raise SyncConfigError(f"{path}: {exc.message}") from None
