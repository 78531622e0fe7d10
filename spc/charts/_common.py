"""Shared pieces of the limit formulas: window key, moving ranges, sigma bands.

A chart function takes a lazy frame (rows sorted by series and period, columns
``_g``, ``value``, ``numerator``, ``denominator``, ``_base``, ``screen_outliers``)
and adds three columns: ``centre`` (the line drawn), ``_mid`` (the middle of the
limits) and ``_sigma``; :func:`bands` then turns them into 1, 2 and 3 sigma lines.
Work is staged in separate ``with_columns`` so each window aggregate is computed once.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import polars as pl

#: every limit is computed within one phase of one series: ``_g`` is an integer id of
#: (series, phase), cheaper to partition on than the strings
PHASE = "_g"
#: run segment id: a phase cut at every gap of missing periods (``_r``; the phase itself when
#: gaps are not broken). Moving ranges are taken only within a segment.
SEGMENT = "_r"

#: the columns every chart ends with
LINES = ("centre", "lower", "upper", "lower_2s", "upper_2s", "lower_1s", "upper_1s")

#: Making Data Count / Wheeler: 3-sigma limits at 2.66 x mean moving range
XMR_3SIGMA = 2.66
#: d2 for n = 2: sigma = mean moving range / 1.128 (qicharts2 for Laney and t charts)
D2 = 1.128
#: multiply by this rather than divide by D2: polars may turn a division by a constant
#: into a multiplication on some chunks and not others, which changes the last bit
PER_D2 = 1 / D2
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
    """An aggregate of a phase's points broadcast to each of them (order statistics only:
    use :func:`phase_sum` and :func:`phase_mean` for sums)."""
    return agg.over(PHASE)


def _segments(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start index and length of each run of equal ``g`` (phases are contiguous rows)."""
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if len(g) else np.zeros(0, int)
    return starts, np.diff(np.r_[starts, len(g)])


def _phase_sums(columns: list[pl.Series], *, mean: bool) -> pl.Series:
    x, g = columns
    nulls = x.null_count()
    values = (x.fill_null(0.0) if nulls else x).cast(pl.Float64).to_numpy()
    starts, lengths = _segments(g.to_numpy())
    if not len(values):
        return pl.Series([], dtype=pl.Float64)
    sums = np.add.reduceat(values, starts)
    if mean:
        if nulls:  # values per phase: the non-null rows between its edges
            at = np.searchsorted(np.flatnonzero(x.is_not_null().to_numpy()),
                                 np.r_[starts, len(values)])
            counts = np.diff(at)
        else:
            counts = lengths
        with np.errstate(invalid="ignore", divide="ignore"):
            sums = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    out = pl.Series(np.repeat(sums, lengths))
    # NaN (no values, or 0/0) is no line: null; looked for among the phases, not the rows
    return out.fill_nan(None) if np.isnan(sums).any() else out


def phase_sum(x: pl.Expr) -> pl.Expr:
    """Σ x (nulls skipped) over each phase, broadcast to its points.

    Why not ``x.sum().over(...)``: polars' float sums vary in the last bit with memory
    alignment, so a series could get different limits depending on what else was
    analysed with it, or from one run to the next. NumPy's ``add.reduceat`` sums each
    phase the same way wherever it lies (rows of a phase are contiguous).
    """
    return pl.map_batches([x, pl.col(PHASE)], lambda c: _phase_sums(c, mean=False),
                          return_dtype=pl.Float64)


def phase_mean(x: pl.Expr) -> pl.Expr:
    """Mean of the non-null x of each phase (null when there are none), as :func:`phase_sum`."""
    return pl.map_batches([x, pl.col(PHASE)], lambda c: _phase_sums(c, mean=True),
                          return_dtype=pl.Float64)


def add_mean_moving_range(lf: pl.LazyFrame, x: pl.Expr, name: str) -> pl.LazyFrame:
    """Add ``name``: the mean moving range of ``x`` over the used points of each phase.

    MR_i = |x_i − x_(i−1)| between consecutive *used* points of one run segment (excluded
    points are skipped, so their neighbours become adjacent; a range across a gap of missing
    periods is dropped, see :data:`SEGMENT`). With screening (column
    ``screen_outliers``), MR_i ≥ 3.267 MR̄ are dropped and MR̄ recomputed.
    """
    r = pl.col(SEGMENT)
    # previous used point of the same run segment: forward-fill values and their segment ids
    # (a range across a gap in the periods is not a period-to-period difference: dropped)
    prev = base_only(x).forward_fill().shift(1)
    prev_r = base_only(r).forward_fill().shift(1)
    lf = lf.with_columns(_mr=base_only(pl.when(prev_r == r).then((x - prev).abs())))
    lf = lf.with_columns(_mr_all=phase_mean(pl.col("_mr")))
    mr = pl.col("_mr")
    screened = phase_mean(pl.when(mr < SCREEN * pl.col("_mr_all")).then(mr))
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
