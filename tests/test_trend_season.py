"""A seasonal series that ends at its usual peak: spc.trend.season_at_latest says so, and the
narrative puts that sentence next to the special-cause verdict instead of leaving a bare
"a change for the worse"."""

from __future__ import annotations

import datetime as dt

import polars as pl

from spc import narrative, trend
from spc.engine import SeriesSpec, analyse
from test_trend import seasonal_series


def test_season_at_latest_names_peak_trough_and_neither() -> None:
    # level 200 + 30 sin(2 pi m / 12): highest in April (m = 3 from January), lowest in October
    at = {n: trend.season_at_latest(seasonal_series(1, n=n)).row(0, named=True) for n in (64, 58, 60)}
    assert at[64]["month"] == "April" and at[64]["position"] == "peak"
    assert "April" in at[64]["sentence"] and "season" in at[64]["sentence"]
    assert at[58]["month"] == "October" and at[58]["position"] == "trough"
    assert at[60]["month"] == "December" and at[60]["position"] is None and at[60]["sentence"] is None


def test_too_short_or_not_seasonal_says_nothing() -> None:
    short = trend.season_at_latest(seasonal_series(1, n=16)).row(0, named=True)
    assert short["seasonal"] is None and short["sentence"] is None
    flat = trend.season_at_latest(seasonal_series(2, n=64, amp=0)).row(0, named=True)
    assert flat["seasonal"] is False and flat["position"] is None


def test_narrative_says_a_signal_at_the_seasonal_peak_may_be_the_season() -> None:
    data = seasonal_series(3, n=64, name="calls")
    # a high April on a chart whose limits do not allow for season
    data = data.with_columns(pl.when(pl.col("period") == pl.col("period").max())
                             .then(pl.col("value") + 25).otherwise(pl.col("value")).alias("value"))
    result = analyse(data, SeriesSpec(chart="xmr", improvement="decrease"))
    row = result.summary.row(0, named=True)
    assert row["variation"].startswith("special_cause"), row["variation"]
    told = narrative.describe(result.summary, result.phases, None, points=result.points).row(0, named=True)
    text = " ".join(told["sentences"])
    assert "Special cause variation" in text
    assert "April is one of the months when this series is usually high" in text
    # the season sentence follows the verdict directly
    idx = next(i for i, s in enumerate(told["sentences"]) if s.startswith("Special cause"))
    assert told["sentences"][idx + 1].startswith("April")
    assert result.points["period"].max() == dt.date(2023, 4, 1)
