"""The sandbox's declarative seed file: read it, check it, and create what it lists.

A seed is a TOML (or JSON) document with a ``settings`` table (site settings by name) and up
to nine lists: ``tenants``, ``profile_fields``, ``frameworks``, ``types``, ``positions``,
``organisations``, ``users``, ``job_assignments`` and ``clients``. Each entry is checked for
unknown and missing keys and wrong value types before anything is written; then everything
is created through the ordinary services, in one transaction, in that order. Every error
names the entry it comes from, e.g. ``users[2] (ava.nguyen): Invalid email format: ava``.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from extapi.access.principal import Principal
from extapi.access.roles import assign_role
from extapi.auth import clients as client_service
from extapi.auth.secrets import SecretHasher
from extapi.errors import ExtapiError
from extapi.org import hierarchy, jobs
from extapi.people import profile_fields
from extapi.people.tenants import add_tenant, get_tenant_by_idnumber
from extapi.people.user_changes import Actor
from extapi.people.users import NewUser, create_user, get_user_by_username
from extapi.settings.site import load_site_settings, update_settings

__all__ = ["SeedError", "SeededClient", "load_seed", "check_seed", "apply_seed", "EXAMPLE_SEED"]

EXAMPLE_SEED = Path(__file__).with_name("example_seed.toml")


class SeedError(ExtapiError):
    """The seed file can not be read, breaks the format, or an entry is refused."""


@dataclass(frozen=True)
class SeededClient:
    """An API client the seed created, with the secret that is shown only once."""

    name: str
    client_id: str
    client_secret: str
    service_account: str
    tenant: str | None


# section -> key -> (accepted types, required)
_Spec = dict[str, tuple[tuple[type, ...], bool]]
_STR, _BOOL, _LIST, _TABLE = (str,), (bool,), (list,), (dict,)
SECTIONS: dict[str, _Spec] = {
    "tenants": {"idnumber": (_STR, True), "name": (_STR, True), "description": (_STR, False)},
    "profile_fields": {
        "shortname": (_STR, True),
        "name": (_STR, True),
        "type": (_STR, True),
        "options": (_LIST, False),
        "visible": ((int,), False),
        "locked": (_BOOL, False),
    },
    "frameworks": {
        "kind": (_STR, True),
        "idnumber": (_STR, True),
        "fullname": (_STR, True),
        "shortname": (_STR, False),
    },
    "types": {
        "kind": (_STR, True),
        "idnumber": (_STR, True),
        "fullname": (_STR, True),
        "shortname": (_STR, False),
    },
    "positions": {
        "idnumber": (_STR, True),
        "fullname": (_STR, True),
        "framework": (_STR, True),
        "shortname": (_STR, False),
        "description": (_STR, False),
        "type": (_STR, False),
        "parent": (_STR, False),
    },
    "users": {
        "username": (_STR, True),
        "firstname": (_STR, True),
        "lastname": (_STR, True),
        "email": (_STR, False),
        "idnumber": (_STR, False),
        "password": (_STR, False),
        "tenant": (_STR, False),
        "profile": (_TABLE, False),
    },
    "job_assignments": {
        "user": (_STR, True),
        "idnumber": (_STR, True),
        "fullname": (_STR, False),
        "shortname": (_STR, False),
        "position": (_STR, False),
        "organisation": (_STR, False),
        "manager": (_TABLE, False),
        "appraiser": (_STR, False),
        "start_date": (_STR, False),
        "end_date": (_STR, False),
    },
    "clients": {
        "name": (_STR, True),
        "description": (_STR, False),
        "tenant": (_STR, False),
        "service_account": (_STR, False),
        "role": (_STR, False),
        "enabled": (_BOOL, False),
    },
}
SECTIONS["organisations"] = SECTIONS["positions"]
ORDER = (
    "tenants",
    "profile_fields",
    "frameworks",
    "types",
    "positions",
    "organisations",
    "users",
    "job_assignments",
    "clients",
)
_LABEL_KEYS = ("username", "idnumber", "shortname", "name")


def _label(section: str, index: int, entry: Mapping[str, Any]) -> str:
    for key in _LABEL_KEYS:
        value = entry.get(key)
        if isinstance(value, str) and value:
            if section == "job_assignments" and isinstance(entry.get("user"), str):
                return f"{section}[{index}] ({entry['user']}/{value})"
            return f"{section}[{index}] ({value})"
    return f"{section}[{index}]"


def _type_name(types: tuple[type, ...]) -> str:
    return {str: "a string", bool: "true or false", int: "a whole number", list: "a list"}.get(
        types[0], "a table"
    )


def _check_entry(section: str, index: int, entry: Any) -> None:
    if not isinstance(entry, dict):
        raise SeedError(f"{section}[{index}]: each entry must be a table of keys and values.")
    spec = SECTIONS[section]
    where = _label(section, index, entry)
    unknown = sorted(set(entry) - set(spec))
    if unknown:
        raise SeedError(
            f"{where}: unknown key {unknown[0]!r}; known keys are {', '.join(sorted(spec))}."
        )
    for key, (types, required) in spec.items():
        if key not in entry:
            if required:
                raise SeedError(f"{where}: the key {key!r} is required.")
            continue
        value = entry[key]
        wrong_bool = isinstance(value, bool) and bool not in types
        if wrong_bool or not isinstance(value, types):
            raise SeedError(f"{where}: {key!r} must be {_type_name(types)}.")


def check_seed(data: Any) -> dict[str, list[dict[str, Any]]]:
    """The seed's sections, each entry checked for shape; raises :class:`SeedError`.

    The settings table comes back as the one entry of a ``settings`` list."""
    if not isinstance(data, dict):
        raise SeedError("A seed must be a table of sections.")
    unknown = sorted(set(data) - {*ORDER, "settings"})
    if unknown:
        raise SeedError(
            f"Unknown seed section {unknown[0]!r}; known sections are settings, {', '.join(ORDER)}."
        )
    settings = data.get("settings", {})
    if not isinstance(settings, dict) or any(
        isinstance(v, (dict, list)) for v in settings.values()
    ):
        raise SeedError("settings: must be a table of setting names and plain values.")
    sections: dict[str, Any] = {"settings": [settings]}
    for section in ORDER:
        entries = data.get(section, [])
        if not isinstance(entries, list):
            raise SeedError(f"{section}: must be a list of entries ([[{section}]] in TOML).")
        for index, entry in enumerate(entries):
            _check_entry(section, index, entry)
        sections[section] = entries
    return sections


def load_seed(path: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Read and check a ``.toml`` or ``.json`` seed file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SeedError(f"Can not read the seed file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise SeedError(f"{path} is not valid {path.suffix.lstrip('.').upper()}: {exc}") from None
    try:
        return check_seed(data)
    except SeedError as exc:
        raise SeedError(f"{path}: {exc.message}") from None


# --- creating ---------------------------------------------------------------------------------
@contextmanager
def _entry(section: str, index: int, entry: Mapping[str, Any]) -> Iterator[None]:
    """Any refusal from a service, reported with the entry it came from."""
    try:
        yield
    except SeedError as exc:
        raise SeedError(f"{_label(section, index, entry)}: {exc.message}") from None
    except ExtapiError as exc:
        raise SeedError(f"{_label(section, index, entry)}: {exc.message}") from None


def _kind(name: str) -> hierarchy.Kind:
    kind = hierarchy.KIND_INFO.get(name)
    if kind is None:
        raise SeedError(f"kind must be one of {', '.join(hierarchy.KINDS)}, got {name!r}.")
    return kind


def _tenant_id(conn: Connection, idnumber: str | None) -> int | None:
    if idnumber is None:
        return None
    return int(get_tenant_by_idnumber(conn, idnumber)["id"])


def _setting_text(value: Any) -> str:
    """Settings are stored as text; true and false are stored as 1 and 0."""
    return ("1" if value else "0") if isinstance(value, bool) else str(value)


def _seed_actor(conn: Connection) -> Actor:
    """A site administrator with no account of its own: the seed may create anything."""
    site = load_site_settings(conn)
    return Actor(Principal(0, None, is_site_admin=True), site, site.timezone)


def _profile_changes(
    fields: Mapping[str, profile_fields.FieldDefinition], values: Mapping[str, Any], tz: str
) -> dict[int, tuple[str, int] | None]:
    cleaned: dict[int, tuple[str, int] | None] = {}
    for shortname, raw in values.items():
        field = fields.get(shortname)
        if field is None:
            raise SeedError(f"profile: no custom profile field {shortname!r}.")
        change = profile_fields.FieldChange(shortname, _setting_text(raw))
        profile_fields.check_input(field, change)
        cleaned[field.id] = profile_fields.clean_value(field, change, tz)
    return cleaned


def _item(entry: Mapping[str, Any]) -> dict[str, Any]:
    texts = ("idnumber", "fullname", "shortname", "description")
    data: dict[str, Any] = {key: entry[key] for key in texts if key in entry}
    data["framework"] = {"idnumber": entry["framework"]}
    if "type" in entry:
        data["type"] = {"idnumber": entry["type"]}
    if "parent" in entry:
        data["parent"] = {"idnumber": entry["parent"]}
    return data


def _job(entry: Mapping[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"user": {"username": entry["user"]}}
    for key in ("idnumber", "fullname", "shortname", "start_date", "end_date"):
        if key in entry:
            data[key] = entry[key]
    for key in ("position", "organisation"):
        if key in entry:
            data[key] = {"idnumber": entry[key]}
    if "appraiser" in entry:
        data["appraiser"] = {"username": entry["appraiser"]}
    manager = entry.get("manager")
    if manager is not None:
        if set(manager) != {"user", "idnumber"}:
            raise SeedError("manager must give the manager's user and job idnumber.")
        data["manager"] = {"user": {"username": manager["user"]}, "idnumber": manager["idnumber"]}
    return data


_SLUG = re.compile(r"[^a-z0-9]+")


def _service_account(
    conn: Connection, entry: Mapping[str, Any], tenant_id: int | None
) -> tuple[int, str]:
    """The client's named service account, or a new user made for it."""
    if "service_account" in entry:
        username = entry["service_account"]
        return int(get_user_by_username(conn, username)["id"]), username
    slug = _SLUG.sub(".", entry["name"].lower()).strip(".") or "client"
    username = f"{slug}.service"
    new = NewUser(username, f"{username}@example.com", entry["name"], "Service account")
    new.tenant_id = tenant_id
    return create_user(conn, new, load_site_settings(conn)), username


def _create_clients(
    conn: Connection, hasher: SecretHasher, entries: list[dict[str, Any]]
) -> dict[str, SeededClient]:
    made: dict[str, SeededClient] = {}
    for index, entry in enumerate(entries):
        with _entry("clients", index, entry):
            if entry["name"] in made:
                raise SeedError("another client has the same name.")
            tenant_id = _tenant_id(conn, entry.get("tenant"))
            user_id, username = _service_account(conn, entry, tenant_id)
            role = entry.get("role", "apiuser")
            if role:
                assign_role(conn, role, user_id, tenant_id)
            new = client_service.NewClient(
                entry["name"],
                user_id,
                tenant_id,
                description=entry.get("description", ""),
                enabled=entry.get("enabled", True),
            )
            row, secret = client_service.add_client(conn, hasher, load_site_settings(conn), new)
            made[entry["name"]] = SeededClient(
                entry["name"], str(row["client_id"]), secret, username, entry.get("tenant")
            )
    return made


def apply_seed(
    conn: Connection, hasher: SecretHasher, seed: Mapping[str, list[dict[str, Any]]]
) -> dict[str, SeededClient]:
    """Create everything the (checked) seed lists; returns its API clients by name."""
    for settings in seed.get("settings", []):
        raw = {name: _setting_text(value) for name, value in settings.items()}
        refused = update_settings(conn, raw)
        if refused:
            name, reason = next(iter(refused.items()))
            raise SeedError(f"settings.{name}: {reason}")
    for index, entry in enumerate(seed.get("tenants", [])):
        with _entry("tenants", index, entry):
            add_tenant(conn, entry["name"], entry["idnumber"], entry.get("description", ""))
    for index, entry in enumerate(seed.get("profile_fields", [])):
        with _entry("profile_fields", index, entry):
            profile_fields.add_field(
                conn,
                entry["shortname"],
                entry["name"],
                entry["type"],
                [str(option) for option in entry.get("options", [])],
                entry.get("visible", profile_fields.VISIBLE_TO_ALL),
                entry.get("locked", False),
            )
    for section, add in (("frameworks", hierarchy.add_framework), ("types", hierarchy.add_type)):
        for index, entry in enumerate(seed.get(section, [])):
            with _entry(section, index, entry):
                kind = _kind(entry["kind"])
                add(conn, kind, entry["idnumber"], entry["fullname"], entry.get("shortname", ""))
    actor = _seed_actor(conn)
    for section, kind_name in (("positions", "position"), ("organisations", "organisation")):
        for index, entry in enumerate(seed.get(section, [])):
            with _entry(section, index, entry):
                kind = hierarchy.KIND_INFO[kind_name]
                hierarchy.create_item(conn, actor, kind, _item(entry))
    fields = profile_fields.fields_by_shortname(conn)
    site = load_site_settings(conn)
    for index, entry in enumerate(seed.get("users", [])):
        with _entry("users", index, entry):
            username = entry["username"]
            new = NewUser(
                username,
                entry.get("email", f"{username}@example.com"),
                entry["firstname"],
                entry["lastname"],
                password=entry.get("password"),
                idnumber=entry.get("idnumber", ""),
                tenant_id=_tenant_id(conn, entry.get("tenant")),
            )
            user_id = create_user(conn, new, site)
            changes = _profile_changes(fields, entry.get("profile", {}), site.timezone)
            profile_fields.apply_changes(conn, user_id, changes)
    for index, entry in enumerate(seed.get("job_assignments", [])):
        with _entry("job_assignments", index, entry):
            jobs.create_job_assignment(conn, actor, _job(entry))
    return _create_clients(conn, hasher, seed.get("clients", []))
