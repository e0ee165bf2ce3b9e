"""Reading what the server holds, through the API only (so it works against Totara too).

Four listings, each followed page by page with its cursor: every user (``core_user_users``,
suspended ones included), every job assignment (``totara_job_job_assignments``: the API has no
listing per user, so the whole list is read once and grouped by holder), and the positions and
organisations (to turn idnumbers into ids), the last two only when the mapping uses them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from extapi.client import ComplexityError
from extapi.client.sync import Client
from extapi.hrsync.config import SyncConfig
from extapi.hrsync.plan import ServerJob, ServerState, ServerUser

__all__ = ["read_state"]

T = TypeVar("T")
JOB_FIELDS = (
    "id",
    "userid",
    "idnumber",
    "fullname",
    "shortname",
    "startdate(format: ISO8601)",
    "enddate(format: ISO8601)",
    "positionid",
    "organisationid",
    "managerjaid",
)
CUSTOM_SELECTION = "custom_fields { shortname data }"
# A custom field's record costs more than a plain field; pages are sized for this many.
CUSTOM_FIELD_WEIGHT = 4


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _paged(read: Callable[[int], Iterator[T]], size: int) -> list[T]:
    """Read a whole listing, halving the page while the server finds it too complex."""
    while True:
        try:
            return list(read(size))
        except ComplexityError:
            if size <= 1:
                raise
            size = max(1, size // 2)


def _user(item: dict[str, Any], config: SyncConfig) -> ServerUser:
    # None stays None: the server hides that field from the service account (email).
    fields = {name: item.get(name) for name in config.user}
    custom = {
        str(c.get("shortname")): _text(c.get("data")) for c in item.get("custom_fields") or []
    }
    return ServerUser(
        str(item["id"]),
        _text(item.get("username")),
        _text(item.get("idnumber")),
        bool(item.get("suspended")),
        fields,
        custom,
    )


def _job(item: dict[str, Any]) -> ServerJob:
    fields = {
        "fullname": _text(item.get("fullname")),
        "shortname": _text(item.get("shortname")),
        "start_date": _text(item.get("startdate"))[:10],
        "end_date": _text(item.get("enddate"))[:10],
    }
    return ServerJob(
        str(item["id"]),
        str(item["userid"]),
        _text(item.get("idnumber")),
        fields,
        item.get("positionid"),
        item.get("organisationid"),
        item.get("managerjaid"),
    )


def _page_size(fields: int, page_size: int | None) -> int:
    if page_size is not None:
        return page_size
    return max(1, (6000 - 5) // max(1, fields))


def read_state(client: Client, config: SyncConfig, page_size: int | None = None) -> ServerState:
    """Everything the plan compares with the feed."""
    user_fields = ["id", "username", "idnumber", "suspended", *config.user]
    user_fields = list(dict.fromkeys(user_fields))
    weight = len(user_fields)
    if config.custom_fields:
        user_fields.append(CUSTOM_SELECTION)
        weight += CUSTOM_FIELD_WEIGHT * len(config.custom_fields)
    users = _paged(
        lambda size: client.users(user_fields, page_size=size), _page_size(weight, page_size)
    )
    state = ServerState(users=[_user(dict(u), config) for u in users])
    if not config.has_job:
        return state
    jobs = _paged(
        lambda size: client.job_assignments(JOB_FIELDS, page_size=size),
        _page_size(len(JOB_FIELDS), page_size),
    )
    state.jobs = [_job(dict(j)) for j in jobs]
    hierarchy = ("id", "idnumber")
    if "position" in config.job:
        positions = _paged(
            lambda size: client.positions(hierarchy, page_size=size), _page_size(2, page_size)
        )
        state.positions = {str(p["idnumber"]): str(p["id"]) for p in positions if p["idnumber"]}
    if "organisation" in config.job:
        organisations = _paged(
            lambda size: client.organisations(hierarchy, page_size=size),
            _page_size(2, page_size),
        )
        state.organisations = {
            str(o["idnumber"]): str(o["id"]) for o in organisations if o["idnumber"]
        }
    return state
