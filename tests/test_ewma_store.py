"""Analyst settings for the issue-13 charts reach the stored results (schema 7): EWMA and
CUSUM as chart types, λ, per 1,000 of the denominator, limits per calendar month, the label."""

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

MONTHS = [dt.date(2021 + i // 12, i % 12 + 1, 1) for i in range(36)]


@pytest.fixture
def store(tmp_path):
    con = connect(tmp_path / "r.duckdb", create=True)
    migrate(con)
    rng = np.random.default_rng(7)
    with transaction(con):
        load_catalogue(con, read_catalogue())
        batch = start_batch(con, "test", "rows.csv")
        calls = rng.integers(20_000, 30_000, 36).astype(float)
        answered = np.round(calls * rng.normal(0.87, 0.01, 36))
        write_observations(con, pl.DataFrame({
            "indicator_id": ["asb_incidents"] * 36 + ["calls_999_answered_10s"] * 36,
            "area_code": "staffordshire",
            "period_start": MONTHS + MONTHS,
            "period_grain": ["month"] * 72,
            "value": [*rng.normal(1000, 40, 36), *(answered / calls)],
            "numerator": [None] * 36 + list(answered),
            "denominator": [None] * 36 + list(calls),
        }), batch)
    yield con
    con.close()


def setting(con, indicator: str, **values) -> None:
    cols = ", ".join(values)
    con.execute(f"INSERT OR REPLACE INTO series_setting (indicator_id, area_code, {cols}, author, updated_at) "
                f"VALUES (?, '*', {', '.join('?' for _ in values)}, 'test', ?)",
                [indicator, *values.values(), now()])


def summary(con, indicator: str) -> dict:
    return frame(con, "SELECT * FROM result_summary WHERE indicator_id = ?", [indicator]).row(0, named=True)


def test_settings_reach_the_stored_results(store):
    setting(store, "asb_incidents", chart="ewma", ewma_lambda=0.3)
    setting(store, "calls_999_answered_10s", chart="p", multiplier=1000.0, seasonal_limits=True)
    compute_results(store)
    asb = summary(store, "asb_incidents")
    assert (asb["chart"], asb["chart_label"]) == ("ewma", "EWMA (λ 0.3)")
    calls = summary(store, "calls_999_answered_10s")
    assert calls["chart_label"] == "p chart per 1,000, limits per calendar month"
    assert 800 < calls["centre"] < 900  # per 1,000 calls
    points = frame(store, "SELECT * FROM result_point WHERE indicator_id = 'asb_incidents' ORDER BY period")
    assert points["upper_2s"].is_null().all()  # EWMA: judged by its limits only


def test_options_a_chart_cannot_take_are_dropped_not_fatal(store):
    # a multiplier on an XmR chart, seasonal limits on a CUSUM: the engine would refuse them
    setting(store, "asb_incidents", chart="cusum", multiplier=1000.0, seasonal_limits=True)
    compute_results(store)
    assert summary(store, "asb_incidents")["chart_label"] == "CUSUM (k 0.5σ, h 5σ)"


def test_the_page_and_the_pack_say_the_points_are_a_statistic():
    from spc.plots import statistic_note

    assert "EWMA values, not the periods' own figures" in statistic_note("ewma")
    assert "centre line is zero" in statistic_note("cusum")
    assert statistic_note("xmr") is None
