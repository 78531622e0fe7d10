"""The Indicator page's "per 1,000 residents" option for count indicators (demo store): the
chart of the rate is the stored counts' chart scaled by each period's population, said so in a
caption; nothing is offered where there is no population or the indicator is not a count."""

from __future__ import annotations

import json

import duckdb

from test_app import run_app


def _charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_counts_can_be_shown_per_1000_residents(monkeypatch, demo_db) -> None:
    at = run_app(monkeypatch, demo_db, "indicator", sel_indicator="asb_incidents", sel_area="stoke-on-trent",
                 opt_per_1000=True)
    chart = _charts(at)[0]
    assert chart["layout"]["yaxis"]["title"]["text"] == "per 1,000 residents"
    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        pop = con.sql("SELECT year, population FROM area_population WHERE area_code = 'stoke-on-trent'").pl()
        counts = con.sql("SELECT period, value FROM result_point WHERE indicator_id = 'asb_incidents' "
                         "AND area_code = 'stoke-on-trent' ORDER BY period").pl()
    finally:
        con.close()
    assert 200_000 < pop["population"].min() < 400_000
    line = next(t for t in chart["data"] if t.get("mode") == "lines")  # the figures' line, drawn first
    ys = [y for y in line["y"] if y is not None]
    # the plotted figures are the counts over the population, times 1,000 (about 1.5 to 5 a month)
    lo, hi = counts["value"].min() / pop["population"].max() * 1000, counts["value"].max() / pop["population"].min() * 1000
    assert ys and min(ys) >= lo * 0.999 and max(ys) <= hi * 1.001
    said = " ".join(c.value for c in at.caption)
    assert "Per 1,000 residents: each period's count divided by the area's population" in said
    assert "marks the same points as unusual" in said
    at.toggle(key="opt_table").set_value(True).run()   # the data table is drawn when asked for
    assert "Per 1,000 residents" in at.dataframe[0].value.columns


def test_no_per_1000_option_for_a_percentage(monkeypatch, demo_db) -> None:
    at = run_app(monkeypatch, demo_db, "indicator", sel_indicator="calls_999_answered_10s")
    assert not [t for t in at.toggle if t.label == "Per 1,000 residents"]
    at = run_app(monkeypatch, demo_db, "indicator", sel_indicator="asb_incidents", sel_area="stoke-on-trent")
    assert [t for t in at.toggle if t.label == "Per 1,000 residents"]
    assert _charts(at)[0]["layout"]["yaxis"]["title"]["text"] != "per 1,000 residents"


def test_the_force_has_a_population_too(monkeypatch, demo_db) -> None:
    at = run_app(monkeypatch, demo_db, "indicator", sel_indicator="asb_incidents", sel_area="staffordshire",
                 opt_per_1000=True)
    assert _charts(at)[0]["layout"]["yaxis"]["title"]["text"] == "per 1,000 residents"

