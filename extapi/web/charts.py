"""Inline SVG charts for the admin pages.

The pages' Content-Security-Policy forbids inline styles, so everything is drawn with SVG
presentation attributes (fill, stroke ...). Every piece of text is escaped. Colours follow
app.css; what a colour says is also said by a pattern or a label.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from extapi.requestlog.usage import MinuteUsage, percent_of

__all__ = ["usage_chart_svg", "usage_summary"]

WIDTH, HEIGHT = 720, 270
LEFT, RIGHT, TOP, BOTTOM = 84, 16, 44, 48
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
INK, MUTED, GRID = "#1d2433", "#556070", "#d5dae1"
BAR, WARN, BUDGET = "#1f5fbf", "#8a5a00", "#b3261e"
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def _n(value: int) -> str:
    return f"{value:,}"


def _nice_top(value: int) -> int:
    """The smallest top of the axis at or above ``value`` whose quarters (the grid lines) are
    round whole numbers: 4 times 1, 1.5, 2, 2.5 or 5 times a power of ten."""
    need = max(1, math.ceil(value / 4))
    power = 10 ** int(math.floor(math.log10(need)))
    for step in (1, 1.5, 2, 2.5, 5, 10):
        quarter = step * power
        if quarter >= need and quarter == int(quarter):
            return 4 * int(quarter)
    return 40 * power


def usage_summary(buckets: Sequence[MinuteUsage], budget: int) -> str:
    """One sentence a screen reader can say instead of the chart."""
    peak = max(reversed(buckets), key=lambda b: b.points, default=None)
    if peak is None or peak.points == 0:
        return (
            f"No complexity points spent in the last {len(buckets)} minutes; "
            f"the budget is {_n(budget)} points per minute."
        )
    near = sum(1 for b in buckets if b.near_limit(budget))
    text = (
        f"Points spent per minute over the last {len(buckets)} minutes. Peak "
        f"{_n(peak.points)} points in a minute (at {peak.label} UTC), "
        f"{percent_of(peak.points, budget)} of the {_n(budget)} budget."
    )
    if near:
        text += f" {near} minute{'s' if near != 1 else ''} over 80% of the budget."
    return text


def usage_chart_svg(
    buckets: Sequence[MinuteUsage], budget: int, chart_id: str = "usage-chart"
) -> Markup:
    """A bar chart of points per minute with a dashed line at the per-minute ``budget``."""
    cid = str(escape(chart_id))
    top = _nice_top(int(max([b.points for b in buckets] + [budget, 1]) * 1.1))
    summary = escape(usage_summary(buckets, budget))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{summary}" id="{cid}">',
        f"<title>{summary}</title>",
        _defs(cid),
        *_grid(top),
        *_bars(buckets, budget, top, cid),
        *_budget_line(budget, top, cid),
        *_x_axis(buckets),
        *_legend(cid),
        "</svg>",
    ]
    return Markup("\n".join(parts))


def _y(value: float, top: int) -> float:
    return TOP + PLOT_H - value / top * PLOT_H


def _defs(cid: str) -> str:
    return (
        f'<defs><pattern id="{cid}-warn" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="#f3e3c3"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{WARN}" stroke-width="3"/>'
        "</pattern></defs>"
    )


def _grid(top: int) -> list[str]:
    lines = []
    for step in range(5):
        value = top * step / 4
        y = _y(value, top)
        lines.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        lines.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}" {FONT}>'
            f"{escape(_n(round(value)))}</text>"
        )
    middle = TOP + PLOT_H / 2
    lines.append(
        f'<text x="14" y="{middle:.1f}" text-anchor="middle" fill="{MUTED}" {FONT} '
        f'transform="rotate(-90 14 {middle:.1f})">Points per minute</text>'
    )
    return lines


def _bars(buckets: Sequence[MinuteUsage], budget: int, top: int, cid: str) -> list[str]:
    slot = PLOT_W / max(len(buckets), 1)
    shapes = []
    for i, bucket in enumerate(buckets):
        if bucket.points <= 0:
            continue
        x, y = LEFT + i * slot + 1, _y(bucket.points, top)
        near = bucket.near_limit(budget)
        fill = f'fill="url(#{cid}-warn)" stroke="{WARN}"' if near else f'fill="{BAR}"'
        note = ", over 80% of the budget" if near else ""
        plural = "" if bucket.requests == 1 else "s"
        label = escape(
            f"{bucket.label} UTC: {_n(bucket.points)} points, {_n(bucket.requests)} "
            f"request{plural}{note}"
        )
        shapes.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot - 2:.1f}" '
            f'height="{TOP + PLOT_H - y:.1f}" {fill}><title>{label}</title></rect>'
        )
        if near:
            shapes.append(
                f'<text x="{x + (slot - 2) / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
                f'fill="{WARN}" font-weight="700" {FONT}>!</text>'
            )
    return shapes


def _budget_line(budget: int, top: int, cid: str) -> list[str]:
    if budget <= 0:
        return []
    y = _y(budget, top)
    return [
        f'<line id="{cid}-budget" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
        f'stroke="{BUDGET}" stroke-width="2" stroke-dasharray="6 4"/>',
        f'<text x="{WIDTH - RIGHT}" y="{y - 5:.1f}" text-anchor="end" fill="{BUDGET}" {FONT}>'
        f"Budget {escape(_n(budget))} per minute</text>",
    ]


def _x_axis(buckets: Sequence[MinuteUsage]) -> list[str]:
    base = TOP + PLOT_H
    parts = [
        f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" stroke="{INK}" '
        'stroke-width="1"/>'
    ]
    slot = PLOT_W / max(len(buckets), 1)
    for i in sorted({0, 15, 30, 45, len(buckets) - 1}):
        if not 0 <= i < len(buckets):
            continue
        x = LEFT + i * slot + slot / 2
        parts.append(
            f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle" fill="{MUTED}" {FONT}>'
            f"{escape(buckets[i].label)}</text>"
        )
    parts.append(
        f'<text x="{LEFT + PLOT_W / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
        f'fill="{MUTED}" {FONT}>Minute (UTC)</text>'
    )
    return parts


def _legend(cid: str) -> list[str]:
    y = 14
    return [
        f'<rect x="{LEFT}" y="{y}" width="12" height="12" fill="{BAR}"/>',
        f'<text x="{LEFT + 18}" y="{y + 10}" fill="{INK}" {FONT}>Points spent</text>',
        f'<rect x="{LEFT + 120}" y="{y}" width="12" height="12" fill="url(#{cid}-warn)" '
        f'stroke="{WARN}"/>',
        f'<text x="{LEFT + 138}" y="{y + 10}" fill="{INK}" {FONT}>! Over 80% of the budget</text>',
        f'<line x1="{LEFT + 320}" y1="{y + 6}" x2="{LEFT + 344}" y2="{y + 6}" stroke="{BUDGET}" '
        'stroke-width="2" stroke-dasharray="6 4"/>',
        f'<text x="{LEFT + 350}" y="{y + 10}" fill="{INK}" {FONT}>Budget</text>',
    ]
