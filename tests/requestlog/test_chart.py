"""The usage chart (inline SVG) and the client page's usage partial."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from jinja2 import Environment, FileSystemLoader, select_autoescape

from extapi.requestlog.usage import HourUsage, LoggedRequest, MinuteUsage
from extapi.web.charts import usage_chart_svg
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


def test_the_budget_is_a_dashed_line_with_a_label():
    # given an hour with a budget of 250,000 points per minute
    root = _parse(usage_chart_svg(_hour({0: 10}), 250_000))
    # then the budget is a dashed horizontal line above the tallest bar, with its label
    line = root.find(".//svg:line[@id='usage-chart-budget']", NS)
    assert line is not None and line.get("stroke-dasharray")
    assert line.get("y1") == line.get("y2")
    bar = next(r for r in root.iter(f"{{{NS['svg']}}}rect") if r.find("svg:title", NS) is not None)
    assert float(line.get("y1", "0")) < float(bar.get("y", "0"))
    texts = [t.text for t in root.iter(f"{{{NS['svg']}}}text")]
    assert "Budget 250,000 per minute" in texts


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
    assert not [
        t for t in root.iter(f"{{{NS['svg']}}}text") if (t.text or "").startswith("Budget ")
    ]


def _render_partial(usage: HourUsage, budget: int, requests: list[LoggedRequest]) -> str:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    chart = usage_chart_svg(usage.buckets, budget)
    return env.get_template("clients/_usage.html").render(
        usage=usage, chart=chart, budget=budget, requests=requests
    )


def test_the_partial_shows_totals_chart_figures_and_recent_requests():
    # given an hour with errors and refusals, and two recent requests
    buckets = _hour({58: 900})
    buckets[59] = MinuteUsage(buckets[59].start, 100, 4, 2, 1)
    requests = [
        LoggedRequest(
            START + 59 * 60 + 5, "<b>Status</b>, (anonymous)", 7, 429, "rate_limited", 1.25
        ),
        LoggedRequest(START + 59 * 60, "Users", 35, 200, "success", 12.0),
    ]
    # when the partial is rendered
    page = _render_partial(_usage(buckets), 1000, requests)
    # then it shows the hour's totals and the peak against the budget
    assert "<dt>Points spent</dt><dd>1,000 in 5 requests</dd>" in page
    assert "90% of the budget" in page
    assert "Close to its limit" in page
    assert "<dt>Errors</dt><dd>2 requests answered with errors</dd>" in page
    assert "<dt>Refused (429)</dt><dd>1 request over the budget</dd>" in page
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


def test_the_partial_without_requests():
    page = _render_partial(_usage(_hour({})), 250_000, [])
    assert "No requests logged yet." in page
    assert "No points spent" in page


def test_grid_lines_fall_on_round_numbers():
    # given budgets of several sizes
    for budget, expected in [
        (40, ["0", "15", "30", "45", "60"]),
        (250_000, ["0", "100,000", "200,000", "300,000", "400,000"]),
        (3, ["0", "1", "2", "3", "4"]),
    ]:
        # when the chart is drawn for an idle hour
        root = _parse(usage_chart_svg(_hour({}), budget))
        # then the axis labels are whole, round numbers
        labels = [
            t.text for t in root.iter(f"{{{NS['svg']}}}text") if t.get("text-anchor") == "end"
        ]
        assert labels[:5] == expected, budget
