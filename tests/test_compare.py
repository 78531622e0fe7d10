"""spc.compare: honest two-period comparisons and funnel plots, on the robbery example, its
opposite, and real police.uk force counts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from spc import compare
from spc.errors import SpcError

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
FORCES_PATH = REALDATA / "derived" / "police_uk_force_month_crime_type_counts.csv"
needs_realdata = pytest.mark.skipif(not FORCES_PATH.exists(), reason="../shared/realdata not present")


def months(n: int, start: dt.date) -> list[dt.date]:
    return [dt.date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1) for i in range(n)]


# ------------------------------------------------------------------ the robbery example


def test_robbery_up_114_percent_is_not_beyond_normal_variation() -> None:
    # "Robbery up 114%": 7 one year, 15 the next. Given 22 robberies, 15 or more falling in one
    # year happens by chance about one time in seven (two-sided), so it is not a real change.
    r = compare.compare_counts(7, 15)
    assert r["pct_change"][0] == pytest.approx(114.29, abs=0.01)
    assert r["verdict"][0] == compare.NOT_BEYOND
    assert r["p_value"][0] == pytest.approx(stats.binomtest(15, 22, 0.5).pvalue)
    assert r["lower_pct"][0] < 0 < r["upper_pct"][0]


def test_the_same_rise_in_large_numbers_is_beyond_normal_variation() -> None:
    r = compare.compare_counts(700, 1500)
    assert r["verdict"][0] == compare.HIGHER
    assert r["lower_pct"][0] > 90  # the interval of the % change is nowhere near zero
    # a fall is named as such
    assert compare.compare_counts(1500, 700)["verdict"][0] == compare.LOWER


def test_robbery_example_as_two_years_of_monthly_data() -> None:
    # Monthly robbery counts: 7 in the first year, 15 in the second; a second series with a
    # sustained step from about 58 to 125 a month.
    per = months(24, dt.date(2022, 4, 1))
    small = [1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 1] + [2, 1, 1, 2, 0, 1, 2, 1, 1, 2, 1, 1]
    rng = np.random.default_rng(2)
    big = list(rng.poisson(58, 12)) + list(rng.poisson(125, 12))
    data = pl.DataFrame({"series": ["robbery"] * 24 + ["shift"] * 24, "period": per * 2,
                         "value": [float(v) for v in small + big]})
    res = compare.compare_periods(data, ("2023-04-01", "2024-03-31")).sort("series")
    rob, shift = res.row(0, named=True), res.row(1, named=True)
    assert (rob["before"], rob["after"]) == (7, 15)
    assert rob["previous_start"] == dt.date(2022, 4, 1) and rob["periods_before"] == 12
    assert rob["verdict"] == compare.NOT_BEYOND
    assert "within what chance alone gives" in rob["sentence"]
    assert rob["sentence"].startswith("Up 114% (7 to 15)")
    assert shift["verdict"] == compare.HIGHER
    assert shift["sentence"].startswith("Up ")


def test_overdispersed_counts_need_a_bigger_change() -> None:
    # Same totals, but a series whose months vary far more than Poisson: the verdict changes.
    poisson = compare.compare_counts(1000, 1100)
    over = compare.compare_counts(1000, 1100, dispersion=8.0)
    assert poisson["verdict"][0] == compare.HIGHER
    assert over["verdict"][0] == compare.NOT_BEYOND
    assert over["method"][0].startswith("quasi-Poisson")


def test_laney_adjustment_for_large_denominators() -> None:
    # 86% vs 88% of 5,000 calls: binomially significant; with the series' own variation 3 times
    # binomial (sigma_z = 3), not beyond normal variation.
    plain = compare.compare_proportions(4300, 5000, 4400, 5000)
    laney = compare.compare_proportions(4300, 5000, 4400, 5000, sigma_z=3.0)
    assert plain["verdict"][0] == compare.HIGHER
    assert laney["verdict"][0] == compare.NOT_BEYOND
    assert laney["upper"][0] - laney["lower"][0] == pytest.approx(3 * (plain["upper"][0] - plain["lower"][0]))


def test_proportion_series_uses_its_measured_overdispersion() -> None:
    # Monthly 999 answering: 5,000 calls a month, true rate wandering by +/- 2 points (far more
    # than binomial): last year 86%, this year 86.5% is within normal variation.
    rng = np.random.default_rng(4)
    n = 24
    p = np.r_[np.full(12, 0.86), np.full(12, 0.865)] + rng.normal(0, 0.02, n)
    den = np.full(n, 5000.0)
    data = pl.DataFrame({"series": "calls", "period": months(n, dt.date(2022, 4, 1)),
                         "numerator": np.round(p * den), "denominator": den})
    disp = compare.dispersion(data).row(0, named=True)
    assert disp["kind"] == "proportion" and disp["dispersion"] > 3
    res = compare.compare_periods(data, (dt.date(2023, 4, 1), dt.date(2024, 3, 31)))
    row = res.row(0, named=True)
    assert row["kind"] == "proportion" and row["method"].startswith("score test, Laney")
    assert row["verdict"] == compare.NOT_BEYOND
    assert "percentage points" in row["sentence"]


def test_compare_periods_errors_are_user_errors() -> None:
    data = pl.DataFrame({"period": months(6, dt.date(2024, 1, 1)), "value": [1.0] * 6})
    with pytest.raises(SpcError, match="no data in one of the windows"):
        compare.compare_periods(data, ("2024-04-01", "2024-06-30"))
    with pytest.raises(SpcError, match="current window .April.: expected an ISO date"):
        compare.compare_periods(data, ("April", "2024-06-30"))
    with pytest.raises(SpcError, match="kind must be one of"):
        compare.compare_periods(data, ("2024-04-01", "2024-06-30"), ("2024-01-01", "2024-03-31"), kind="ratio")


# ------------------------------------------------------------------ real data: Staffordshire


def staffordshire(crime_type: str) -> pl.DataFrame:
    return (
        pl.read_csv(FORCES_PATH)
        .filter(pl.col("falls_within") == "Staffordshire Police", pl.col("crime_type") == crime_type)
        .select(pl.lit(crime_type).alias("series"), (pl.col("month") + "-01").str.to_date().alias("period"),
                pl.col("count").cast(pl.Float64).alias("value"))
    )


@needs_realdata
def test_staffordshire_february_2019_vs_2024() -> None:
    data = pl.concat([staffordshire("Robbery"), staffordshire("Anti-social behaviour")])
    res = compare.compare_periods(data, (dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
                                  (dt.date(2019, 2, 1), dt.date(2019, 2, 28)))
    by = {r["series"]: r for r in res.iter_rows(named=True)}
    # Robbery 78 -> 73 (-6%): well within chance.
    assert (by["Robbery"]["before"], by["Robbery"]["after"]) == (78, 73)
    assert by["Robbery"]["verdict"] == compare.NOT_BEYOND
    # ASB 2,616 -> 905 (-65%): the real step change the data README describes.
    assert by["Anti-social behaviour"]["verdict"] == compare.LOWER
    assert by["Anti-social behaviour"]["upper"] < -40


# ------------------------------------------------------------------ funnel plots


def force_asb_share(month: str) -> pl.DataFrame:
    d = pl.read_csv(FORCES_PATH).filter(pl.col("month") == month)
    return d.group_by("falls_within").agg(
        pl.col("count").sum().alias("denominator"),
        pl.col("count").filter(pl.col("crime_type") == "Anti-social behaviour").sum().alias("numerator"),
    )


@needs_realdata
def test_funnel_of_forces_asb_share_is_overdispersed() -> None:
    # Share of police.uk street records that are ASB, by force, January 2024 (40 forces present).
    # Forces differ in how they record ASB (British Transport Police records none), so the
    # forces vary far more than binomial chance: without an adjustment almost every force is
    # "outside the funnel", which says nothing useful.
    units = force_asb_share("2024-01")
    assert units.height == 40
    raw = compare.funnel(units, unit="falls_within", overdispersion="none")
    assert raw.overdispersed and raw.phi > 10
    assert (raw.units["band"] != "within").sum() >= 30
    adj = compare.funnel(units, unit="falls_within")  # auto: additive adjustment when overdispersed
    assert adj.adjustment == "additive" and adj.tau2 > 0
    bands = dict(zip(adj.units["unit"], adj.units["band"]))
    assert sum(b == "within" for b in bands.values()) >= 32
    # Staffordshire (10.8%, overall 12.2%) is an ordinary force once overdispersion is allowed
    assert bands["Staffordshire Police"] == "within"
    assert raw.units.filter(pl.col("unit") == "Staffordshire Police")["band"][0] == "below_99.8"
    # British Transport Police recorded no ASB at all: still flagged, below the 99.8% limit
    assert bands["British Transport Police"] == "below_99.8"
    assert adj.target == pytest.approx(units["numerator"].sum() / units["denominator"].sum())
    assert any("vary more than chance" in n for n in adj.notes)


@needs_realdata
def test_funnel_limits_shape_and_figure() -> None:
    f = compare.funnel(force_asb_share("2019-01"), unit="falls_within", overdispersion="none")
    lim = f.limits
    # 95% limits inside 99.8% limits, all around the target, narrowing as the denominator grows
    assert (lim["lower_998"] <= lim["lower_95"]).all() and (lim["upper_95"] <= lim["upper_998"]).all()
    assert (lim["lower_95"] <= lim["target"]).all() and (lim["target"] <= lim["upper_95"]).all()
    width = (lim["upper_95"] - lim["lower_95"]).to_numpy()
    assert np.all(np.diff(width) <= 1e-12)
    fig = compare.funnel_figure(f, title="ASB share, January 2019")
    names = [t.name for t in fig.data]
    assert "99.8% limits" in names and "95% limits" in names and "units" in names
    assert len(fig.data[-1].x) == f.units.height


def test_funnel_rate_mode_without_overdispersion() -> None:
    # Poisson counts with exposures, no extra variation: most units within 95%, no adjustment.
    rng = np.random.default_rng(9)
    exposure = rng.uniform(1_000, 50_000, 30)
    counts = rng.poisson(0.004 * exposure)
    data = pl.DataFrame({"unit": [f"a{i}" for i in range(30)], "numerator": counts, "denominator": exposure})
    f = compare.funnel(data, kind="rate", per=1000)
    assert not f.overdispersed and f.adjustment == "none"
    assert f.target == pytest.approx(1000 * counts.sum() / exposure.sum())
    assert (f.units["band"] == "within").sum() >= 26


def test_funnel_input_errors() -> None:
    with pytest.raises(SpcError, match="missing column"):
        compare.funnel(pl.DataFrame({"unit": ["a"], "numerator": [1]}))
    with pytest.raises(SpcError, match="at least three units"):
        compare.funnel(pl.DataFrame({"unit": ["a", "b"], "numerator": [1, 2], "denominator": [10, 20]}))
    with pytest.raises(SpcError, match="exceeds its denominator"):
        compare.funnel(pl.DataFrame({"unit": ["a", "b", "c"], "numerator": [1, 30, 2], "denominator": [10, 20, 5]}))


def test_mean_times_compared_with_the_series_own_variation() -> None:
    # Fire attendance minutes, monthly: 9.6 on average last year, 9.3 this year, month-to-month
    # sd about 0.15. A 0.3-minute fall over 12 months each side is beyond chance; 0.05 is not.
    rng = np.random.default_rng(8)
    per = months(24, dt.date(2022, 4, 1))
    real = np.r_[np.full(12, 9.6), np.full(12, 9.3)] + rng.normal(0, 0.15, 24)
    same = np.r_[np.full(12, 9.6), np.full(12, 9.55)] + rng.normal(0, 0.15, 24)
    data = pl.DataFrame({"series": ["real"] * 24 + ["same"] * 24, "period": per * 2, "value": np.r_[real, same]})
    res = {r["series"]: r for r in compare.compare_periods(data, (dt.date(2023, 4, 1), dt.date(2024, 3, 31)), kind="mean").iter_rows(named=True)}
    assert res["real"]["verdict"] == compare.LOWER and res["real"]["upper"] < 0
    assert res["same"]["verdict"] == compare.NOT_BEYOND
    assert res["real"]["dispersion"] == pytest.approx(0.15, rel=0.5)


def test_incomplete_window_compares_per_period_and_says_so() -> None:
    # 12 months at 10 a month, then 8 months at 20: the year so far is double, not +33%
    per = months(20, dt.date(2023, 1, 1))
    data = pl.DataFrame({"period": per, "value": [10.0] * 12 + [20.0] * 8})
    row = compare.compare_periods(data, (dt.date(2024, 1, 1), dt.date(2024, 12, 31))).row(0, named=True)
    assert (row["periods_before"], row["periods_after"]) == (12, 8)
    assert row["pct_change"] == pytest.approx(100.0)
    assert "10.0 a period over 12 to 20.0 a period over 8" in row["sentence"]
    assert "different numbers of periods (12 and 8)" in row["sentence"]


def test_funnel_with_nothing_to_compare_is_a_user_error() -> None:
    with pytest.raises(SpcError, match="nothing to compare"):
        compare.funnel(pl.DataFrame({"unit": ["a", "b", "c"], "numerator": [0, 0, 0], "denominator": [10, 20, 5]}))
