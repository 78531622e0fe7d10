"""From stored observations to stored results: catalogue choices, analyst settings and annotations."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from spc.results import compute_results
from spc.store import connect, migrate, transaction
from spc.store.catalogue import load_catalogue, read_catalogue
from spc.store.observations import now, start_batch, write_observations
from spc.store.queries import frame

MONTHS = [dt.date(2022 + i // 12, i % 12 + 1, 1) for i in range(24)]


@pytest.fixture
def store(tmp_path):
    con = connect(tmp_path / "r.duckdb", create=True)
    migrate(con)
    rng = np.random.default_rng(7)
    with transaction(con):
        load_catalogue(con, read_catalogue())
        batch = start_batch(con, "test", "rows.csv")
        calls = rng.integers(20_000, 30_000, 24).astype(float)
        answered = np.round(calls * rng.normal(0.87, 0.01, 24))
        write_observations(con, pl.DataFrame({
            "indicator_id": ["asb_incidents"] * 24 + ["calls_999_answered_10s"] * 24 + ["victims_satisfied"] * 8,
            "area_code": "staffordshire",
            "period_start": MONTHS + MONTHS + MONTHS[::3],
            "period_grain": ["month"] * 48 + ["quarter"] * 8,
            "value": [*rng.normal(1000, 40, 24), *(answered / calls), *rng.normal(0.77, 0.02, 8)],
            "numerator": [None] * 24 + list(answered) + [None] * 8,
            "denominator": [None] * 24 + list(calls) + [None] * 8,
        }), batch)
    yield con
    con.close()


def _summary(con, indicator: str) -> dict:
    return frame(con, "SELECT * FROM result_summary WHERE indicator_id = ?", [indicator]).row(0, named=True)


def _phases(con, indicator: str) -> list[tuple]:
    return con.execute("SELECT phase, start FROM result_phase WHERE indicator_id = ? ORDER BY phase",
                       [indicator]).fetchall()


def test_catalogue_chart_and_direction_are_used(store):
    assert compute_results(store) == 3
    calls = _summary(store, "calls_999_answered_10s")
    assert (calls["chart"], calls["improvement"], calls["target"]) == ("pp", "increase", 0.9)
    assert calls["status"]  # the one-line plain-English status is stored with the result
    assert _summary(store, "victims_satisfied")["chart"] == "xmr"  # the catalogue's choice for a survey


def test_a_p_chart_without_denominators_falls_back_to_xmr_and_says_so(store):
    # an analyst asks for a p' chart of a survey proportion, which has no denominators
    store.execute("INSERT INTO series_setting (indicator_id, area_code, chart, author, updated_at) "
                  "VALUES ('victims_satisfied', 'staffordshire', 'pp', 'analyst', ?)", [now()])
    compute_results(store, ["victims_satisfied"])
    survey = _summary(store, "victims_satisfied")
    assert survey["chart"] == "xmr"
    assert any("no denominator for every point, so an XmR chart is used instead of pp" in w
               for w in survey["warnings"])


def test_analyst_setting_overrides_the_catalogue(store):
    store.execute("INSERT INTO series_setting (indicator_id, area_code, chart, improvement, author, updated_at) "
                  "VALUES ('asb_incidents', '*', 'run', 'neutral', 'analyst', ?)", [now()])
    compute_results(store, ["asb_incidents"])
    asb = _summary(store, "asb_incidents")
    assert (asb["chart"], asb["improvement"], asb["upper"]) == ("run", "neutral", None)


def test_recalculation_and_exclusion_annotations_shape_the_chart(store):
    compute_results(store)
    assert _phases(store, "asb_incidents") == [(1, MONTHS[0])]
    for kind, day in (("recalculate", MONTHS[12]), ("exclude", MONTHS[3])):
        store.execute("INSERT INTO annotation (indicator_id, area_code, date, kind, text, author, created_at) "
                      "VALUES ('asb_incidents', NULL, ?, ?, 'why', 'analyst', ?)", [day, kind, now()])
    compute_results(store, ["asb_incidents"])
    assert _phases(store, "asb_incidents") == [(1, MONTHS[0]), (2, MONTHS[12])]
    excluded = store.execute("SELECT period FROM result_point WHERE indicator_id = 'asb_incidents' AND excluded"
                             ).fetchall()
    assert excluded == [(MONTHS[3],)]
    # another indicator is untouched by an annotation aimed at ASB
    assert _phases(store, "calls_999_answered_10s") == [(1, MONTHS[0])]


def test_a_series_that_loses_its_points_loses_its_stale_results(store):
    compute_results(store)
    with transaction(store):
        batch = start_batch(store, "test", "revised.csv")
        write_observations(store, pl.DataFrame({
            "indicator_id": "victims_satisfied", "area_code": "staffordshire", "period_start": MONTHS[::3][1:],
            "period_grain": "quarter", "value": [None] * 7, "numerator": None, "denominator": None,
        }, schema_overrides={"value": pl.Float64, "numerator": pl.Float64, "denominator": pl.Float64}), batch)
    compute_results(store, ["victims_satisfied"])
    assert store.execute("SELECT count(*) FROM result_summary WHERE indicator_id = 'victims_satisfied'"
                         ).fetchone()[0] == 0
    assert store.execute("SELECT count(*) FROM result_point WHERE indicator_id = 'victims_satisfied'"
                         ).fetchone()[0] == 0
