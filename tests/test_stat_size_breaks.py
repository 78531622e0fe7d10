"""Size and power of spc.trend.change_points' suggestions by simulation at fixed seeds (nominal
alpha 0.01 after the Bonferroni correction for the search), and the real ASB series that is too
short for the method.

Measured (500 series each, seed 11; the Welch t-test it replaced in brackets):

| series | suggestion on | nominal |
|---|---|---|
| iid, 36 points | 0.0% (0.8%) | 1% |
| AR(1) phi 0.6, 36 points | 14% (40%) | 1% |
| AR(1) phi 0.6, 60 points | 23% (67%) | 1% |
| linear trend, 1 sd a year, 36 points | 6.4% (78%) | 1% |
| 2 sd step mid-series, 36 points (seed 12) | 58% (87%) | power |
| 3 sd step mid-series, 36 points (seed 12) | 87% (99%) | power |

Autocorrelation is the hard case: in 36 points an AR(1) phi 0.6 series wanders like a step and
its memory cannot be measured closely (effective sample size about 9), so suggestions on such
series stay above nominal even after allowing for it; the rate is a third of what it was.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from test_stat_size_trend import ar1, as_frame

from spc import trend

R = 500
FORCE_COUNTS = (Path(__file__).resolve().parents[2] / "shared" / "realdata" / "derived"
                / "police_uk_force_month_crime_type_counts.csv")


def rate(y: np.ndarray) -> float:
    return trend.change_points(as_frame(y))["series"].n_unique() / y.shape[0]


def test_change_points_size_on_iid_autocorrelated_and_trending_series() -> None:
    rng = np.random.default_rng(11)
    assert rate(ar1(rng, 0.0, 36, R)) <= 0.01  # measured 0.0%
    assert rate(ar1(rng, 0.6, 36, R)) <= 0.20  # measured 14% (was 40%)
    assert rate(ar1(rng, 0.6, 60, R)) <= 0.30  # measured 23% (was 67%)
    assert rate(ar1(rng, 0.0, 36, R) + np.arange(36) / 12) <= 0.10  # measured 6.4% (was 78%)


def test_change_points_power_on_steps() -> None:
    rng = np.random.default_rng(12)
    mid = np.arange(36) >= 18
    assert rate(ar1(rng, 0.0, 36, R) + 2.0 * mid) >= 0.5  # measured 58%
    assert rate(ar1(rng, 0.0, 36, R) + 3.0 * mid) >= 0.85  # measured 87%


@pytest.mark.skipif(not FORCE_COUNTS.exists(), reason="../shared/realdata not present")
def test_series_too_short_for_change_points_is_said_not_skipped_silently() -> None:
    # the real Staffordshire ASB series (police.uk): 9 months, 2018-10 to 2019-02 and 2024-01 to 04
    asb = (pl.read_csv(FORCE_COUNTS)
           .filter(pl.col("falls_within") == "Staffordshire Police", pl.col("crime_type") == "Anti-social behaviour")
           .select(pl.lit("asb").alias("series"), (pl.col("month") + "-01").str.to_date().alias("period"),
                   pl.col("count").cast(pl.Float64).alias("value")))
    assert asb.height == 9
    assert trend.change_points(asb).height == 0
    checks = trend.data_checks(asb).filter(pl.col("check") == "too short for change points")
    assert checks.height == 1
    assert checks["message"][0].startswith("Only 9 values: too few to look for a change point (12 are needed")
    long = as_frame(ar1(np.random.default_rng(1), 0.0, 36, 1))
    assert trend.data_checks(long).filter(pl.col("check") == "too short for change points").height == 0
