"""The Compare areas page on the demo database: counts are compared per 1,000 residents (the
main view, with the nine areas and their populations), or with a year earlier by the
conditional binomial funnel as its own view; colours follow the funnel, plain English only,
and a one-month window of small counts says that chance dominates."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from test_app import run_app

FIXTURE = Path(__file__).resolve().parent / "data" / "geography"

AREAS = {"Cannock Chase", "East Staffordshire", "Lichfield", "Newcastle-under-Lyme", "South Staffordshire",
         "Stafford", "Staffordshire Moorlands", "Tamworth", "Stoke-on-Trent"}


def _funnel(at) -> dict:
    return json.loads(next(c.proto.spec for c in at.get("plotly_chart")))


def _ranked(at) -> pl.DataFrame:
    """The ranked table as the reader sees it (an HTML table: header and cell texts)."""
    table = next(re.search(r'<table class="spc-frame">.*?</table>', h.proto.body, re.S)[0]
                 for h in at.html if 'class="spc-frame"' in h.proto.body)
    header = [html.unescape(x) for x in re.findall(r"<th(?: [^>]*)?>(.*?)</th>", table)]
    rows = [[html.unescape(x) for x in re.findall(r"<td(?: [^>]*)?>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(<td.*?)</tr>", table)]
    return pl.DataFrame(rows, schema=header, orient="row")


def _said(at) -> str:
    return " ".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info])


def _bands_follow_levels(areas: dict) -> None:
    # beyond 95% a hollow warning marker; filled concern colour only beyond 99.8%
    for symbol, colour, band in zip(areas["marker"]["symbol"], areas["marker"]["color"], areas["customdata"]):
        if "99.8%" in band:
            assert (symbol, colour) == ("circle", "#FAB428")
        elif "95%" in band:
            assert symbol == "circle-open" and colour != "#FAB428"
        else:
            assert colour != "#FAB428"


def test_counts_are_compared_per_1000_residents_by_default(monkeypatch, demo_db) -> None:
    at = run_app(monkeypatch, demo_db, "compare", sel_indicator="asb_incidents", compare_window=12)
    fig = _funnel(at)
    assert fig["layout"]["xaxis"]["title"]["text"] == "resident population"
    assert fig["layout"]["yaxis"]["title"]["text"] == "per 1,000 residents"
    areas = next(t for t in fig["data"] if t.get("name") == "areas")
    assert set(areas["text"]) == AREAS
    assert min(areas["x"]) > 50_000 and max(areas["x"]) > 200_000  # Stoke-on-Trent's ~260,000 residents
    _bands_follow_levels(areas)
    table = _ranked(at)
    assert {"Residents", "Per 1,000 residents", "Count"} <= set(table.columns) and len(table) == 9
    assert set(table["Area"]) == AREAS
    # the reader's figures: residents with thousands separators, rates to two places
    assert all(re.fullmatch(r"\d{1,3}(,\d{3})+", r) for r in table["Residents"])
    assert all(re.fullmatch(r"\d+\.\d\d", r) for r in table["Per 1,000 residents"])
    said = _said(at)
    assert "for every 1,000 people living there" in said
    for jargon in ("UCL", "LCL", "p-value", "p =", "p <"):
        assert jargon not in said


def test_year_on_year_is_its_own_view(monkeypatch, demo_db) -> None:
    at = run_app(monkeypatch, demo_db, "compare", sel_indicator="asb_incidents", compare_window=12,
                 compare_view="change")
    fig = _funnel(at)
    assert fig["layout"]["xaxis"]["title"]["text"].startswith("incidents in both windows")
    _bands_follow_levels(next(t for t in fig["data"] if t.get("name") == "areas"))
    table = _ranked(at)
    assert "Ratio" in table.columns and "A year earlier" in table.columns and len(table) == 9


def test_one_month_of_small_counts_says_chance_dominates(monkeypatch, demo_db) -> None:
    at = run_app(monkeypatch, demo_db, "compare", sel_indicator="crime_robbery", compare_window=1)
    said = " ".join(i.value for i in at.info) + " ".join(c.value for c in at.caption)
    assert "chance dominates" in said


@pytest.fixture(scope="module")
def four_forces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of four forces (the test geography) with two years of monthly ASB counts for every
    force and local area at one true rate (Poisson, seeded), results computed by `spc db init`."""
    from spc.cli import main
    from spc.store import connect, transaction
    from spc.store.observations import start_batch, write_observations

    db = tmp_path_factory.mktemp("four") / "national.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPC_GEOGRAPHY", str(FIXTURE))
        assert main(["db", "init", "--force", "staffordshire,nottinghamshire,wiltshire,city-of-london",
                     "--db", str(db)]) == 0
        con = connect(db)
        pops = con.sql("SELECT area_code, population FROM area_population WHERE year = 2022").pl()
        rng = np.random.default_rng(5)
        rows = [pops.select(pl.lit("asb_incidents").alias("indicator_id"), "area_code",
                            pl.lit(dt.date(2023 + i // 12, i % 12 + 1, 1)).alias("period_start"),
                            pl.lit("month").alias("period_grain"),
                            pl.Series("value", rng.poisson(pops["population"].to_numpy() * 8e-4), pl.Float64),
                            pl.lit(None, pl.Float64).alias("numerator"), pl.lit(None, pl.Float64).alias("denominator"))
                for i in range(24)]
        with transaction(con):
            write_observations(con, pl.concat(rows), start_batch(con, "test", "four.csv"))
        con.close()
        assert main(["db", "init", "--db", str(db)]) == 0  # keeps the forces; computes the results
    return db


def test_many_forces_offer_forces_and_the_most_similar_group(monkeypatch, four_forces) -> None:
    monkeypatch.setenv("SPC_GEOGRAPHY", str(FIXTURE))
    at = run_app(monkeypatch, four_forces, "compare", sel_indicator="asb_incidents", compare_window=12,
                 force="staffordshire")
    scope = next(r for r in at.radio if r.key == "compare_scope")
    assert scope.options == ["Local areas of Staffordshire Police", "Forces",
                             "Staffordshire Police and its most similar forces"]
    assert set(next(t for t in _funnel(at)["data"] if t.get("name") == "areas")["text"]) == AREAS
    at = run_app(monkeypatch, four_forces, "compare", sel_indicator="asb_incidents", compare_window=12,
                 force="staffordshire", compare_scope="force")
    names = set(next(t for t in _funnel(at)["data"] if t.get("name") == "areas")["text"])
    assert names == {"Staffordshire Police", "Nottinghamshire Police", "Wiltshire Police", "City of London Police"}
    at = run_app(monkeypatch, four_forces, "compare", sel_indicator="asb_incidents", compare_window=12,
                 force="staffordshire", compare_scope="msg")
    names = set(next(t for t in _funnel(at)["data"] if t.get("name") == "areas")["text"])
    assert names == {"Staffordshire Police", "Nottinghamshire Police", "Wiltshire Police"}
    assert "most similar group of forces" in _said(at)
    assert len(_ranked(at)) == 3
