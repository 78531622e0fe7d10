"""Shared pieces of the limit formulas: window key, moving ranges, sigma bands.

A chart function takes a lazy frame (rows sorted by series and period, columns
``_g``, ``value``, ``numerator``, ``denominator``, ``_base``, ``screen_outliers``)
and adds three columns: ``centre`` (the line drawn), ``_mid`` (the middle of the
limits) and ``_sigma``; :func:`bands` then turns them into 1, 2 and 3 sigma lines.
Work is staged in separate ``with_columns`` so each window aggregate is computed once.
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

#: every limit is computed within one phase of one series: ``_g`` is an integer id of
#: (series, phase), cheaper to partition on than the strings
PHASE = "_g"

#: the columns every chart ends with
LINES = ("centre", "lower", "upper", "lower_2s", "upper_2s", "lower_1s", "upper_1s")

#: Making Data Count / Wheeler: 3-sigma limits at 2.66 x mean moving range
XMR_3SIGMA = 2.66
#: d2 for n = 2: sigma = mean moving range / 1.128 (qicharts2 for Laney and t charts)
D2 = 1.128
#: moving ranges at or above 3.267 x the mean moving range are screened out (D4 for n = 2)
SCREEN = 3.267

BASE = pl.col("_base")          # point used for centre and limits


class Scale(NamedTuple):
    """How a chart's sigma lines are bounded and transformed back."""

    low: float | None = None     # clip limits below (p, u, c: 0)
    high: float | None = None    # clip limits above (p: 1)
    power: float | None = None   # raise lines to this power (t chart: 3.6)


def base_only(x: pl.Expr) -> pl.Expr:
    """``x`` on baseline points, null elsewhere (so aggregations skip the rest)."""
    return pl.when(BASE).then(x)


def per_phase(agg: pl.Expr) -> pl.Expr:
    """An aggregate of a phase's points broadcast to each of them."""
    return agg.over(PHASE)


def add_mean_moving_range(lf: pl.LazyFrame, x: pl.Expr, name: str) -> pl.LazyFrame:
    """Add ``name``: the mean moving range of ``x`` over the used points of each phase.

    MR_i = |x_i − x_(i−1)| between consecutive *used* points (excluded points are
    skipped, so their neighbours become adjacent). With screening (column
    ``screen_outliers``), MR_i ≥ 3.267 MR̄ are dropped and MR̄ recomputed.
    """
    g = pl.col(PHASE)
    # previous used point of the same phase: forward-fill values and their phase ids
    prev = base_only(x).forward_fill().shift(1)
    prev_g = base_only(g).forward_fill().shift(1)
    lf = lf.with_columns(_mr=base_only(pl.when(prev_g == g).then((x - prev).abs())))
    lf = lf.with_columns(_mr_all=per_phase(pl.col("_mr").mean()))
    mr = pl.col("_mr")
    screened = per_phase(pl.when(mr < SCREEN * pl.col("_mr_all")).then(mr).mean())
    return lf.with_columns(pl.when(pl.col("screen_outliers")).then(screened)
                           .otherwise(pl.col("_mr_all")).alias(name)).drop("_mr", "_mr_all")


def bands(lf: pl.LazyFrame, scale: Scale) -> pl.LazyFrame:
    """Lines at ``_mid`` ± 1, 2, 3 ``_sigma``, clipped and transformed per ``scale``."""
    mid, sigma = pl.col("_mid"), pl.col("_sigma")

    def line(e: pl.Expr) -> pl.Expr:
        if scale.low is not None:
            e = pl.when(e < scale.low).then(scale.low).otherwise(e)
        if scale.high is not None:
            e = pl.when(e > scale.high).then(scale.high).otherwise(e)
        return e.pow(scale.power) if scale.power is not None else e

    out = {}
    for k, suffix in ((3, ""), (2, "_2s"), (1, "_1s")):
        out[f"lower{suffix}"] = line(mid - k * sigma)
        out[f"upper{suffix}"] = line(mid + k * sigma)
    if scale.power is not None:
        out["centre"] = pl.col("centre").pow(scale.power)
    return lf.with_columns(**out).drop("_mid", "_sigma")
