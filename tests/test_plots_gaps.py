"""Charts break at gaps and speak plain English (spc.plots): no line across missing periods,
the gap shaded and labelled with how many periods are missing and which; tooltips and
legends without "UCL", "LCL", "Common Cause" or rule codes; quarters labelled as quarters."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import plotly.graph_objects as go
import polars as pl
import pytest

from spc import plots, timeliness
from spc.engine import SeriesSpec, analyse

JARGON = re.compile(r"\bUCL\b|\bLCL\b|Common Cause|\bCL\b|in 3 (Above|Below)", re.I)


def month(i: int, start: dt.date = dt.date(2018, 10, 1)) -> dt.date:
    k = start.year * 12 + start.month - 1 + i
    return dt.date(k // 12, k % 12 + 1, 1)


def asb_like() -> pl.DataFrame:
    """The shape of the real police.uk ASB series: Oct 2018 to Feb 2019, then Jan to Apr 2024."""
    periods = [month(i) for i in range(5)] + [dt.date(2024, m, 1) for m in range(1, 5)]
    values = [3160.0, 2677, 2462, 2449, 2616, 920, 905, 1054, 1049]
    points = analyse(pl.DataFrame({"period": periods, "value": values}),
                     SeriesSpec(improvement="decrease")).points
    return points.with_columns(area_name=pl.lit("Staffordshire"))


def segments(trace: go.Scatter) -> Iterator[tuple[object, object]]:
    """The (x0, x1) of every drawn line segment of a trace: consecutive points both present."""
    xs, ys = list(trace.x or []), list(trace.y or [])
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if None not in (x0, y0, x1, y1):
            yield x0, x1


def crossing(fig: go.Figure, before: dt.date, after: dt.date) -> list[str]:
    """Line traces with a segment from at or before `before` to at or after `after`."""
    bad = []
    for t in fig.data:
        if "lines" in (t.mode or ""):
            for x0, x1 in segments(t):
                if x0 <= before and x1 >= after:
                    bad.append(f"{t.name}: {x0} to {x1}")
    return bad


def test_no_line_crosses_the_58_month_gap_and_the_gap_is_said() -> None:
    points = asb_like()
    fig = plots.control_chart(points, unit="count", frequency="month")
    assert crossing(fig, dt.date(2019, 2, 1), dt.date(2024, 1, 1)) == []
    # the value line still joins the figures either side of it within each stretch
    value_line = fig.data[0]
    assert len(list(segments(value_line))) == 4 + 3
    # limits per phase as before: the one phase's centre is drawn on both sides
    centre = next(t for t in fig.data if t.name == "Average (centre line)")
    assert {x for x, y in zip(centre.x, centre.y) if y is not None} >= {month(0), dt.date(2024, 4, 1)}
    # shaded and labelled: how many periods are missing, and which
    (band,) = [s for s in fig.layout.shapes if s.type == "rect"]
    assert (band.x0, band.x1) == (dt.date(2019, 2, 1), dt.date(2024, 1, 1))
    texts = [a.text for a in fig.layout.annotations]
    assert any("58 months missing" in t and "Mar 2019" in t and "Dec 2023" in t for t in texts)


def test_a_series_without_gaps_is_one_unbroken_line() -> None:
    points = analyse(pl.DataFrame({"period": [month(i) for i in range(20)],
                                   "value": [float(10 + i % 3) for i in range(20)]})).points
    fig = plots.control_chart(points)
    assert len(list(segments(fig.data[0]))) == 19
    assert not [s for s in fig.layout.shapes if s.type == "rect"]


def test_a_missing_quarter_breaks_a_quarterly_chart_and_is_named_as_a_quarter() -> None:
    periods = [dt.date(2022, 1, 1), dt.date(2022, 4, 1), dt.date(2022, 7, 1), dt.date(2023, 1, 1),
               dt.date(2023, 4, 1), dt.date(2023, 7, 1)]
    points = analyse(pl.DataFrame({"period": periods, "value": [0.2, 0.21, 0.19, 0.22, 0.2, 0.18]})).points
    fig = plots.control_chart(points, unit="%", frequency="quarter")
    assert crossing(fig, dt.date(2022, 7, 1), dt.date(2023, 1, 1)) == []
    texts = [a.text for a in fig.layout.annotations]
    assert any("1 quarter missing" in t and "Oct–Dec 2022" in t for t in texts)
    # tooltips and axis in quarters
    hover = [row[0] for t in fig.data if t.mode == "markers" and t.customdata is not None for row in t.customdata]
    assert "Jan–Mar 2022" in hover and "Jul–Sep 2023" in hover
    assert fig.layout.xaxis.tickformat == "Q%q %Y"


def test_small_multiples_and_sparklines_break_at_gaps() -> None:
    points = asb_like()
    fig = plots.small_multiples(points, unit="count", columns=1)
    assert crossing(fig, dt.date(2019, 2, 1), dt.date(2024, 1, 1)) == []
    assert [s for s in fig.layout.shapes if s.type == "rect"]
    spark = plots.sparkline(points, unit="count")
    assert crossing(spark, dt.date(2019, 2, 1), dt.date(2024, 1, 1)) == []
    svg = plots.sparkline_svg(points["value"].to_list(), points["point_type"].to_list(),
                              periods=points["period"].to_list())
    # two polylines (one each side of the gap), the second starting far to the right
    lines = re.findall(r'<polyline points="([^"]+)"', svg)
    assert len(lines) == 2 and len(lines[0].split()) == 5 and len(lines[1].split()) == 4
    assert float(lines[1].split()[0].split(",")[0]) > 0.8 * 160
    # a missing value breaks an SVG sparkline too, even without periods
    assert len(re.findall("<polyline", plots.sparkline_svg([1.0, 2.0, None, 3.0, 4.0]))) == 2


def test_tooltips_and_legends_are_plain_english() -> None:
    values = [100.0, 104, 98, 101, 97, 103, 99, 102, 100, 96, 104, 101, 99, 100, 103, 98,
              120, 121, 119, 140, 99, 102, 100, 101, 99, 98, 97, 96, 95, 94, 93]
    points = analyse(pl.DataFrame({"period": [month(i) for i in range(len(values))], "value": values}),
                     SeriesSpec(improvement="decrease")).points
    rules = set(points["rule"].to_list())
    assert {"Above UCL", "Common Cause"} <= rules  # the raw labels are there to be translated
    fig = plots.control_chart(points, unit="count", two_sigma=True)
    hover = [" ".join(str(c) for c in row) for t in fig.data if t.customdata is not None for row in t.customdata]
    legend = [t.name for t in fig.data if t.name and t.showlegend is not False]
    for text in hover + legend:
        assert not JARGON.search(text), text
    assert any("Concern: a point above the upper process limit" in h for h in hover)
    assert any("Normal variation" in h for h in hover)
    small = plots.small_multiples(points.with_columns(area_name=pl.lit("A")), unit="count")
    for t in small.data:
        for row in t.customdata or []:
            assert not JARGON.search(" ".join(str(c) for c in row))


@pytest.mark.parametrize(("frequency", "period", "text"), [
    ("quarter", dt.date(2024, 1, 1), "Jan–Mar 2024"),
    ("quarter", dt.date(2023, 10, 1), "Oct–Dec 2023"),
    ("quarter", dt.date(2024, 4, 1), "Apr–Jun 2024"),
    ("month", dt.date(2024, 3, 1), "Mar 2024"),
    ("year", dt.date(2023, 4, 1), "2023/24"),
])
def test_format_period_labels_quarters_as_quarters(frequency: str, period: dt.date, text: str) -> None:
    assert plots.format_period(period, frequency) == text


def test_without_a_frequency_the_grain_is_inferred_so_quarters_are_not_gaps() -> None:
    """The briefing pack and small multiples may not pass the indicator's frequency: a
    quarterly series must not then read as two months missing between every quarter."""
    quarters = [dt.date(2021 + i // 4, 3 * (i % 4) + 1, 1) for i in range(10)]
    points = analyse(pl.DataFrame({"period": quarters, "value": [float(i % 3) for i in range(10)]})).points
    fig = plots.control_chart(points)
    assert len(list(segments(fig.data[0]))) == 9
    assert not [s for s in fig.layout.shapes if s.type == "rect"]
    hover = [row[0] for t in fig.data if t.mode == "markers" and t.customdata is not None for row in t.customdata]
    assert "Jan–Mar 2021" in hover
    gapped = points.filter(pl.col("period") != dt.date(2022, 4, 1))
    texts = [a.text for a in plots.control_chart(gapped).layout.annotations]
    assert any("1 quarter missing" in t and "Apr–Jun 2022" in t for t in texts)
    assert timeliness.infer_frequency([dt.date(2024, 1, 1) + dt.timedelta(days=7 * k) for k in (0, 1, 3)]) == "week"
    assert timeliness.infer_frequency([dt.date(2020, 4, 1), dt.date(2021, 4, 1)]) == "year"
