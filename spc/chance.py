"""How many latest-point signals chance alone would give across many series.

With 64 or 640 series on one screen, some will show special cause at their latest point even
when nothing has changed anywhere: each rule has a small false-alarm rate, and many series
give it many chances. A commissioner reading "4 concerns" needs to know whether about 4 would
be expected by chance alone.

The figure is simulated once per distinct set of rule options (rule set, shift and trend
lengths, 2-of-3 logic, moving-range screening, and whether the chart has limits) and a typical
series length: `N_SERIES` in-control series (independent standard normal values, one phase)
go through `spc.engine.analyse` in one call with a fixed seed, and the share whose latest point
is special cause is the rate (series longer than `MAX_POINTS` are simulated at that length). The
result is cached for the life of the process (a second or two the first time). Under the Making Data Count rules about 2% of latest points on in-control
series of 36 to 60 points are special cause, split evenly between high and low.

Why iid normal for every chart: the false-alarm rate belongs to the rules and the limits'
estimation, which the XmR chart on normal data represents; p, u and c charts with the counts
seen here behave alike. It is an approximation for "about N", not a test.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl

from spc.engine import SeriesSpec, analyse

#: Simulated series per option set: the rate's standard error is about 0.14 percentage point,
#: ample for "about N expected by chance", and every store build pays for it (under a second).
N_SERIES = 10_000
SEED = 20240401
#: Longest series simulated. The rules look at the last 8 points or fewer, and limits from 60
#: points are within a few per cent of their long-run precision, so a longer series gives the
#: same rate (measured: 1.85% at 60 points, 1.9% at 103) at twice the cost.
MAX_POINTS = 60
#: Options that change the false-alarm rate (the chart's kind, then SeriesSpec fields).
OPTION_COLUMNS = ("rule_set", "shift", "trend", "two_sigma", "screen_outliers")
DEFAULT_OPTIONS: dict[str, object] = {"rule_set": "mdc", "shift": 7, "trend": 7, "two_sigma": "current",
                                      "screen_outliers": True}


@dataclass(frozen=True)
class ChanceRate:
    """Shares of in-control series whose latest point is special cause (any, high, low)."""

    signal: float
    high: float
    low: float
    n_points: int
    n_series: int


def latest_point_rate(n_points: int, *, run_chart: bool = False, rule_set: str = "mdc", shift: int = 7,
                      trend: int = 7, two_sigma: str = "current", screen_outliers: bool = True,
                      n_series: int = N_SERIES, seed: int = SEED) -> ChanceRate:
    """Shares of in-control series of `n_points` (simulated at most `MAX_POINTS` long) whose
    latest point is special cause under these rule options; simulated once, then cached."""
    return _simulate(min(max(int(n_points), 2), MAX_POINTS), run_chart, rule_set, int(shift), int(trend),
                     two_sigma, bool(screen_outliers), n_series, seed)


@lru_cache(maxsize=64)
def _simulate(n_points: int, run_chart: bool, rule_set: str, shift: int, trend: int, two_sigma: str,
              screen_outliers: bool, n_series: int, seed: int) -> ChanceRate:
    """All `n_series` simulated series go through the engine in one `analyse` call (one
    vectorised pass), with a neutral direction so high and low are told apart."""
    rng = np.random.default_rng(seed)
    start = dt.date(2000, 1, 1)
    periods = pl.date_range(start, dt.date(start.year + n_points // 12 + 1, 1, 1), "1mo", eager=True)[:n_points]
    data = pl.DataFrame({
        "series": np.repeat(np.arange(n_series), n_points).astype(str),
        "period": np.tile(periods.to_numpy(), n_series),
        "value": rng.standard_normal(n_series * n_points),
    })
    spec = SeriesSpec(chart="run" if run_chart else "xmr", improvement="neutral", rule_set=rule_set,
                      shift=shift, trend=trend, two_sigma=two_sigma, screen_outliers=screen_outliers)
    variation = analyse(data, spec).summary["variation"]
    high = float((variation == "special_cause_neutral_high").mean())
    low = float((variation == "special_cause_neutral_low").mean())
    return ChanceRate(signal=high + low, high=high, low=low, n_points=n_points, n_series=n_series)


@dataclass(frozen=True)
class ChanceFigure:
    """Latest-point signals seen across some series, and how many chance alone would give."""

    n_series: int
    signals: int            # special cause of any kind at the latest point
    concerns: int
    expected_signals: float
    expected_concerns: float  # in the worse direction, for series that have one
    rule_options: tuple[str, ...]  # the option sets in plain words, most common first


def about(x: float) -> str:
    """An expected count as people read it: '0.03', '0.24', '1.3', '12'."""
    if x >= 10:
        return f"{x:.0f}"
    if x >= 1:
        return f"{x:.1f}"
    return f"{x:.2g}" if x > 0 else "0"


def options_words(rule_set: str, shift: int, trend: int, two_sigma: str, screen_outliers: bool) -> str:
    """One option set in plain words: 'Making Data Count rules (runs of 7, trends of 7)'."""
    name = {"mdc": "Making Data Count rules", "western_electric": "Western Electric rules",
            "nelson": "Nelson rules"}.get(rule_set, f"{rule_set} rules")
    extra = [f"runs of {shift}", f"trends of {trend}"]
    if two_sigma == "legacy":
        extra.append("older 2-of-3 rule")
    if not screen_outliers:
        extra.append("no moving-range screening")
    return f"{name} ({', '.join(extra)})"


def chance_figure(series: pl.DataFrame) -> ChanceFigure:
    """Signals and their chance expectation across `series`.

    `series` has one row per series shown: `variation`, `improvement`, `chart`, `n_points`
    and the `OPTION_COLUMNS` (nulls take the engine defaults), and optionally `chance_rate`
    (stored with the results, spc.results). Series are grouped by option set; each group takes
    the rate of its series at the median length (the lower middle one, lengths clipped to the
    2 to 60 points simulated): the stored rate when there is one, so a page simulates nothing,
    else one simulation at that length (cached).
    """
    if series.is_empty():
        return ChanceFigure(0, 0, 0, 0.0, 0.0, ())
    if "chance_rate" not in series.columns:
        series = series.with_columns(chance_rate=pl.lit(None, pl.Float64))
    frame = series.with_columns(
        [pl.col(c).fill_null(pl.lit(v)) if c in series.columns else pl.lit(v).alias(c)
         for c, v in DEFAULT_OPTIONS.items()]
    ).with_columns(run_chart=pl.col("chart") == "run",
                   directional=pl.col("improvement").is_in(["increase", "decrease"]),
                   n_clipped=pl.col("n_points").fill_null(2).clip(2, MAX_POINTS))
    middle = (pl.len() - 1) // 2
    groups = frame.group_by("run_chart", *OPTION_COLUMNS).agg(
        n=pl.len(), n_directional=pl.col("directional").sum(),
        rate=pl.col("chance_rate").sort_by("n_clipped").gather(middle).first(),
        typical=pl.col("n_clipped").sort().gather(middle).first(),
    ).sort("n", descending=True)
    expected = expected_concerns = 0.0
    words: list[str] = []
    for g in groups.iter_rows(named=True):
        rate = g["rate"]
        if rate is None:  # no stored rate (a frame from elsewhere, or results stored before them)
            rate = latest_point_rate(int(g["typical"]), run_chart=bool(g["run_chart"]),
                                     rule_set=g["rule_set"], shift=int(g["shift"]), trend=int(g["trend"]),
                                     two_sigma=g["two_sigma"], screen_outliers=bool(g["screen_outliers"])).signal
        expected += g["n"] * rate
        # a concern is a signal in the worse direction; high and low are equally likely by chance
        expected_concerns += g["n_directional"] * (rate / 2)
        text = options_words(g["rule_set"], g["shift"], g["trend"], g["two_sigma"], g["screen_outliers"])
        if text not in words:
            words.append(text)
    variation = frame["variation"]
    return ChanceFigure(
        n_series=frame.height,
        signals=int((variation.is_not_null() & (variation != "common_cause")).sum()),
        concerns=int((variation == "special_cause_concern").sum()),
        expected_signals=expected, expected_concerns=expected_concerns, rule_options=tuple(words))
