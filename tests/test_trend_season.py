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


def test_kruskal_for_every_series_at_once_matches_scipy_per_series() -> None:
    # seasonality tests all series in one pass of polars sums; scipy.stats.kruskal on each
    # series is the reference, on seeded series with many ties, uneven groups and a NaN
    import numpy as np
    from scipy import stats

    from spc.trend.seasonal import _kruskal_by_series

    rng = np.random.default_rng(20261206)
    sid, group, x = [], [], []
    for s in range(60):
        n = int(rng.integers(12, 61))
        k = int(rng.integers(2, 13))
        g = np.r_[np.arange(k), rng.integers(0, k, n - k)]  # every group present at least once
        v = rng.integers(0, [2, 4, 10, 1000][s % 4], n).astype(float) + (0.5 if s % 3 else 0.0)
        v[np.flatnonzero(v == 0)[::2]] = -0.0  # scipy ranks -0.0 and 0.0 as a tie
        if s == 7:
            v[3] = np.nan
        sid.append(np.full(n, s)), group.append(g), x.append(v)
    h, p = _kruskal_by_series(np.concatenate(sid), np.concatenate(group), np.concatenate(x))
    for s in range(60):
        v, g = x[s], group[s]
        want = stats.kruskal(*[v[g == m] for m in np.unique(g)])
        if s == 7:
            assert np.isnan(want.statistic) and np.isnan(h[s]) and np.isnan(p[s])
            continue
        assert abs(h[s] - want.statistic) <= 1e-9 * max(1.0, abs(want.statistic)), (s, h[s], want.statistic)
        assert abs(p[s] - want.pvalue) <= 1e-9 * max(1e-12, want.pvalue), (s, p[s], want.pvalue)


def test_seasonality_h_and_p_are_scipy_kruskal_on_each_series_detrended_values() -> None:
    import numpy as np
    from scipy import stats

    from spc.trend.seasonal import _stl

    rng = np.random.default_rng(11)
    parts = [seasonal_series(s, n=n, amp=amp).with_columns(pl.col("value").round(0))  # ties
             for s, (n, amp) in enumerate([(24, 0.0), (30, 5.0), (36, 30.0), (48, 2.0), (60, 0.0)])]
    parts.append(pl.DataFrame({"series": "counts", "period": parts[2]["period"],
                               "value": rng.poisson(1.5, 36).astype(float)}))
    data = pl.concat(parts)
    got = trend.seasonality(data)
    assert got["kruskal_h"].null_count() == 0
    for row in got.iter_rows(named=True):
        part = data.filter(pl.col("series") == row["series"])
        y = part["value"].to_numpy()
        detr = y - np.asarray(_stl(y, 12).trend)
        months = part["period"].dt.month().to_numpy()
        want = stats.kruskal(*[detr[months == m] for m in range(1, 13)])
        assert abs(row["kruskal_h"] - want.statistic) <= 1e-9 * max(1.0, want.statistic)
        assert abs(row["p_value"] - want.pvalue) <= 1e-9 * max(1e-12, want.pvalue)
