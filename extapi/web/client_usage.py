"""What a client's page shows of its traffic: the last hour per minute and recent requests."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from extapi.requestlog.usage import recent_requests, usage_last_hour
from extapi.settings.site import SiteSettings
from extapi.web.charts import usage_charts

__all__ = ["usage_context", "effective_budget"]


def effective_budget(client: Mapping[str, Any], site: SiteSettings) -> int:
    return min(int(client["client_rate_limit"]), site.client_rate_limit)


def usage_context(
    conn: Connection, client: Mapping[str, Any], site: SiteSettings
) -> dict[str, Any]:
    budget = effective_budget(client, site)
    usage = usage_last_hour(conn, client["id"], int(time.time()))
    chart, chart_narrow = usage_charts(usage.buckets, budget)
    return {
        "usage": usage,
        "budget": budget,
        "chart": chart,
        "chart_narrow": chart_narrow,
        "requests": recent_requests(conn, client["id"]),
    }
