"""``totara_webapi_status``: a connectivity check that any valid token may call."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo

from extapi.dates import format_date

__all__ = ["RESOLVERS"]


def resolve_status(_root: Any, _info: GraphQLResolveInfo) -> dict[str, Any]:
    return {"status": "ok", "time": int(time.time())}


def resolve_timestamp(root: dict[str, Any], info: GraphQLResolveInfo, format: str) -> str | None:
    return format_date(root["time"], format, info.context.timezone)


RESOLVERS: dict[str, Callable[..., Any]] = {
    "Query.totara_webapi_status": resolve_status,
    "totara_webapi_status.timestamp": resolve_timestamp,
}
