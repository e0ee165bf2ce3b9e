"""Inline SVG charts for the admin pages.

The pages' Content-Security-Policy forbids inline styles, so everything is drawn with SVG
presentation attributes (fill, stroke ...). Every piece of text is escaped. Colours follow
app.css; what a colour says is also said by a pattern or a label.

The usage chart comes in two layouts: a wide one, and a narrow one that a phone shows at
nearly its drawn size (so that its text stays about 12 px); app.css shows one of them. Its
axis is scaled to the hour's use, not to the budget: a client spending 927 of 250,000 points
still gets visible bars, and the budget line is drawn only where it falls on the scale (else
the chart says where it is).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from extapi.requestlog.usage import MinuteUsage, percent_of

__all__ = [
    "usage_chart_svg",
    "usage_charts",
    "usage_summary",
    "Layout",
    "WIDE",
    "NARROW",
    "chart_top",
]

INK, MUTED, GRID = "#1d2433", "#556070", "#d5dae1"
BAR, WARN, BUDGET = "#1f5fbf", "#8a5a00", "#b3261e"
FONT = 'font-family="system-ui, sans-serif" font-size="12"'
# The budget counts towards the scale when it is at most this many times the peak: then its
# line shows how close the client came; further up it would flatten the bars.
BUDGET_IN_SCALE = 2
HEADROOM = 1.05  # room above the tallest bar (or budget) for its "!" mark


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    ticks: tuple[int, ...]  # the minutes labelled on the x axis
    compact: bool  # axis numbers as 25k, 1.5M
    legend_rows: int
    tooltips: bool  # a title per bar: for a pointer that hovers (a phone has none)

    @property
    def plot_w(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> int:
        return self.height - self.top - self.bottom


WIDE = Layout(720, 270, 84, 16, 44, 48, (0, 15, 30, 45, 59), False, 1, True)
NARROW = Layout(360, 260, 50, 10, 62, 44, (0, 30, 59), True, 2, False)


def _n(value: int) -> str:
    return f"{value:,}"


def _short(value: float) -> str:
    """A compact axis number: 950, 1.5k, 25k, 2M."""
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if abs(value) >= size:
            shown = f"{value / size:.1f}".rstrip("0").rstrip(".")
            return f"{shown}{suffix}"
    return _n(round(value))


def _nice_top(value: int) -> int:
    """The smallest top of the axis at or above ``value`` whose quarters (the grid lines) are
    round whole numbers: 4 times 1, 1.25, 1.5, 2, 2.5, 3, 4, 5 or 7.5 times a power of ten
    (so that the tallest bar fills most of the plot)."""
    need = max(1, math.ceil(value / 4))
    power = 10 ** int(math.floor(math.log10(need)))
    for step in (1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10):
        quarter = step * power
        if quarter >= need and quarter == int(quarter):
            return 4 * int(quarter)
    return 40 * power


def chart_top(buckets: Sequence[MinuteUsage], budget: int) -> int:
    """The top of the y axis: the hour's peak with some headroom, and the budgets in force
    when they are near enough to the peak to matter (or nothing was spent)."""
    peak = max((b.points for b in buckets), default=0)
    wanted = peak
    for bucket in buckets or [MinuteUsage(0, 0, 0, 0, 0)]:
        limit = bucket.budget_or(budget)
        if limit > 0 and (peak == 0 or limit <= peak * BUDGET_IN_SCALE):
            wanted = max(wanted, limit)
    return _nice_top(max(1, math.ceil(wanted * HEADROOM)))


def usage_summary(buckets: Sequence[MinuteUsage], budget: int) -> str:
    """One sentence a screen reader can say instead of the chart."""
    peak = max(reversed(buckets), key=lambda b: b.points, default=None)
    if peak is None or peak.points == 0:
        return (
            f"No complexity points spent in the last {len(buckets)} minutes; "
            f"the budget is {_n(budget)} points per minute."
        )
    near = sum(1 for b in buckets if b.near_limit(budget))
    in_force = peak.budget_or(budget)
    text = (
        f"Points spent per minute over the last {len(buckets)} minutes. Peak "
        f"{_n(peak.points)} points in a minute (at {peak.label} UTC), "
        f"{percent_of(peak.points, in_force)} of the {_n(in_force)} budget then."
    )
    if near:
        text += f" {near} minute{'s' if near != 1 else ''} over 80% of the budget."
    return text


def usage_charts(
    buckets: Sequence[MinuteUsage], budget: int, chart_id: str = "usage-chart"
) -> tuple[Markup, Markup]:
    """The wide chart (id ``chart_id``) and the phone one (``chart_id``-narrow), sharing the
    work they have in common."""
    titles = _bar_titles(buckets, budget)
    summary = usage_summary(buckets, budget)
    return (
        usage_chart_svg(buckets, budget, chart_id, WIDE, titles, summary),
        usage_chart_svg(buckets, budget, f"{chart_id}-narrow", NARROW, titles, summary),
    )


def usage_chart_svg(
    buckets: Sequence[MinuteUsage],
    budget: int,
    chart_id: str = "usage-chart",
    layout: Layout = WIDE,
    titles: Sequence[tuple[str, bool] | None] | None = None,
    summary_text: str | None = None,
) -> Markup:
    """A bar chart of points per minute, each minute judged against the budget in force then
    (``budget``, the current one, for minutes that did not record theirs), which is drawn as a
    dashed line where it falls within the scale."""
    cid = str(escape(chart_id))
    top = chart_top(buckets, budget)
    summary = escape(usage_summary(buckets, budget) if summary_text is None else summary_text)
    if titles is None:
        titles = _bar_titles(buckets, budget)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {layout.width} {layout.height}" '
        f'role="img" aria-label="{summary}" id="{cid}">',
        f"<title>{summary}</title>",
        _defs(cid),
        *_grid(top, layout),
        *_bars(buckets, titles, top, cid, layout),
        *_budget_line(buckets, budget, top, cid, layout),
        *_x_axis(buckets, layout),
        *_legend(cid, layout),
        "</svg>",
    ]
    return Markup("\n".join(parts))


def _y(value: float, top: int, layout: Layout) -> float:
    return layout.top + layout.plot_h - value / top * layout.plot_h


def _defs(cid: str) -> str:
    return (
        f'<defs><pattern id="{cid}-warn" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="#f3e3c3"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{WARN}" stroke-width="3"/>'
        "</pattern></defs>"
    )


def _grid(top: int, layout: Layout) -> list[str]:
    lines = []
    right = layout.width - layout.right
    for step in range(5):
        value = top * step / 4
        y = _y(value, top, layout)
        shown = _short(value) if layout.compact else _n(round(value))
        lines.append(
            f'<line x1="{layout.left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        lines.append(
            f'<text x="{layout.left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}" '
            f"{FONT}>{escape(shown)}</text>"
        )
    middle = layout.top + layout.plot_h / 2
    lines.append(
        f'<text x="12" y="{middle:.1f}" text-anchor="middle" fill="{MUTED}" {FONT} '
        f'transform="rotate(-90 12 {middle:.1f})">Points per minute</text>'
    )
    return lines


def _bar_titles(buckets: Sequence[MinuteUsage], budget: int) -> list[tuple[str, bool] | None]:
    """Each bar's tooltip, escaped, and whether the minute went over 80 % of its budget;
    None for a minute without points (no bar)."""
    titles: list[tuple[str, bool] | None] = []
    for bucket in buckets:
        if bucket.points <= 0:
            titles.append(None)
            continue
        in_force = bucket.budget_or(budget)
        near = bucket.near_limit(budget)
        note = ", over 80% of the budget" if near else ""
        plural = "" if bucket.requests == 1 else "s"
        # Digits and fixed words, but for the share, which may read "<1%".
        share = percent_of(bucket.points, in_force).replace("<", "&lt;")
        text = (
            f"{bucket.label} UTC: {bucket.points:,} points, {bucket.requests:,} "
            f"request{plural}, {share} of the "
            f"{in_force:,} budget{note}"
        )
        titles.append((text, near))
    return titles


def _bars(
    buckets: Sequence[MinuteUsage],
    titles: Sequence[tuple[str, bool] | None],
    top: int,
    cid: str,
    layout: Layout,
) -> list[str]:
    slot = layout.plot_w / max(len(buckets), 1)
    gap = 1 if slot > 6 else 0.5
    base = layout.top + layout.plot_h
    scale = layout.plot_h / top
    shapes = []
    for i, (bucket, title) in enumerate(zip(buckets, titles, strict=True)):
        if title is None:
            continue
        x = layout.left + i * slot + gap
        y = min(base - bucket.points * scale, base - 1)  # any use shows at least a sliver
        label, near = title
        fill = f'fill="url(#{cid}-warn)" stroke="{WARN}"' if near else f'fill="{BAR}"'
        tip = f"<title>{label}</title>" if layout.tooltips else ""
        shapes.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot - 2 * gap:.1f}" '
            f'height="{base - y:.1f}" {fill}>{tip}</rect>'
        )
        if near:
            shapes.append(
                f'<text x="{x + slot / 2 - gap:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
                f'fill="{WARN}" font-weight="700" {FONT}>!</text>'
            )
    return shapes


def _budget_line(
    buckets: Sequence[MinuteUsage], budget: int, top: int, cid: str, layout: Layout
) -> list[str]:
    """One dashed segment per run of minutes with the same budget, where it is on the scale;
    the label names the latest budget, or says that it is above the scale."""
    slot = layout.plot_w / max(len(buckets), 1)
    runs: list[tuple[int, int, int]] = []  # (first minute, last minute, budget)
    for i, bucket in enumerate(buckets):
        limit = bucket.budget_or(budget)
        if runs and runs[-1][2] == limit and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i, limit)
        else:
            runs.append((i, i, limit))
    segments = []
    for first, last, limit in runs:
        if 0 < limit <= top:
            y = _y(limit, top, layout)
            x1, x2 = layout.left + first * slot, layout.left + (last + 1) * slot
            segments.append(
                f'<line x1="{x1:.1f}" y1="{y:.1f}" x2="{x2:.1f}" y2="{y:.1f}" '
                f'stroke="{BUDGET}" stroke-width="2" stroke-dasharray="6 4"/>'
            )
    current = buckets[-1].budget_or(budget) if buckets else budget
    if current <= 0:
        return [f'<g id="{cid}-budget">', *segments, "</g>"] if segments else []
    right = layout.width - layout.right
    per = "/min" if layout.compact else " per minute"
    amount = _short(current) if layout.compact else _n(current)
    if current <= top:
        y = _y(current, top, layout) - 5
        text = f"Budget {amount}{per}"
    else:
        y = layout.top - 6
        text = f"Budget {amount}{per}: above the scale ↑"
    label = (
        f'<text id="{cid}-budget-label" x="{right}" y="{y:.1f}" text-anchor="end" '
        f'fill="{BUDGET}" {FONT}>{escape(text)}</text>'
    )
    return [f'<g id="{cid}-budget">', *segments, "</g>", label]


def _x_axis(buckets: Sequence[MinuteUsage], layout: Layout) -> list[str]:
    base = layout.top + layout.plot_h
    right = layout.width - layout.right
    parts = [
        f'<line x1="{layout.left}" y1="{base}" x2="{right}" y2="{base}" stroke="{INK}" '
        'stroke-width="1"/>'
    ]
    slot = layout.plot_w / max(len(buckets), 1)
    wanted = {i if i < len(buckets) - 1 else len(buckets) - 1 for i in layout.ticks}
    for i in sorted(wanted):
        if not 0 <= i < len(buckets):
            continue
        x = layout.left + i * slot + slot / 2
        anchor = "end" if i == len(buckets) - 1 and layout.compact else "middle"
        parts.append(
            f'<text x="{x:.1f}" y="{base + 16}" text-anchor="{anchor}" fill="{MUTED}" {FONT}>'
            f"{escape(buckets[i].label)}</text>"
        )
    parts.append(
        f'<text x="{layout.left + layout.plot_w / 2:.1f}" y="{layout.height - 8}" '
        f'text-anchor="middle" fill="{MUTED}" {FONT}>Minute (UTC)</text>'
    )
    return parts


def _legend(cid: str, layout: Layout) -> list[str]:
    x, y = layout.left, 14
    # (x offset, row) of each item: one row when wide, the budget on a second row when narrow
    second = (0, 1) if layout.legend_rows == 2 else (320, 0)
    bx, row = x + second[0], y + second[1] * 20
    return [
        f'<rect x="{x}" y="{y}" width="12" height="12" fill="{BAR}"/>',
        f'<text x="{x + 18}" y="{y + 10}" fill="{INK}" {FONT}>Points spent</text>',
        f'<rect x="{x + 110}" y="{y}" width="12" height="12" fill="url(#{cid}-warn)" '
        f'stroke="{WARN}"/>',
        f'<text x="{x + 128}" y="{y + 10}" fill="{INK}" {FONT}>! Over 80% of the budget</text>',
        f'<line x1="{bx}" y1="{row + 6}" x2="{bx + 24}" y2="{row + 6}" stroke="{BUDGET}" '
        'stroke-width="2" stroke-dasharray="6 4"/>',
        f'<text x="{bx + 30}" y="{row + 10}" fill="{INK}" {FONT}>Budget in force</text>',
    ]
