"""XmR (individuals) chart, as Making Data Count."""

from __future__ import annotations

import numpy as np
import polars as pl

from spc.charts._common import (BASE, LINES, PHASE, SEGMENT, XMR_3SIGMA, Scale,
                                add_mean_moving_range, base_only, phase_mean,
                                phase_moving_ranges)

SCALE = Scale()


def xmr(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Individuals chart with moving-range limits (Wheeler; Making Data Count).

    CL = x̄ (mean of the used points), MR̄ = mean |x_i − x_(i−1)| (screened),
    limits CL ± 2.66 MR̄, 2σ at CL ± 1.7733 MR̄, 1σ at CL ± 0.8867 MR̄.
    """
    x = pl.col("value")
    lf = add_mean_moving_range(lf.with_columns(centre=phase_mean(base_only(x))), x, "_mrbar")
    return lf.with_columns(_mid=pl.col("centre"),
                           _sigma=pl.col("_mrbar") * (XMR_3SIGMA / 3)).drop("_mrbar")


def _lines_per_phase(columns: list[pl.Series]) -> pl.Series:
    """The seven lines of :func:`xmr` and :func:`spc.charts._common.bands` as a struct: each
    phase's centre and MR̄ (the same sums as :func:`phase_mean` and
    :func:`add_mean_moving_range`), its lines worked out once per phase by the same arithmetic
    and spread over its rows (every line of a phase is one number)."""
    fields = pl.Struct({c: pl.Float64 for c in LINES})
    if len(columns[0]) == 0:
        return pl.Series("_xmr", [], dtype=fields)
    mrbar, starts, lengths, values = phase_moving_ranges(columns)
    x, base = columns[0], columns[1].to_numpy()
    counted = base & x.is_not_null().to_numpy() if x.null_count() else base
    # phase_mean(base_only(x)): the sum of the counted values (others 0) over their count
    sums = np.add.reduceat(np.where(counted, values, 0.0) if not counted.all() else values,
                           starts)
    counts = lengths - np.diff(np.searchsorted(np.flatnonzero(~counted),
                                               np.r_[starts, len(values)]))
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    sigma = mrbar * (XMR_3SIGMA / 3)
    per_phase = {"centre": centre}
    for k, suffix in ((3, ""), (2, "_2s"), (1, "_1s")):
        per_phase[f"lower{suffix}"] = centre - k * sigma
        per_phase[f"upper{suffix}"] = centre + k * sigma
    out = pl.DataFrame({c: np.repeat(per_phase[c], lengths) for c in LINES})
    # NaN (no used points or no ranges) is no line: null, as the polars form gave
    out = out.with_columns(pl.col(c).fill_nan(None) for c in LINES if np.isnan(per_phase[c]).any())
    return out.to_struct("_xmr")


def xmr_lines(lf: pl.LazyFrame) -> pl.LazyFrame:
    """``bands(xmr(lf), SCALE)`` with every line computed once per phase: centre, limits, 2σ
    and 1σ lines, the columns and bits of the polars form (tests/test_engine_moving_range.py)
    for a fraction of the passes over the rows."""
    return lf.with_columns(pl.map_batches(
        [pl.col("value"), BASE, pl.col(SEGMENT), pl.col(PHASE), pl.col("screen_outliers")],
        _lines_per_phase, return_dtype=pl.Struct({c: pl.Float64 for c in LINES})).alias("_xmr")
    ).unnest("_xmr")


#: the moving range chart's upper range limit: D4 × MR̄ for ranges of two (Wheeler prints 3.268)
URL_FACTOR = 3.267


def moving_ranges(points: pl.DataFrame) -> pl.DataFrame:
    """The moving range chart of XmR results (``spc.engine`` points, or stored result points).

    ``points`` needs period, value, phase, excluded, centre, upper and gap_before (series
    optional: ranges never join two series). Adds ``moving_range`` = |x_i − x_(i−1)| between
    consecutive used points of a phase, null for a phase's first used point, an excluded
    point, and the first point after a gap of missing periods (the engine leaves those ranges
    out of MR̄ too); ``mr_bar``, the average moving range the point's limits were built from
    ((upper − centre) / 2.66, so screened when screening is on); ``mr_upper`` = 3.267 × mr_bar;
    and ``mr_above``, a moving range above it. Sorted by series and period.
    """
    keys = ["series"] if "series" in points.columns else []
    pts = points.sort(*keys, "period")
    new_series = (pl.col("series") != pl.col("series").shift(1)).fill_null(True) if keys \
        else pl.int_range(pl.len()) == 0
    phase_start = (pl.col("phase") != pl.col("phase").shift(1)).fill_null(True)
    seg = (new_series | phase_start | (pl.col("gap_before") > 0)).cum_sum()
    used = ~pl.col("excluded")
    pts = pts.with_columns(_seg=seg)
    prev = pl.when(used).then(pl.col("value")).forward_fill().shift(1)
    prev_seg = pl.when(used).then(pl.col("_seg")).forward_fill().shift(1)
    mr_bar = (pl.col("upper") - pl.col("centre")) / XMR_3SIGMA
    return pts.with_columns(
        moving_range=pl.when(used & (prev_seg == pl.col("_seg"))).then((pl.col("value") - prev).abs()),
        mr_bar=mr_bar, mr_upper=mr_bar * URL_FACTOR,
    ).with_columns(mr_above=(pl.col("moving_range") > pl.col("mr_upper")).fill_null(False)).drop("_seg")
