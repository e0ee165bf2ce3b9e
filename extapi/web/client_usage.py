"""What a client's page shows of its traffic: the last hour per minute and recent requests."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from extapi.requestlog.usage import recent_requests, usage_last_hour
from extapi.settings.site import SiteSettings
from extapi.web.charts import NARROW, usage_chart_svg

__all__ = ["usage_context", "effective_budget"]


def effective_budget(client: Mapping[str, Any], site: SiteSettings) -> int:
    return min(int(client["client_rate_limit"]), site.client_rate_limit)


def usage_context(
    conn: Connection, client: Mapping[str, Any], site: SiteSettings
) -> dict[str, Any]:
    budget = effective_budget(client, site)
    usage = usage_last_hour(conn, client["id"], int(time.time()))
    return {
        "usage": usage,
        "budget": budget,
        "chart": usage_chart_svg(usage.buckets, budget),
        "chart_narrow": usage_chart_svg(usage.buckets, budget, "usage-chart-narrow", NARROW),
        "requests": recent_requests(conn, client["id"]),
    }
