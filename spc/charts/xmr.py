"""XmR (individuals) chart, as Making Data Count."""

from __future__ import annotations

import polars as pl

from spc.charts._common import XMR_3SIGMA, Scale, add_mean_moving_range, base_only, phase_mean

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
