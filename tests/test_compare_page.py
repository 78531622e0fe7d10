"""The Compare areas page on the demo database: counts are compared with a year earlier by the
conditional binomial funnel, colours follow the funnel, and a one-month window of small counts
says that chance dominates."""

from __future__ import annotations

import json

from test_app import run_app


def _funnel(at) -> dict:
    return json.loads(next(c.proto.spec for c in at.get("plotly_chart")))


def test_counts_funnel_is_year_on_year_and_marks_bands_by_level(monkeypatch, demo_db) -> None:
    at = run_app(monkeypatch, demo_db, "compare", sel_indicator="asb_incidents", compare_window=12)
    fig = _funnel(at)
    assert fig["layout"]["xaxis"]["title"]["text"].startswith("incidents in both windows")
    areas = next(t for t in fig["data"] if t.get("name") == "areas")
    # beyond 95% a hollow warning marker; filled concern colour only beyond 99.8%
    for symbol, colour, band in zip(areas["marker"]["symbol"], areas["marker"]["color"], areas["customdata"]):
        if "99.8%" in band:
            assert (symbol, colour) == ("circle", "#FAB428")
        elif "95%" in band:
            assert symbol == "circle-open" and colour != "#FAB428"
        else:
            assert colour != "#FAB428"
    table = at.dataframe[0].value
    assert "Ratio" in table.columns and "A year earlier" in table.columns


def test_one_month_of_small_counts_says_chance_dominates(monkeypatch, demo_db) -> None:
    at = run_app(monkeypatch, demo_db, "compare", sel_indicator="crime_robbery", compare_window=1)
    said = " ".join(i.value for i in at.info) + " ".join(c.value for c in at.caption)
    assert "chance dominates" in said
