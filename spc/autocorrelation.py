"""Autocorrelation is never silent: where each figure tends to be close to the one before.

Control limits from the moving range assume the points are independent. When consecutive
values are positively related (monthly police and fire counts often are), the moving range
is small compared with how far the series wanders, the limits are too narrow and most charts
show "special cause" that is the series' own memory (issue 13: with AR(1) φ = 0.5, 89-98% of
in-control charts show some special cause and 13-14% flag their latest point).

:func:`lag1` measures, for every series at once (polars, no loop over series or points), the
lag-1 autocorrelation of the latest phase's used points: of the values, or, for a monthly or
quarterly phase that covers at least `SEASON_YEARS` years, of the values less each calendar
month's (quarter's) mean in the phase, so a seasonal swing is not mistaken for memory. Pairs
are consecutive used points with no missing period between them. `autocorrelated` is true
where it reaches `THRESHOLD` (and the phase has at least `MIN_POINTS` points).

Why `THRESHOLD` = 0.4 (tests/test_autocorrelation.py, fixed seeds, 2,000 monthly series each
of 24, 36, 48 and 60 points): the flag fires on 0.2-1.8% of independent series (it almost
never cries wolf), on 15-26% of AR(1) φ = 0.3 series (whose moving-range limits are about 16%
too narrow, a modest harm) and on 47-74% of AR(1) φ = 0.5 series (limits about 29% too
narrow, where nearly every chart shows special cause), rising with the length of the series.
A threshold of 0.3 would fire on 1.5-6% of independent series (6% at 36 points); 0.45 would
miss about half the φ = 0.5 series.

:func:`sentence` is the plain-English caution the narrative (and so the Indicator page, the
briefing pack and the refresh digest) gives. The analyst option that allows for the
dependence is the ``xmr_ar1`` chart (:mod:`spc.charts.ar1`), never the default.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

#: lag-1 autocorrelation at or above which the limits are called too narrow (see above)
THRESHOLD = 0.4
#: fewer used points in the latest phase than this: too few to judge
MIN_POINTS = 12
#: years a monthly or quarterly phase must cover before the season is taken out first
SEASON_YEARS = 3
#: calendar seasons per year, by frequency (weekly and yearly series are not deseasonalised)
_SEASONS = {"month": 12, "quarter": 4}

#: the caution for non-analysts (no "lag-1 autocorrelation")
CAUTION = ("Each {period} tends to be close to the {period} before, so these limits are too narrow for "
           "this series and its signals should be read with care.")
#: said instead when the chart's limits already allow for it (the xmr_ar1 chart)
ALLOWED_FOR = ("Each {period} tends to be close to the {period} before; these limits allow for that "
               "{period}-to-{period} dependence.")
#: said on a run chart, which has no limits: its runs rules are what memory fools
RUNS = ("Each {period} tends to be close to the {period} before, so long runs above or below the average "
        "are more likely than usual and its signals should be read with care.")

_COLUMNS = {"series": pl.String, "acf1": pl.Float64, "acf1_basis": pl.String, "autocorrelated": pl.Boolean}


def lag1(points: pl.DataFrame, frequency: str | Mapping[str, str | None] | None = "month",
         key: list[str] | None = None, observed: pl.DataFrame | None = None) -> pl.DataFrame:
    """Lag-1 autocorrelation of the latest phase of every series of an engine points frame.

    `points` has the key (default ``series``), period, phase, value, excluded and gap_before
    (spc.engine's points frame). `observed` (key, period, value), when given, supplies the
    measured values: an EWMA or CUSUM chart's points hold its statistic, whose memory is by
    design. `frequency` is one grain for all series or a mapping from series to grain (None:
    'month'). Returns the key, ``acf1`` (null when the phase has fewer than `MIN_POINTS` used
    points), ``acf1_basis`` ('values' or 'after season') and ``autocorrelated`` (acf1 ≥
    `THRESHOLD`).
    """
    key = key or ["series"]
    schema = {**{k: pl.String for k in key}, **{k: v for k, v in _COLUMNS.items() if k != "series"}}
    if points.is_empty():
        return pl.DataFrame(schema=schema)
    if observed is not None:
        measured = observed.group_by(*key, "period").agg(pl.col("value").mean())
        points = points.drop("value").join(measured, on=[*key, "period"], how="left")
    if isinstance(frequency, Mapping):
        grains = pl.DataFrame({key[0]: list(frequency), "_freq": [f or "month" for f in frequency.values()]})
        frame = points.join(grains, on=key[0], how="left").with_columns(pl.col("_freq").fill_null("month"))
    else:
        frame = points.with_columns(_freq=pl.lit(frequency or "month"))
    used = frame.filter(~pl.col("excluded") & pl.col("value").is_not_null()).sort(*key, "period")
    used = used.filter(pl.col("phase") == pl.col("phase").max().over(key))
    seasons = pl.col("_freq").replace_strict(_SEASONS, default=0, return_dtype=pl.Int64)
    season = pl.when(pl.col("_freq") == "quarter").then((pl.col("period").dt.month() - 1) // 3) \
        .otherwise(pl.col("period").dt.month())
    n = pl.len().over(key)
    deseason = (seasons > 0) & (n >= SEASON_YEARS * seasons)
    used = used.with_columns(_deseason=deseason, _season=season)
    # residual from the phase mean, or from the calendar month's (quarter's) mean in the phase
    used = used.with_columns(_d=pl.when(pl.col("_deseason"))
                             .then(pl.col("value") - pl.col("value").mean().over(*key, "_season"))
                             .otherwise(pl.col("value") - pl.col("value").mean().over(key)))
    # a pair spans no missing period (the previous row of the same series is the period before)
    prev = pl.col("_d").shift(1).over(key)
    adjacent = pl.col("gap_before").fill_null(0) == 0
    per = used.with_columns(_p=pl.when(adjacent).then(pl.col("_d") * prev)).group_by(key).agg(
        _num=pl.col("_p").sum(), _den=(pl.col("_d") ** 2).sum(), _n=pl.len(),
        acf1_basis=pl.when(pl.col("_deseason").first()).then(pl.lit("after season")).otherwise(pl.lit("values")))
    acf = pl.when((pl.col("_n") >= MIN_POINTS) & (pl.col("_den") > 0)).then(pl.col("_num") / pl.col("_den"))
    return per.with_columns(acf1=acf).with_columns(
        autocorrelated=(pl.col("acf1") >= THRESHOLD).fill_null(False)
    ).select(*key, "acf1", "acf1_basis", "autocorrelated").sort(key)


def sentence(frequency: str | None = "month", chart: str | None = None) -> str:
    """The plain-English caution for a series flagged `autocorrelated`: 'Each month tends to be
    close to the month before, so these limits are too narrow for this series and its signals
    should be read with care.' On the xmr_ar1 chart (limits that allow for it) it says so
    instead; on a run chart (no limits) it speaks of runs."""
    period = {"week": "week", "quarter": "quarter", "year": "year"}.get(frequency or "month", "month")
    text = ALLOWED_FOR if chart == "xmr_ar1" else RUNS if chart == "run" else CAUTION
    return text.format(period=period)


def detail(acf1: float | None, basis: str | None) -> str:
    """The analyst's figure: 'lag-1 autocorrelation 0.52 (after season); material from 0.40'."""
    if acf1 is None:
        return ""
    after = " (after season)" if basis == "after season" else ""
    return f"lag-1 autocorrelation {acf1:.2f}{after}; material from {THRESHOLD:.2f}"
