"""spc.trend on real series (West Midlands monthly crime 2011-2016, MoJ reoffending cohorts) and on
synthetic series whose truth is known."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from spc import trend
from spc.errors import SpcError

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
WM_PATH = REALDATA / "aggregates" / "west_midlands_monthly_crime_count_2011-01_2016-12.csv"
MOJ_PATH = REALDATA / "moj" / "proven_reoffending_england_wales_long_2000_2014.csv"

needs_realdata = pytest.mark.skipif(not WM_PATH.exists(), reason="../shared/realdata not present")


def months(n: int, start: dt.date = dt.date(2018, 1, 1)) -> list[dt.date]:
    return [dt.date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1) for i in range(n)]


def seasonal_series(seed: int, *, n: int = 60, step: float = 0.0, at: int = 30, amp: float = 30.0,
                    sd: float = 5.0, name: str | None = None) -> pl.DataFrame:
    """Level 200, a yearly sine of amplitude `amp`, white noise, and optionally a step at `at`."""
    rng = np.random.default_rng(seed)
    m = np.arange(n)
    y = 200 + amp * np.sin(2 * np.pi * m / 12) + rng.normal(0, sd, n) + np.where(m >= at, step, 0.0)
    return pl.DataFrame({"series": name or f"s{seed:02d}", "period": months(n), "value": y})


def west_midlands() -> pl.DataFrame:
    return pl.read_csv(WM_PATH).select(
        pl.lit("West Midlands").alias("series"),
        (pl.col("Month") + "-01").str.to_date().alias("period"),
        pl.col("Count").cast(pl.Float64).alias("value"),
    )


def moj_adult() -> pl.DataFrame:
    raw = pl.read_csv(MOJ_PATH)
    return (
        raw.filter(pl.col("measure") == "new", pl.col("temporal_unit") == "3-monthly",
                   pl.col("group") == "Adult", pl.col("rate").is_in(["cohort", "reoffenders"]))
        .pivot(on="rate", index="date", values="value")
        .drop_nulls()
        .select(pl.lit("reoffending").alias("series"), pl.col("date").str.to_date().alias("period"),
                pl.col("reoffenders").alias("numerator"), pl.col("cohort").alias("denominator"))
    )


# ------------------------------------------------------------------ West Midlands (real data)


@needs_realdata
def test_west_midlands_is_seasonal_with_a_summer_peak() -> None:
    # Recorded crime (with ASB) peaks in summer and dips in February (also the shortest month):
    # the seasonal pattern is visible by eye in every year of the file.
    s = trend.seasonality(west_midlands()).row(0, named=True)
    assert s["seasonal"] is True
    assert s["p_value"] < 0.001
    assert s["seasonal_strength"] > 0.6
    assert s["peak_month"] == "July"
    assert s["trough_month"] == "February"


@needs_realdata
def test_west_midlands_trend_allows_for_autocorrelation() -> None:
    wm = west_midlands()
    # The series is seasonal, so each calendar month is compared with itself in other years
    # (seasonal Kendall). The whole series falls by that test (p 0.006; plain Mann-Kendall gave
    # 0.004, and OLS with HAC errors called it falling too); but consecutive months are related
    # (lag-1 0.57 after trend and season), and once that is allowed for the fall is within
    # chance (p 0.14; the plain test with the allowance 0.18; Hamed-Rao's modified Mann-Kendall 0.13).
    whole = trend.long_term_trend(wm, window=None).row(0, named=True)
    assert whole["trend_test"] == trend.SEASONAL_TREND_TEST
    assert whole["mk_p"] < 0.01 and whole["mk_p_adjusted"] > 0.1
    assert whole["direction"] == "no clear trend"
    # The last 36 months (2014-2016): 2014 and 2015 are level (244,959 and 242,553 crimes) and
    # 2016 is 7% up (259,860). Month against month the rise is clear (p 0.002); net of each
    # calendar month's effect one step up at January 2016 fits better than a line, and the step
    # model's residuals are less related (lag-1 0.26), so allowing for them the step is beyond
    # chance (p 0.014). The plain Mann-Kendall test, the season counting as noise, gave p 0.17
    # and "no clear trend".
    last36 = trend.long_term_trend(wm).row(0, named=True)
    assert last36["start"] == dt.date(2014, 1, 1) and last36["n"] == 36
    assert last36["trend_test"] == trend.SEASONAL_TREND_TEST
    assert last36["direction"] == "step" and last36["step_start"] == dt.date(2016, 1, 1)
    assert 1000 < last36["step_change"] < 2000    # crimes a month: 2016's mean less 2014-2015's
    assert last36["mk_p"] < 0.01 and last36["mk_p_adjusted"] < 0.05
    # 2012-2016 alone, once the 2011 level is left out, has no clear trend either way.
    later = trend.long_term_trend(wm.filter(pl.col("period") >= dt.date(2012, 1, 1)), window=None).row(0, named=True)
    assert later["direction"] == "no clear trend"
    assert later["sen_lower"] < 0 < later["sen_upper"]


@needs_realdata
def test_moj_reoffending_has_no_clear_trend_once_autocorrelation_is_allowed_for() -> None:
    # HAC regression called the adult reoffending rate "falling"; Hamed-Rao's modified
    # Mann-Kendall gives p 0.35 and this test 0.51 (lag-1 autocorrelation 0.71).
    got = trend.long_term_trend(moj_adult(), window=None).row(0, named=True)
    assert got["mk_p"] < 0.05 and got["mk_p_adjusted"] > 0.3
    assert got["direction"] == "no clear trend"


@needs_realdata
def test_west_midlands_rolling_twelve_months() -> None:
    wm = west_midlands()
    roll = trend.rolling(wm)
    assert roll.filter(pl.col("period") < dt.date(2011, 12, 1))["rolling_value"].null_count() == 11
    dec16 = roll.filter(pl.col("period") == dt.date(2016, 12, 1)).row(0, named=True)
    year = lambda y: wm.filter(pl.col("period").dt.year() == y)["value"].sum()  # noqa: E731
    assert dec16["rolling_value"] == year(2016)
    assert dec16["previous_year"] == year(2015)
    assert dec16["pct_change"] == pytest.approx(100 * (year(2016) / year(2015) - 1))


@needs_realdata
def test_west_midlands_step_in_2011_is_suggested_not_applied() -> None:
    # Monthly counts drop from about 28,600 (Jan-Aug 2011) to about 21,000 from September 2011:
    # a change in what was counted or recorded, not seasonality (it is not undone the next summer).
    # Unadjusted, the summer swing inside the short first segments makes neighbouring months
    # alike, and a step must then beat a line as well as that memory: nothing is suggested.
    # Seasonally adjusted, a fall is suggested, dated April 2012 (the segmentation's second
    # break: the September 2011 one does not survive the stricter test on its 20-month segment).
    wm = west_midlands()
    assert trend.change_points(wm).height == 0
    cps = trend.change_points(wm, adjust_seasonality=True)
    first = cps.sort("suggested_start").row(0, named=True)
    assert dt.date(2011, 9, 1) <= first["suggested_start"] <= dt.date(2012, 6, 1)
    assert first["shift"] < 0 and first["after_mean"] / first["before_mean"] < 0.9
    assert "Suggested date" in first["evidence"]
    # a suggestion only: the input is untouched
    assert wm.equals(west_midlands())


@needs_realdata
def test_west_midlands_latest_month_within_its_expected_range() -> None:
    e = trend.expected_range(west_midlands()).row(0, named=True)
    assert e["period"] == dt.date(2016, 12, 1)
    assert e["method"] == "ETS(A,Ad,A)"
    assert e["lower"] < e["expected"] < e["upper"]
    # December 2016 (21,302) is an ordinary December given the 2016 level
    assert e["within"] is True


@needs_realdata
def test_west_midlands_autocorrelation_warning() -> None:
    checks = trend.data_checks(west_midlands())
    assert checks["check"].to_list() == ["autocorrelation"]
    assert "Ljung-Box" in checks["message"][0]


@needs_realdata
def test_moj_cohorts_checks_gap_and_autocorrelation() -> None:
    # The file has no 2001 cohorts (four quarters missing) and the rates move slowly.
    checks = trend.data_checks(moj_adult())
    assert set(checks["check"]) == {"gaps", "autocorrelation"}
    gap = checks.filter(pl.col("check") == "gaps")["message"][0]
    assert gap.startswith("4 period(s) are missing") and "2002-01-01" in gap


# ------------------------------------------------------------------ synthetic truth


def test_seasonal_series_without_change_gets_no_false_signal_once_adjusted() -> None:
    from spc.engine import SeriesSpec, analyse

    data = pl.concat([seasonal_series(s) for s in range(40)])
    noise = pl.concat([seasonal_series(s, amp=0) for s in range(40)])

    def signalled(frame: pl.DataFrame) -> pl.DataFrame:
        pts = analyse(frame.select("series", "period", "value"), SeriesSpec(chart="xmr")).points
        return pts.group_by("series").agg(
            (pl.col("point_type") != "common_cause").any().alias("signal"),
            (pl.col("point_type") != "common_cause").sum().alias("flagged"),
        ).sort("series")

    # unadjusted, the season alone puts every chart out of control, most points flagged
    raw = signalled(data)
    assert raw["signal"].all() and raw["flagged"].sum() > 0.5 * data.height
    adjusted = trend.seasonally_adjust(data)
    assert (adjusted["adjustment"] == trend.ADJUSTED_LABEL).all()
    # Adjusted, the charts signal no more often than charts of the same noise with no season at
    # all (the MDC rules' own false-alarm rate over 60 points, which is not small): the season
    # is gone and the adjustment adds no signals of its own.
    noise_only, adj = signalled(noise), signalled(adjusted)
    assert adj["signal"].sum() <= noise_only["signal"].sum() + 3
    assert adj["flagged"].sum() <= 1.3 * noise_only["flagged"].sum()
    # No change-point suggestions for these unchanged series, adjusted (2 in 40 allowed).
    assert trend.change_points(data, adjust_seasonality=True)["series"].n_unique() <= 2
    # One concrete case: seed 4 gives a clean adjusted chart and no suggestion.
    assert not signalled(trend.seasonally_adjust(seasonal_series(4)))["signal"][0]
    assert trend.change_points(seasonal_series(4), adjust_seasonality=True).height == 0


def test_real_step_is_found_and_dated_within_two_months() -> None:
    # 3-sigma step at month 30 (July 2020) in a seasonal series
    data = pl.concat([seasonal_series(s, step=15) for s in range(20)])
    cps = trend.change_points(data, adjust_seasonality=True)
    step = dt.date(2020, 7, 1)
    near = cps.filter((pl.col("suggested_start") >= dt.date(2020, 5, 1)) & (pl.col("suggested_start") <= dt.date(2020, 9, 1)))
    assert near["series"].n_unique() >= 18
    one = trend.change_points(seasonal_series(1, step=15), adjust_seasonality=True).row(0, named=True)
    assert abs((one["suggested_start"] - step).days) <= 62
    assert one["shift"] == pytest.approx(15, abs=5)
    # a non-seasonal step needs no adjustment
    flat = seasonal_series(7, amp=0, step=-12, at=20)
    got = trend.change_points(flat)
    assert got.height == 1 and abs((got["suggested_start"][0] - dt.date(2019, 9, 1)).days) <= 62


def test_theil_sen_and_mann_kendall_match_scipy_for_many_series() -> None:
    rng = np.random.default_rng(11)
    frames = []
    for i in range(6):
        y = np.round(rng.normal(50, 5, 30) + i * np.arange(30) * 0.3)  # rounding makes ties
        frames.append(pl.DataFrame({"series": f"x{i}", "period": months(30), "value": y}))
    data = pl.concat(frames)
    got = trend.long_term_trend(data, window=None)
    for row in got.iter_rows(named=True):
        y = data.filter(pl.col("series") == row["series"])["value"].to_numpy()
        t = np.arange(30) / 12.0
        ts = stats.theilslopes(y, t)
        assert row["slope_per_year"] == pytest.approx(ts.slope)
        tau = stats.kendalltau(t, y)  # tau-b: equals tau-a here only without ties in t
        assert row["mk_p"] == pytest.approx(tau.pvalue, rel=0.05, abs=1e-3)
        assert row["sen_lower"] <= row["slope_per_year"] <= row["sen_upper"]


def test_ljung_box_matches_statsmodels() -> None:
    from statsmodels.stats.diagnostic import acorr_ljungbox

    rng = np.random.default_rng(5)
    ar = np.zeros(48)
    for i in range(1, 48):
        ar[i] = 0.7 * ar[i - 1] + rng.normal()
    data = pl.DataFrame({"series": ["ar"] * 48 + ["wn"] * 48, "period": months(48) * 2,
                         "value": np.concatenate([ar, rng.normal(size=48)])})
    got = trend.ljung_box(data, lags=6).sort("series")
    for row, y in zip(got.iter_rows(named=True), (ar, data.filter(pl.col("series") == "wn")["value"].to_numpy())):
        ref = acorr_ljungbox(y, lags=[6])
        assert row["q"] == pytest.approx(float(ref["lb_stat"].iloc[0]))
        assert row["p_value"] == pytest.approx(float(ref["lb_pvalue"].iloc[0]))
    assert got.filter(pl.col("series") == "ar")["p_value"][0] < 0.001


def test_data_checks_gaps_denominators_short_phases() -> None:
    per = months(14)
    data = pl.DataFrame({
        "series": ["a"] * 12 + ["b"] * 14,
        "period": [p for i, p in enumerate(per) if i not in (4, 5)] + per,
        "numerator": [5.0] * 12 + [5.0] * 13 + [6.0],
        "denominator": [50.0] * 12 + [50.0] * 13 + [None],
    })
    phases = pl.DataFrame({"series": ["b"], "phase": [2], "start": [per[6]], "n_used": [8]})
    checks = trend.data_checks(data, phases)
    by = {(r["series"], r["check"]): r["message"] for r in checks.iter_rows(named=True)}
    assert by[("a", "gaps")].startswith("2 period(s) are missing")
    assert "numerator but no usable denominator" in by[("b", "missing denominator")]
    assert by[("b", "short phase")].startswith("Phase 2 (from 2018-07-01) has only 8 points")


def test_bad_input_is_a_one_line_user_error() -> None:
    with pytest.raises(SpcError, match="row 4, column 'period'"):
        trend.as_series_frame(pl.DataFrame({"period": ["2020-01-01", "2020-02-01", "Feb 2020"], "value": [1, 2, 3]}))
    with pytest.raises(SpcError, match="more than one row"):
        trend.as_series_frame(pl.DataFrame({"period": ["2020-01-01", "2020-01-01"], "value": [1, 2]}))
    with pytest.raises(SpcError, match="needs at least 24 consecutive months"):
        trend.seasonally_adjust(seasonal_series(1, n=18))


@needs_realdata
def test_west_midlands_adjusted_chart_is_labelled_and_loses_the_seasonal_signals() -> None:
    from spc.engine import SeriesSpec, analyse

    # 2012-2016, after the 2011 step. Unadjusted, the points beyond the limits are seasonal
    # extremes (February lows, a July high). Adjusted, the seasonal extremes are gone.
    wm = west_midlands().filter(pl.col("period") >= dt.date(2012, 1, 1))
    raw = analyse(wm, SeriesSpec(chart="xmr"))
    adj = trend.analyse_adjusted(wm, SeriesSpec(chart="xmr"))
    beyond = lambda pts: pts.filter(pl.col("rule").is_in(["Above UCL", "Below LCL"]))  # noqa: E731
    raw_b, adj_b = beyond(raw.points), beyond(adj.points)
    assert set(raw_b.filter(pl.col("rule") == "Below LCL")["period"].dt.month()) == {2}
    assert 7 in set(raw_b.filter(pl.col("rule") == "Above UCL")["period"].dt.month())
    assert (adj_b["rule"] != "Below LCL").all()  # the February troughs are gone
    # what is left: early 2012, the tail of the post-2011 fall (change_points suggests April
    # 2012 on adjusted values), and late 2016, the real rise
    assert adj_b.height > 0
    assert ((adj_b["period"] < dt.date(2012, 4, 1)) | (adj_b["period"].dt.year() == 2016)).all()
    # labelled everywhere, originals kept beside the adjusted values
    assert (adj.points["adjustment"] == trend.ADJUSTED_LABEL).all()
    assert adj.summary["adjustment"][0] == trend.ADJUSTED_LABEL
    assert adj.points["value_original"].to_list() == wm["value"].to_list()
    # the season no longer inflates the moving ranges: limits are narrower
    width = lambda s: s["upper"][0] - s["lower"][0]  # noqa: E731
    assert width(adj.summary) < 0.6 * width(raw.summary)
