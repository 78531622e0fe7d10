"""Tabular CUSUM: Montgomery's worked example, the signed plotted sum, options.

Published case: D. C. Montgomery, Introduction to Statistical Quality Control (6th ed.),
Example 9.1, Tables 9.1 and 9.2: 30 observations, the first 20 from N(10, 1) and the last 10
from N(11, 1); μ0 = 10, σ = 1, k = 0.5, h = 5. The tabular CUSUM's upper sum first exceeds
H = 5 at period 29 (C⁺ = 5.28) and stays above at period 30 (C⁺ = 5.30). (The same 30 values are
the EWMA example of Montgomery 9.2 and of IMSL's EWMA documentation.)
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from spc.engine import SeriesSpec, analyse

MONTGOMERY = [9.45, 7.99, 9.29, 11.66, 12.16, 10.18, 8.04, 11.46, 9.20, 10.34,
              9.03, 11.47, 10.51, 9.40, 10.08, 9.37, 10.62, 10.31, 8.52, 10.84,
              10.90, 9.33, 12.29, 11.50, 10.60, 11.08, 10.38, 11.62, 11.31, 10.52]


def monthly(values: list[float]) -> pl.DataFrame:
    periods = [dt.date(2020 + i // 12, i % 12 + 1, 1) for i in range(len(values))]
    return pl.DataFrame({"period": periods, "value": values})


def upper_and_lower_sums(x: np.ndarray, mu: float, sigma: float, k: float = 0.5
                         ) -> tuple[np.ndarray, np.ndarray]:
    """The textbook recursion, point by point (the reference the engine is checked against)."""
    hi, lo, c_hi, c_lo = [], [], 0.0, 0.0
    for v in x:
        c_hi = max(0.0, v - (mu + k * sigma) + c_hi)
        c_lo = max(0.0, (mu - k * sigma) - v + c_lo)
        hi.append(c_hi)
        lo.append(c_lo)
    return np.array(hi), np.array(lo)


def test_montgomery_example_9_1() -> None:
    points = analyse(monthly(MONTGOMERY), SeriesSpec(
        chart="cusum", reference_centre=10, reference_sigma=1)).points.with_row_index("k", offset=1)
    assert points["upper"].unique().to_list() == [5.0]
    assert points["lower"].unique().to_list() == [-5.0]
    assert points["centre"].unique().to_list() == [0.0]
    assert points.filter("outside_limits")["k"].to_list() == [29, 30]
    assert points["value"][28] == pytest.approx(5.28)
    assert points["value"][29] == pytest.approx(5.30)
    assert set(points.filter("outside_limits")["rule"]) == {"Above UCL"}
    # h = 4: the decision interval Montgomery also discusses signals sooner (C⁺_28 = 4.47)
    h4 = analyse(monthly(MONTGOMERY), SeriesSpec(chart="cusum", cusum_h=4, reference_centre=10,
                                                 reference_sigma=1)).points
    assert h4.with_row_index("k", offset=1).filter("outside_limits")["k"].to_list() == [28, 29, 30]


def test_plotted_value_is_the_larger_sum_signed() -> None:
    x = np.array(MONTGOMERY)
    hi, lo = upper_and_lower_sums(x, 10, 1)
    points = analyse(monthly(MONTGOMERY), SeriesSpec(
        chart="cusum", reference_centre=10, reference_sigma=1)).points
    assert points["value"].to_numpy() == pytest.approx(np.where(hi >= lo, hi, -lo))


def test_estimates_are_the_phase_mean_and_moving_range_sigma() -> None:
    x = np.array(MONTGOMERY[:20])
    mr = np.abs(np.diff(x))
    assert mr.max() < 3.267 * mr.mean()
    sigma = mr.mean() / 1.128
    points = analyse(monthly(MONTGOMERY[:20]), SeriesSpec(chart="cusum")).points
    hi, lo = upper_and_lower_sums(x, x.mean(), sigma)
    assert points["value"].to_numpy() == pytest.approx(np.where(hi >= lo, hi, -lo))
    assert points["upper"][0] == pytest.approx(5 * sigma)
    assert SeriesSpec(chart="cusum").label() == "CUSUM (k 0.5σ, h 5σ)"


def test_false_alarm_rate_in_control() -> None:
    """In-control normal series, 36 monthly points, σ estimated from each (seed 11, 1,000
    series): a CUSUM (k 0.5, h 5) signal anywhere in 6.4% of series (measured). Nominal: the
    two-sided in-control ARL is about 465 points with known parameters (Montgomery Table 9.3),
    so about 1 − exp(−36/465) = 7.4% of 36-point windows; 3σ limits alone would give 9.3%
    (1 − 0.9973^36)."""
    rng = np.random.default_rng(11)
    n_series, n = 1000, 36
    periods = [dt.date(2020 + i // 12, i % 12 + 1, 1) for i in range(n)]
    frame = pl.DataFrame({"series": np.repeat([f"s{i:04d}" for i in range(n_series)], n),
                          "period": periods * n_series,
                          "value": rng.normal(0, 1, n_series * n)})
    points = analyse(frame, SeriesSpec(chart="cusum")).points
    rate = points.group_by("series").agg(pl.col("outside_limits").any())["outside_limits"].mean()
    assert rate == pytest.approx(MEASURED_RATE, abs=0.005)


MEASURED_RATE = 0.064


def test_no_assurance_icon_from_a_statistic_s_limits() -> None:
    """A target is about the figures; EWMA and CUSUM limits bound a statistic, so they give no
    assurance icon (the XmR chart of the same series does)."""
    data = monthly(MONTGOMERY)
    for chart in ("ewma", "cusum"):
        summary = analyse(data, SeriesSpec(chart=chart, improvement="increase", target=5.0)).summary
        assert summary["assurance"][0] is None
    xmr = analyse(data, SeriesSpec(improvement="increase", target=5.0)).summary
    assert xmr["assurance"][0] == "consistent_pass"
