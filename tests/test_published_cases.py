"""Published control-chart examples, each with its source.

Data and published figures:
- Montgomery, *Introduction to Statistical Quality Control* (Example 7.1, orange juice
  cans, p chart; Example 7.3, circuit boards, c chart); the same data ship with the R
  package qcc (``orangejuice``, ``circuit``) and are used in the qicharts2 vignette.
- NIST/SEMATECH e-Handbook of Statistical Methods, section 6.3.2.2 (flow-rate
  individuals chart).
- Mohammed, Panesar, Laney, Wilson, BMJ Qual Saf 2013;22:362-368: weekly NHS A&E
  attendances seen within four hours (qicharts2 dataset ``nhs_accidents``), the p versus
  Laney p′ case; data and qicharts2 0.8.1 limits in tests/data/published/ (sources in the
  files' headers).
- qicharts2 0.8.1 results on its datasets ``cdi`` (u chart with an 18-month baseline),
  ``hospital_infections`` (Laney u′) and ``cabg`` (t chart of days between deaths: baseline,
  two phases, MR screening), as recorded by the AUS-DOH-Safety-and-Quality/PowerBI-SPC test
  fixtures (tests/data/published/).
- The Broken Quality Initiative's "Software Verification Quick Guide" XmR data set (J. Lehner;
  Shewhart's resistance measurements) with its published limits, in place of Wheeler's.
- Montgomery's piston-ring inside diameters (Table 6.3, the Xbar and s chart example; the R
  package qcc's ``pistonrings``, tests/data/published/pistonrings.csv): Xbar and S charts.

Not included, because their exact data could not be found in any searchable source:
loan cost and valve failures, and
Wheeler's software-checking data set (Quality Digest, 7 Jan 2010, "The Right and Wrong Ways
of Computing Limits", an average-chart data set: only the article's opening was readable).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from spc.engine import SeriesSpec, analyse


PUBLISHED = Path(__file__).parent / "data" / "published"


def read_published(name: str) -> pl.DataFrame:
    """A data file under tests/data/published (its '#' header names the source)."""
    return pl.read_csv(PUBLISHED / name, comment_prefix="#")


def months(n: int) -> list[dt.date]:
    return [dt.date(2000 + i // 12, i % 12 + 1, 1) for i in range(n)]


# Montgomery Example 7.1: nonconforming cans in samples of 50; samples 1-30 are the trial
# run, 31-54 follow the machine adjustment. Samples 15 and 23 have assignable causes.
OJ_TRIAL = [12, 15, 8, 10, 4, 7, 16, 9, 14, 10, 5, 6, 17, 12, 22, 8, 10, 5, 13, 11,
            20, 18, 24, 15, 9, 12, 7, 13, 9, 6]
OJ_AFTER = [9, 6, 12, 5, 6, 4, 6, 3, 7, 6, 2, 4, 3, 6, 5, 4, 8, 5, 6, 7, 5, 6, 3, 5]

# Montgomery Example 7.3: nonconformities in 26 samples of 100 printed circuit boards.
CIRCUIT = [21, 24, 16, 12, 15, 5, 28, 20, 31, 25, 20, 24, 16, 19, 10, 17, 13, 22, 18, 39,
           30, 24, 16, 19, 17, 15]

# NIST/SEMATECH e-Handbook 6.3.2.2: flow rate, individuals and moving range chart.
FLOWRATE = [49.6, 47.6, 49.9, 51.3, 47.8, 51.2, 52.6, 52.4, 53.6, 52.1]


def orange_juice(n: int) -> pl.DataFrame:
    counts = (OJ_TRIAL + OJ_AFTER)[:n]
    return pl.DataFrame({"period": months(n), "numerator": counts, "denominator": [50] * n})


def test_orange_juice_trial_limits() -> None:
    """Montgomery 7.1, trial limits from 30 samples: p̄ = 0.2313, UCL 0.4102, LCL 0.0524;
    samples 15 and 23 are above the UCL."""
    points = analyse(orange_juice(30), SeriesSpec(chart="p")).points
    assert points["centre"][0] == pytest.approx(0.2313, abs=5e-5)
    assert points["upper"][0] == pytest.approx(0.4102, abs=1e-4)
    assert points["lower"][0] == pytest.approx(0.0524, abs=1e-4)
    assert points.with_row_index(offset=1).filter("outside_limits")["index"].to_list() == [15, 23]


def test_orange_juice_exclusions_and_new_phase() -> None:
    """Montgomery 7.1 revised: samples 15 and 23 excluded gives p̄ = 0.2150, UCL 0.3893,
    LCL 0.0407, and sample 21 (0.40) is then above the UCL; after the adjustment
    (samples 31-54, a new phase) p̄ = 0.1108, UCL 0.2440 and the LCL is clipped to 0."""
    data = orange_juice(54)
    dates = data["period"].to_list()
    spec = SeriesSpec(chart="p", exclude=(dates[14], dates[22]), rebase=(dates[30],))
    result = analyse(data, spec)
    p = result.points.with_row_index("sample", offset=1)
    first, second = p.filter(pl.col("phase") == 1), p.filter(pl.col("phase") == 2)
    assert first["centre"][0] == pytest.approx(301 / 1400)
    assert first["upper"][0] == pytest.approx(0.3893, abs=1e-4)
    assert first["lower"][0] == pytest.approx(0.0407, abs=1e-4)
    # the excluded samples are still drawn and flagged against their phase's limits
    assert first.filter("outside_limits")["sample"].to_list() == [15, 21, 23]
    assert first.filter("excluded")["sample"].to_list() == [15, 23]
    assert second["centre"][0] == pytest.approx(0.1108, abs=5e-5)
    assert second["upper"][0] == pytest.approx(0.2440, abs=1e-4)
    assert second["lower"][0] == 0.0
    assert result.phases["n_used"].to_list() == [28, 24]


def test_circuit_boards_c_chart() -> None:
    """Montgomery 7.3: c̄ = 19.85, UCL 33.22, LCL 6.48; samples 6 and 20 outside.
    Revised without them: c̄ = 19.67, UCL 32.97, LCL 6.36. (The book works from c̄
    rounded to 19.85, so its limits sit up to 0.01 from the unrounded ones.)"""
    data = pl.DataFrame({"period": months(26), "value": CIRCUIT})
    points = analyse(data, SeriesSpec(chart="c")).points.with_row_index("sample", offset=1)
    assert points["centre"][0] == pytest.approx(19.85, abs=5e-3)
    assert points["upper"][0] == pytest.approx(33.22, abs=1.5e-2)
    assert points["lower"][0] == pytest.approx(6.48, abs=1.5e-2)
    assert points.filter("outside_limits")["sample"].to_list() == [6, 20]
    dates = data["period"].to_list()
    revised = analyse(data, SeriesSpec(chart="c", exclude=(dates[5], dates[19]))).points
    assert revised["centre"][0] == pytest.approx(19.67, abs=5e-3)
    assert revised["upper"][0] == pytest.approx(32.97, abs=1.5e-2)
    assert revised["lower"][0] == pytest.approx(6.36, abs=1.5e-2)


def test_circuit_boards_u_chart_matches_c_chart_per_unit() -> None:
    """The same counts as a u chart over 100 boards per sample: ū = c̄/100 and the limits
    scale by 1/100 (√(ū/n) = √c̄/n), so the same samples are outside."""
    data = pl.DataFrame({"period": months(26), "numerator": CIRCUIT, "denominator": [100] * 26})
    points = analyse(data, SeriesSpec(chart="u")).points
    assert points["centre"][0] == pytest.approx(0.1985, abs=5e-5)
    assert points["upper"][0] == pytest.approx(0.3322, abs=1.5e-4)
    assert points.with_row_index(offset=1).filter("outside_limits")["index"].to_list() == [6, 20]


def test_nist_flowrate_individuals() -> None:
    """NIST e-Handbook 6.3.2.2: CL 50.81, MR̄ 1.8778, UCL 55.8041, LCL 45.8159 (3/1.128 ×
    MR̄; the 2.66 of Making Data Count agrees to 2e-5 relative)."""
    data = pl.DataFrame({"period": months(10), "value": FLOWRATE})
    points = analyse(data, SeriesSpec(chart="xmr")).points
    assert points["centre"][0] == pytest.approx(50.81)
    assert points["upper"][0] == pytest.approx(55.8041, rel=5e-5)
    assert points["lower"][0] == pytest.approx(45.8159, rel=5e-5)
    assert not points["outside_limits"].any()


# Mohammed et al. 2013 / qicharts2 vignette "Case 5: Prime charts for count data with very
# large sample sizes": 20 weeks of A&E attendances (n ≈ 270,000 a week) seen within 4 hours.
NHS_FIRST_WEEK = dt.date(2013, 1, 7)  # the data are week numbers 1-20; any weekly dates do


def nhs_accidents() -> pl.DataFrame:
    raw = read_published("nhs_accidents.csv")
    return raw.select(
        period=pl.lit(NHS_FIRST_WEEK) + pl.duration(weeks=pl.col("i") - 1),
        numerator="r", denominator="n")


def test_nhs_accidents_p_chart_puts_16_of_20_weeks_outside() -> None:
    """Plain p chart: p̄ = Σr/Σn = 0.952900 and limits about ±0.0012, so narrow that 16 of
    the 20 weeks fall outside (all but weeks 5, 7, 18 and 20); every week's limits equal
    qicharts2's."""
    expected = read_published("nhs_accidents_qicharts2.csv")
    points = analyse(nhs_accidents(), SeriesSpec(chart="p")).points
    assert points["centre"].to_list() == pytest.approx([0.95289971134419116] * 20, rel=1e-12)
    assert points["lower"].to_list() == pytest.approx(expected["p_lower"].to_list(), rel=1e-9)
    assert points["upper"].to_list() == pytest.approx(expected["p_upper"].to_list(), rel=1e-9)
    weeks = points.with_row_index("week", offset=1)
    assert weeks.filter(~pl.col("outside_limits"))["week"].to_list() == [5, 7, 18, 20]


def test_nhs_accidents_laney_p_prime_puts_no_week_outside() -> None:
    """Laney p′: the same p̄, σ_i scaled by σ_z = MR̄(z)/1.128, limits about ±0.013 and no
    week outside; every week's limits equal qicharts2's (with or without MR screening, as
    no moving range of z is screened out here)."""
    expected = read_published("nhs_accidents_qicharts2.csv")
    for screen in (True, False):
        points = analyse(nhs_accidents(), SeriesSpec(chart="pp", screen_outliers=screen)).points
        assert points["centre"][0] == pytest.approx(0.95289971134419116, rel=1e-12)
        assert points["lower"].to_list() == pytest.approx(expected["pp_lower"].to_list(),
                                                          rel=1e-9)
        assert points["upper"].to_list() == pytest.approx(expected["pp_upper"].to_list(),
                                                          rel=1e-9)
        assert not points["outside_limits"].any()


# qicharts2 0.8.1 on two more of its own published datasets, as recorded by the
# AUS-DOH-Safety-and-Quality/PowerBI-SPC test fixtures (see the data files' headers).
# qicharts2's `freeze = k` is our baseline_points=k; its `part = k` a rebase at point k + 1;
# its unscreened default (qic.screenedmr = FALSE) is screen_outliers=False.

def test_cdi_u_chart_with_an_18_month_baseline_matches_qicharts2() -> None:
    """qicharts2 `cdi` (C. difficile infections per risk day), u chart frozen on the first
    18 months: ū = 0.0013884479710707777 and every month's limits equal qicharts2's; after
    the intervention the low months fall below the frozen lower limit."""
    cdi = read_published("cdi.csv").with_columns(pl.col("month").str.to_date())
    expected = read_published("cdi_u_freeze18_qicharts2.csv")
    data = cdi.select(period="month", numerator="n", denominator="days")
    points = analyse(data, SeriesSpec(chart="u", baseline_points=18,
                                      screen_outliers=False)).points
    assert points["centre"].to_list() == pytest.approx([0.0013884479710707777] * 36,
                                                       rel=1e-12)
    assert points["lower"].to_list() == pytest.approx(expected["lower"].to_list(), rel=1e-9)
    assert points["upper"].to_list() == pytest.approx(expected["upper"].to_list(), rel=1e-9)
    # the months outside are those below qicharts2's own limits (none is above them)
    below = cdi.with_columns(lower=expected["lower"]).filter(
        pl.col("n") / pl.col("days") < pl.col("lower"))["month"].to_list()
    assert len(below) >= 5 and below[0] == dt.date(2014, 6, 1)
    assert points.filter("outside_limits")["period"].to_list() == below


def cabg_days() -> pl.DataFrame:
    raw = read_published("cabg_days_between_deaths.csv")
    return raw.select(period=pl.lit(dt.date(2000, 1, 1)) + pl.duration(days=pl.col("death")),
                      value=pl.col("days").cast(pl.Float64))


def cabg_t_spec(variant: str, periods: list[dt.date]) -> SeriesSpec:
    """The qic() call behind each PowerBI-SPC fixture case, as a SeriesSpec."""
    if variant == "freeze 33":  # qic(chart = 't', freeze = 33), unscreened
        return SeriesSpec(chart="t", baseline_points=33, screen_outliers=False)
    if variant == "part 33":  # qic(chart = 't', part = 33), unscreened: phase 2 from no. 34
        return SeriesSpec(chart="t", rebase=(periods[33],), screen_outliers=False)
    return SeriesSpec(chart="t")  # "screened": qic.screenedmr = TRUE, our default


@pytest.mark.parametrize(("variant", "phases"), [
    ("freeze 33", [(11.444906381144426, 0.0037537354435645313, 113.70598556391909)]),
    ("part 33", [(11.444906381144426, 0.0037537354435645313, 113.70598556391909),
                 (10.975761737580594, 0.009145568251862652, 102.58369462962973)]),
    ("screened", [(11.205060797289464, 0.02212887957455564, 97.268017722609528)]),
])
def test_cabg_t_chart_matches_qicharts2(variant: str,
                                        phases: list[tuple[float, float, float]]) -> None:
    """qicharts2 `cabg`, days between deaths (67 intervals), t chart: centre and limits
    back-transformed from the individuals chart on days^(1/3.6) equal qicharts2's, and only
    the 117-day interval (number 24) is outside in every variant."""
    data = cabg_days()
    spec = cabg_t_spec(variant, data["period"].to_list())
    points = analyse(data, spec).points.with_row_index("k", offset=1)
    got = points.select("centre", "lower", "upper").unique(maintain_order=True).rows()
    assert len(got) == len(phases)
    for got_phase, want in zip(got, phases, strict=True):
        assert got_phase == pytest.approx(want, rel=1e-9)
    assert points.filter("outside_limits")["k"].to_list() == [24]


# The Broken Quality Initiative's "Software Verification Quick Guide" XmR data set (Shewhart's
# resistance measurements), published with its limits for checking SPC software.

def xmr_verification() -> pl.DataFrame:
    return read_published("xmr_software_verification.csv").with_columns(
        period=pl.lit(dt.date(2000, 1, 1)) + pl.duration(days=pl.col("sample")),
        value=pl.col("x").cast(pl.Float64))


def test_xmr_software_verification_data_set() -> None:
    """Published: mean 4135.5, average mR 355.9, UPL 5082.2, LPL 3188.8 (the notebook rounds
    the average mR to 355.9 before multiplying by 2.660, so its limits may differ from the
    unrounded ones by up to 2.66 × 0.05 + 0.05 ≈ 0.18); sample 16 (5200) is above the UPL.
    Wheeler's XmR does not screen moving ranges, hence screen_outliers=False."""
    data = xmr_verification()
    points = analyse(data.select("period", "value"),
                     SeriesSpec(chart="xmr", screen_outliers=False)).points
    centre, upper, lower = points.select("centre", "upper", "lower").row(0)
    assert centre == pytest.approx(4135.5, abs=1e-9)
    assert (upper - centre) / 2.66 == pytest.approx(355.9, abs=0.05)
    assert upper == pytest.approx(5082.2, abs=0.19)
    assert lower == pytest.approx(3188.8, abs=0.19)
    assert points.with_row_index("k", offset=1).filter("outside_limits")["k"].to_list() == [16]


def test_xmr_software_verification_screening_drops_the_range_above_the_url() -> None:
    """With moving-range screening (our default) the one published moving range above the
    published upper range limit (URL 1163.1: sample 16's 1737) leaves the average, so the
    limits are 4135.5 ± 2.66 × (mean of the other 14 published moving ranges)."""
    data = xmr_verification()
    kept = data.filter(pl.col("mr").is_not_null() & (pl.col("mr") <= 1163.1))["mr"]
    assert kept.len() == 14
    points = analyse(data.select("period", "value"), SeriesSpec(chart="xmr")).points
    assert points["upper"][0] == pytest.approx(4135.5 + 2.66 * kept.mean(), rel=1e-12)
    assert points["lower"][0] == pytest.approx(4135.5 - 2.66 * kept.mean(), rel=1e-12)


def test_hospital_infections_laney_u_prime_matches_qicharts2() -> None:
    """qicharts2 `hospital_infections` summed by month (about 280,000 risk days a month),
    Laney u′ chart: ū = 0.0018235751654857592 and every month's limits equal qicharts2's;
    no month is outside."""
    hai = read_published("hospital_infections_monthly.csv").with_columns(
        pl.col("month").str.to_date())
    expected = read_published("hospital_infections_up_qicharts2.csv")
    data = hai.select(period="month", numerator="n", denominator="days")
    points = analyse(data, SeriesSpec(chart="up", screen_outliers=False)).points
    assert points["centre"].to_list() == pytest.approx([0.0018235751654857592] * 24, rel=1e-12)
    assert points["lower"].to_list() == pytest.approx(expected["lower"].to_list(), rel=1e-9)
    assert points["upper"].to_list() == pytest.approx(expected["upper"].to_list(), rel=1e-9)
    assert not points["outside_limits"].any()


# Montgomery, Introduction to Statistical Quality Control, Table 6.3 and the Xbar and s chart
# example: piston-ring inside diameters, 25 trial samples of 5 rings, then 15 more (phase II);
# exact data from the R package qcc (see the data file's header).

def piston_rings() -> pl.DataFrame:
    """One row per ring: period = a day per sample number, value = diameter (mm)."""
    return read_published("pistonrings.csv").select(
        period=pl.lit(dt.date(2000, 1, 1)) + pl.duration(days=pl.col("sample")),
        value=pl.col("diameter").cast(pl.Float64), trial="trial")


# Table 6.3's x̄_i and s_i of samples 1-16, as printed (3 and 4 decimals)
RINGS_XBAR = [74.010, 74.001, 74.008, 74.003, 74.003, 73.996, 74.000, 73.997, 74.004, 73.998,
              73.994, 74.001, 73.998, 73.990, 74.006, 73.997]
RINGS_S = [0.0148, 0.0075, 0.0147, 0.0091, 0.0122, 0.0087, 0.0055, 0.0123, 0.0055, 0.0063,
           0.0029, 0.0042, 0.0105, 0.0153, 0.0073, 0.0078]


def test_piston_rings_xbar_and_s_trial_limits() -> None:
    """Trial samples 1-25: each point is its sample's mean (Xbar) or standard deviation (S), as
    Table 6.3 prints them; x̿ = 74.001 and Xbar limits 73.988 and 74.014 (Montgomery:
    x̿ ± A3 s̄ with A3 = 1.427), S limits 0 and B4 s̄ (B4 = 2.089), no sample outside.

    s̄ from the data is 0.2310/25 = 0.00924 (S UCL 0.0193); the s̄ ≈ 0.0094 (UCL ≈ 0.0196)
    quoted for the book could not be checked against its text, and Table 6.3's own s_i (checked
    here) give 0.00924. The Xbar limits round to the published ones with either value."""
    trial = piston_rings().filter("trial").drop("trial")
    xbar = analyse(trial, SeriesSpec(chart="xbar")).points
    s = analyse(trial, SeriesSpec(chart="s")).points
    assert xbar.height == s.height == 25
    assert xbar["value"][:16].to_list() == pytest.approx(RINGS_XBAR, abs=5e-4 + 1e-9)
    assert s["value"][:16].to_list() == pytest.approx(RINGS_S, abs=5e-5 + 1e-9)
    sbar = s["value"].mean()
    assert sbar == pytest.approx(0.2310 / 25, abs=2e-6)
    assert xbar["centre"][0] == pytest.approx(74.001, abs=5e-4)
    assert xbar["centre"][0] == pytest.approx(trial["value"].mean(), rel=1e-12)
    assert xbar["lower"][0] == pytest.approx(73.988, abs=5e-4)
    assert xbar["upper"][0] == pytest.approx(74.014, abs=5e-4)
    assert (xbar["upper"][0] - xbar["centre"][0]) / sbar == pytest.approx(1.427, abs=5e-4)
    assert s["centre"][0] == pytest.approx(sbar, rel=1e-12)
    assert s["lower"][0] == 0.0
    assert s["upper"][0] / sbar == pytest.approx(2.089, abs=5e-4)
    assert s["upper"][0] == pytest.approx(0.0193, abs=5e-5)
    assert not xbar["outside_limits"].any() and not s["outside_limits"].any()


def test_piston_rings_phase_two() -> None:
    """Samples 26-40 judged against the trial limits (baseline of 25, qicharts2's freeze = 25):
    samples 37, 38 and 39 are above the Xbar UCL (74.0166, 74.0196, 74.0234 > 74.0144), the S
    chart stays in control. As a new phase (rebase at sample 26) the limits come from samples
    26-40 alone: a run of 7 means below the new centre (27-33, sample 28 below the LCL) and
    sample 39 above the UCL."""
    rings = piston_rings().drop("trial")
    dates = rings["period"].unique().sort().to_list()
    for chart, outside in (("xbar", [37, 38, 39]), ("s", [])):
        points = analyse(rings, SeriesSpec(chart=chart, baseline_points=25)).points.with_row_index(
            "sample", offset=1)
        assert points["upper"].n_unique() == 1  # the trial limits throughout
        assert points.filter("outside_limits")["sample"].to_list() == outside
    xbar = analyse(rings, SeriesSpec(chart="xbar", baseline_points=25)).points.with_row_index(
        "sample", offset=1)
    assert xbar.filter(pl.col("sample") < 34)["rule"].unique().to_list() == ["Common Cause"]
    assert xbar.filter(pl.col("sample") >= 37)["point_type"].unique().to_list() == [
        "special_cause_neutral_high"]

    result = analyse(rings, SeriesSpec(chart="xbar", rebase=(dates[25],)))
    second = result.points.with_row_index("sample", offset=1).filter(pl.col("phase") == 2)
    assert second["centre"][0] == pytest.approx(
        rings.filter(pl.col("period") >= dates[25])["value"].mean(), rel=1e-12)
    assert second.filter("outside_limits")["sample"].to_list() == [28, 39]
    run = second.filter(pl.col("sample").is_between(27, 33))
    assert (run["value"] < run["centre"]).all()
    assert second.filter(pl.col("rule") != "Common Cause")["sample"].to_list() == [
        *range(27, 34), 38, 39]
    assert result.phases["n_points"].to_list() == [25, 15]
    assert not result.phases["trial_limits"].any()
    s_second = analyse(rings, SeriesSpec(chart="s", rebase=(dates[25],))).points
    assert not s_second["outside_limits"].any()
