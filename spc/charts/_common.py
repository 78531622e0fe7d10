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


def _last_before(flags: np.ndarray) -> np.ndarray:
    """For each row, the last earlier row where ``flags`` holds (−1 when none): a forward
    fill of row numbers, shifted one row."""
    out = np.empty(len(flags), dtype=np.int64)
    out[0] = -1
    np.maximum.accumulate(np.where(flags[:-1], np.arange(len(flags) - 1), -1), out=out[1:])
    return out


def _group_means(x: np.ndarray, has: np.ndarray, starts: np.ndarray, lengths: np.ndarray
                 ) -> np.ndarray:
    """Mean of ``x`` over the rows where ``has`` holds in each group (NaN when a group has
    none), ``x`` being 0 elsewhere: the sums and counts of :func:`_phase_sums` on the same
    values. Counts are lengths less the rows without (few: a phase's first row, excluded
    points, screened ranges)."""
    sums = np.add.reduceat(x, starts)
    counts = lengths - np.diff(np.searchsorted(np.flatnonzero(~has), np.r_[starts, len(x)]))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def phase_moving_ranges(columns: list[pl.Series]
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(MR̄ per phase, NaN where there is none; first row and length of each phase; values as
    floats) from the columns x, _base, run segment, phase and screen_outliers: see
    :func:`add_mean_moving_range`."""
    x, base, segment, phase, screen = columns
    n = len(x)
    values = x.cast(pl.Float64).to_numpy()
    used = base.to_numpy()
    has_x = used & x.is_not_null().to_numpy() if x.null_count() else used
    r = segment.to_numpy()
    mr = np.empty(n)
    if has_x.all():  # every point used: the previous used point is the row before
        has = np.empty(n, dtype=bool)
        has[0] = False
        np.equal(r[1:], r[:-1], out=has[1:])
        np.subtract(values[1:], values[:-1], out=mr[1:])
    else:  # the previous used point's value and run segment (forward fills of row numbers)
        prev = _last_before(has_x)
        prev_r = prev if has_x is used else _last_before(used)
        has = has_x & (prev >= 0) & (prev_r >= 0)
        has[has] = r[prev_r[has]] == r[has]
        np.subtract(values, values[np.maximum(prev, 0)], out=mr)
    np.abs(mr, out=mr)
    mr[~has] = 0.0  # the rows without a range add nothing (polars' null filled with 0)
    starts, lengths = _segments(phase.to_numpy())
    means = _group_means(mr, has, starts, lengths)
    screening = screen.to_numpy()
    if screening.any():
        kept = has & (mr < np.repeat(SCREEN * means, lengths))
        screened = _group_means(np.where(kept, mr, 0.0), kept, starts, lengths)
        means = screened if screening.all() else np.where(screening[starts], screened, means)
    return means, starts, lengths, values


def _mean_moving_range(columns: list[pl.Series]) -> pl.Series:
    if len(columns[0]) == 0:
        return pl.Series([], dtype=pl.Float64)
    means, _, lengths, _ = phase_moving_ranges(columns)
    out = pl.Series(np.repeat(means, lengths))
    # NaN (no ranges, or ranges that are not numbers) is no line: null
    return out.fill_nan(None) if np.isnan(means).any() else out


def add_mean_moving_range(lf: pl.LazyFrame, x: pl.Expr, name: str) -> pl.LazyFrame:
    """Add ``name``: the mean moving range of ``x`` over the used points of each phase.

    MR_i = |x_i − x_(i−1)| between consecutive *used* points of one run segment (excluded
    points are skipped, so their neighbours become adjacent; a range across a gap of missing
    periods is dropped, see :data:`SEGMENT`). With screening (column
    ``screen_outliers``), MR_i ≥ 3.267 MR̄ are dropped and MR̄ recomputed.

    In NumPy over whole columns (previous used point by a running maximum of row numbers,
    sums per phase with ``add.reduceat`` as :func:`phase_mean`): the same sums on the same
    values as the polars form (forward fills, three phase means) at a third of the cost.
    """
    return lf.with_columns(pl.map_batches(
        [x, BASE, pl.col(SEGMENT), pl.col(PHASE), pl.col("screen_outliers")],
        _mean_moving_range, return_dtype=pl.Float64).alias(name))


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
