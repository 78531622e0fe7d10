"""Limits per calendar month (``seasonal_limits``, spychart's seasonal option), labelled.

Each month of a phase gets its own centre and limits from the same month of the other years
(moving ranges between consecutive years of that month); a month needs 3 years.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from spc.engine import SeriesSpec, analyse
from spc.errors import SpcError

SEED = 20261205


def months(n: int, first_year: int = 2019) -> list[dt.date]:
    return [dt.date(first_year + i // 12, i % 12 + 1, 1) for i in range(n)]


def test_each_month_has_the_xmr_limits_of_its_own_years() -> None:
    rng = np.random.default_rng(1)
    n = 48
    values = 100 + 10 * np.sin(2 * np.pi * np.arange(n) / 12) + rng.normal(0, 2, n)
    data = pl.DataFrame({"period": months(n), "value": values})
    result = analyse(data, SeriesSpec(seasonal_limits=True))
    points = result.points
    for month in (1, 7):
        same = values[month - 1::12]
        mr = np.abs(np.diff(same))
        mr_bar = mr[mr < 3.267 * mr.mean()].mean()  # screened as the XmR chart
        row = points.filter(pl.col("period").dt.month() == month).row(0, named=True)
        assert row["centre"] == pytest.approx(same.mean())
        assert row["upper"] == pytest.approx(same.mean() + 2.66 * mr_bar)
    assert "limits per calendar month" in result.summary["warnings"][0][0]
    assert result.summary["chart_label"][0] == "XmR chart, limits per calendar month"


def test_months_with_fewer_than_three_years_have_no_limits() -> None:
    values = np.arange(30, dtype=float) % 12 + np.random.default_rng(2).normal(0, 1, 30)
    data = pl.DataFrame({"period": months(30), "value": values})
    result = analyse(data, SeriesSpec(seasonal_limits=True))
    pts = result.points
    # Jan to Jun have 3 years (2019, 2020, 2021), Jul to Dec only 2
    assert pts.filter(pl.col("period").dt.month() <= 6)["upper"].is_not_null().all()
    assert pts.filter(pl.col("period").dt.month() > 6)["upper"].is_null().all()
    assert "12 points have none: their month has fewer than 3 years" in result.summary["warnings"][0][0]


def test_phases_keep_their_own_seasonal_limits() -> None:
    data = pl.DataFrame({"period": months(72), "value": np.r_[np.full(36, 10.0), np.full(36, 20.0)]
                         + np.tile(np.arange(12.0), 6) % 3})
    points = analyse(data, SeriesSpec(seasonal_limits=True, rebase=(dt.date(2022, 1, 1),))).points
    assert points.filter(pl.col("phase") == 1)["centre"].max() < 13
    assert points.filter(pl.col("phase") == 2)["centre"].min() >= 20


def test_refused_for_charts_of_events_or_memory() -> None:
    for chart in ("g", "t", "run", "ewma", "cusum"):
        with pytest.raises(SpcError, match="seasonal_limits"):
            SeriesSpec(chart=chart, seasonal_limits=True)


def rates(frame: pl.DataFrame, spec: SeriesSpec) -> dict[str, float]:
    points = analyse(frame, spec).points
    per = points.group_by("series").agg(
        anywhere=(pl.col("point_type") != "common_cause").any(),
        beyond=pl.col("outside_limits").any(),
        latest=(pl.col("point_type") != "common_cause").last())
    return {k: float(per[k].mean()) for k in ("anywhere", "beyond", "latest")}


def test_false_alarms_on_seasonal_in_control_series() -> None:
    """2,000 in-control monthly series of 60 points (5 years), seed 20261205: 100 + 10 sin(2πm/12)
    + N(0, 3²), no change anywhere. Measured, MDC rules:

    | limits | any special cause | a point beyond a limit | latest point special cause |
    |---|---|---|---|
    | one set per phase (default) | 100% | 99.8% | 17.7% |
    | per calendar month | 41.1% | 7.0% | 2.4% |

    Nominal: an XmR chart of 60 iid points gives about 45% anywhere and 1.8% for the latest point
    (issue 13's table; 46.4% and 1.3% here on iid series of the same noise); per-month limits
    bring a seasonal series back to about that, and on iid series they give 43.6% and 1.9%.
    """
    rng = np.random.default_rng(SEED)
    n_series, n = 2000, 60
    season = 10 * np.sin(2 * np.pi * np.arange(n) / 12)
    values = 100 + season + rng.normal(0, 3, (n_series, n))
    frame = pl.DataFrame({"series": np.repeat([f"s{i:04d}" for i in range(n_series)], n),
                          "period": months(n) * n_series, "value": values.ravel()})
    plain = rates(frame, SeriesSpec())
    seasonal = rates(frame, SeriesSpec(seasonal_limits=True))
    assert plain == pytest.approx({"anywhere": 1.0, "beyond": 0.998, "latest": 0.1765}, abs=0.003)
    assert seasonal == pytest.approx({"anywhere": 0.411, "beyond": 0.0695, "latest": 0.0235}, abs=0.003)
    iid = frame.with_columns(value=pl.Series(100 + rng.normal(0, 3, n_series * n)))
    assert rates(iid, SeriesSpec()) == pytest.approx(
        {"anywhere": 0.464, "beyond": 0.1935, "latest": 0.0125}, abs=0.003)
    assert rates(iid, SeriesSpec(seasonal_limits=True)) == pytest.approx(
        {"anywhere": 0.4355, "beyond": 0.0705, "latest": 0.019}, abs=0.003)


def test_spc_chart_seasonal_limits(tmp_path) -> None:
    from typer.testing import CliRunner

    from spc.cli import app

    rng = np.random.default_rng(3)
    path = tmp_path / "s.csv"
    pl.DataFrame({"period": months(36), "value": 50 + rng.normal(0, 1, 36)}).write_csv(path)
    out = CliRunner().invoke(app, ["chart", str(path), "--seasonal-limits", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert "limits per calendar month" in out.output


def test_quarterly_data_has_limits_per_calendar_quarter() -> None:
    rng = np.random.default_rng(4)
    periods = [dt.date(2018 + i // 4, 3 * (i % 4) + 1, 1) for i in range(20)]
    values = 50 + np.tile([5.0, -5.0, 2.0, -2.0], 5) + rng.normal(0, 1, 20)
    spec = SeriesSpec(seasonal_limits=True, frequency="quarter")
    result = analyse(pl.DataFrame({"period": periods, "value": values}), spec)
    assert result.summary["chart_label"][0] == "XmR chart, limits per calendar quarter"
    assert result.summary["warnings"][0][0].startswith("limits per calendar quarter")
    centres = result.points["centre"].to_numpy()[:4]
    assert centres == pytest.approx([values[q::4].mean() for q in range(4)])
