"""The usage chart (inline SVG) and the client page's usage partial."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from jinja2 import Environment, FileSystemLoader, select_autoescape

from extapi.requestlog.usage import HourUsage, LoggedRequest, MinuteUsage
from extapi.web.badges import outcome_badge
from extapi.web.charts import NARROW, usage_chart_svg
from extapi.web.state import TEMPLATES_DIR

NS = {"svg": "http://www.w3.org/2000/svg"}
START = 1_800_000_000 - 59 * 60  # the hour up to 2027-01-15 08:00 UTC


def _hour(points: dict[int, int]) -> list[MinuteUsage]:
    """Sixty minutes with ``points`` at the given indexes (one request each)."""
    return [
        MinuteUsage(START + i * 60, points.get(i, 0), 1 if i in points else 0, 0, 0)
        for i in range(60)
    ]


def _usage(buckets: list[MinuteUsage]) -> HourUsage:
    return HourUsage.of(buckets)


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_the_chart_is_valid_svg_with_a_summary():
    # given an hour with a peak of 1,234 points against a 250,000 budget
    svg = usage_chart_svg(_hour({10: 200, 59: 1234}), 250_000)
    # when it is parsed as XML
    root = _parse(svg)
    # then it is an image with a label summarising it
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("role") == "img"
    label = root.get("aria-label") or ""
    assert "Peak 1,234 points in a minute" in label
    assert "<1% of the 250,000 budget" in label
    assert root.find("svg:title", NS) is not None
    # and it has one bar per minute with points, each with its own figures
    bars = [r for r in root.iter(f"{{{NS['svg']}}}rect") if r.find("svg:title", NS) is not None]
    assert len(bars) == 2
    assert "08:00 UTC: 1,234 points, 1 request" in (bars[1].find("svg:title", NS).text or "")


def _budget_segments(root: ET.Element) -> list[ET.Element]:
    group = root.find(".//svg:g[@id='usage-chart-budget']", NS)
    return [] if group is None else group.findall("svg:line", NS)


def _bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{{{NS['svg']}}}rect") if r.find("svg:title", NS) is not None]


def _axis_labels(root: ET.Element) -> list[str]:
    return [
        t.text or ""
        for t in root.iter(f"{{{NS['svg']}}}text")
        if t.get("text-anchor") == "end" and t.get("id") is None
    ]


def test_the_budget_is_a_dashed_line_with_a_label_when_use_comes_near_it():
    # given an hour peaking at 700 points against a budget of 1,000 points per minute
    root = _parse(usage_chart_svg(_hour({0: 700}), 1000))
    # then the budget is a dashed horizontal line above the tallest bar, with its label
    (line,) = _budget_segments(root)
    assert line.get("stroke-dasharray")
    assert line.get("y1") == line.get("y2")
    (bar,) = _bars(root)
    assert float(line.get("y1", "0")) < float(bar.get("y", "0"))
    label = root.find(".//svg:text[@id='usage-chart-budget-label']", NS)
    assert label is not None and label.text == "Budget 1,000 per minute"


def test_the_scale_follows_use_far_below_the_budget():
    # given a client using 927 of its 250,000 points in its busiest minute
    root = _parse(usage_chart_svg(_hour({30: 927, 31: 400}), 250_000))
    # then the axis tops out just above the use, on round numbers
    assert _axis_labels(root)[:5] == ["0", "250", "500", "750", "1,000"]
    # and the tallest bar fills most of the plot instead of being a flat line
    tallest = max(float(b.get("height", "0")) for b in _bars(root))
    assert tallest > 0.8 * 178  # the wide layout's plot is 178 units high
    # and the budget is not drawn but said to be above the scale
    assert _budget_segments(root) == []
    label = root.find(".//svg:text[@id='usage-chart-budget-label']", NS)
    assert label is not None and "250,000" in (label.text or "")
    assert "above the scale" in (label.text or "")


def test_each_minute_is_judged_against_the_budget_in_force_then():
    # given a minute of 900 points when the budget was 1,000, and one of 900 under 5,000
    buckets = _hour({})
    buckets[10] = MinuteUsage(buckets[10].start, 900, 1, 0, 0, budget=1000)
    buckets[20] = MinuteUsage(buckets[20].start, 900, 1, 0, 0, budget=5000)
    root = _parse(usage_chart_svg(buckets, 5000))
    # then only the first is flagged, and its label names its own budget
    first, second = _bars(root)
    assert first.get("fill") == "url(#usage-chart-warn)"
    assert "90% of the 1,000 budget" in (first.find("svg:title", NS).text or "")
    assert second.get("fill", "").startswith("#")
    assert "18% of the 5,000 budget" in (second.find("svg:title", NS).text or "")
    # and the budget line steps where the budget changed (the 5,000 part is off the scale)
    segments = _budget_segments(root)
    assert len(segments) == 1
    assert float(segments[0].get("x2", "0")) < float(second.get("x", "0"))


def test_the_narrow_layout_keeps_its_text_at_reading_size():
    # given the phone layout of a busy hour
    root = _parse(usage_chart_svg(_hour({5: 123_456}), 250_000, "narrow", NARROW))
    # then it is drawn 360 units wide (a 390 px phone shows it at about its size, so its
    # 12-unit text stays about 12 px), with compact axis numbers
    assert root.get("viewBox") == "0 0 360 260"
    assert _axis_labels(root)[:5] == ["0", "40k", "80k", "120k", "160k"]
    sizes = {t.get("font-size") for t in root.iter(f"{{{NS['svg']}}}text")}
    assert sizes == {"12"}


def test_minutes_over_80_percent_are_hatched_and_marked():
    # given one minute at 90 % and one at 50 % of a 1,000 budget
    root = _parse(usage_chart_svg(_hour({5: 900, 6: 500}), 1000))
    bars = [r for r in root.iter(f"{{{NS['svg']}}}rect") if r.find("svg:title", NS) is not None]
    warned, normal = bars
    # then the busy one has the pattern fill, a label and a "!" mark, the other does not
    assert warned.get("fill") == "url(#usage-chart-warn)"
    assert "over 80% of the budget" in (warned.find("svg:title", NS).text or "")
    assert normal.get("fill", "").startswith("#")
    marks = [t for t in root.iter(f"{{{NS['svg']}}}text") if t.text == "!"]
    assert len(marks) == 1
    assert "1 minute over 80% of the budget" in (root.get("aria-label") or "")


def test_no_inline_styles():
    svg = str(usage_chart_svg(_hour({5: 900}), 1000))
    assert "style" not in svg


def test_text_is_escaped():
    svg = usage_chart_svg(_hour({1: 5}), 100, chart_id='x"><script>alert(1)</script>')
    assert "<script>" not in svg
    root = _parse(svg)
    assert root.get("id") == 'x"><script>alert(1)</script>'


def test_an_empty_hour_and_a_zero_budget_still_draw():
    root = _parse(usage_chart_svg(_hour({}), 0))
    assert "No complexity points spent" in (root.get("aria-label") or "")
    assert root.find(".//svg:text[@id='usage-chart-budget-label']", NS) is None
    assert _budget_segments(root) == []


def _render_partial(usage: HourUsage, budget: int, requests: list[LoggedRequest]) -> str:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["outcome_badge"] = outcome_badge
    chart = usage_chart_svg(usage.buckets, budget)
    narrow = usage_chart_svg(usage.buckets, budget, "usage-chart-narrow", NARROW)
    return env.get_template("clients/_usage.html").render(
        client={"client_id": "abc"},
        usage=usage,
        chart=chart,
        chart_narrow=narrow,
        budget=budget,
        requests=requests,
    )


def test_the_partial_shows_totals_chart_figures_and_recent_requests():
    # given an hour with errors and refusals, and two recent requests
    buckets = _hour({58: 900})
    buckets[59] = MinuteUsage(buckets[59].start, 100, 4, 2, 1)
    requests = [
        LoggedRequest(
            2, START + 59 * 60 + 5, "<b>Status</b>, (anonymous)", 7, 429, "rate_limited", 1.25
        ),
        LoggedRequest(1, START + 59 * 60, "Users", 35, 200, "success", 12.0),
    ]
    # when the partial is rendered
    page = _render_partial(_usage(buckets), 1000, requests)
    # then it shows the hour's totals and the peak against the budget
    assert "<dt>Points spent</dt><dd>1,000 in 5 requests</dd>" in page
    assert "90% of the budget" in page
    assert "Close to its limit" in page
    assert "<dt>Errors</dt><dd>2 requests answered with errors</dd>" in page
    assert "<dt>Rate limited (429)</dt><dd>1 request over the budget</dd>" in page
    # and the chart, with the per-minute figures as a table
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page
    assert "Figures per minute" in page
    assert page.count('<th scope="row">') == 60
    # and the recent requests, escaped, with UTC ISO times
    assert "&lt;b&gt;Status&lt;/b&gt;, (anonymous)" in page
    assert "<b>Status</b>" not in page
    assert '<time datetime="2027-01-15T08:00:05Z">' in page
    assert "Rate limited" in page and "1.2</td>" in page
    assert 'class="table-wrap"' in page
    # and each request links to its detail, and the full log is a link away
    assert 'href="/admin/clients/abc/requests/2"' in page
    assert 'href="/admin/clients/abc/requests?outcome=errors"' in page


def test_the_partial_names_the_budget_of_each_minute_when_it_changed():
    # given an hour whose busiest minute was used under a budget of 1,000, now 5,000
    buckets = _hour({})
    buckets[30] = MinuteUsage(buckets[30].start, 900, 3, 0, 0, budget=1000)
    page = _render_partial(_usage(buckets), 5000, [])
    # then the minute is judged against its own budget, which the table shows
    assert "Close to its limit" in page
    assert "(the busiest minute had 1,000)" in page
    assert '<th scope="col" class="num">Budget then</th>' in page
    assert '<td class="num">1,000</td>' in page
    # and an hour under one budget has no such column
    same = _render_partial(_usage(_hour({30: 900})), 5000, [])
    assert "Budget then" not in same


def test_the_partial_without_requests():
    page = _render_partial(_usage(_hour({})), 250_000, [])
    assert "No requests logged yet." in page
    assert "No points spent" in page


def test_grid_lines_fall_on_round_numbers():
    # given budgets of several sizes
    for budget, expected in [
        (40, ["0", "15", "30", "45", "60"]),
        (250_000, ["0", "75,000", "150,000", "225,000", "300,000"]),
        (3, ["0", "1", "2", "3", "4"]),
    ]:
        # when the chart is drawn for an idle hour
        root = _parse(usage_chart_svg(_hour({}), budget))
        # then the axis labels are whole, round numbers
        assert _axis_labels(root)[:5] == expected, budget
