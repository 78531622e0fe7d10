"""Shared pieces of the limit formulas: window keys, moving ranges, sigma bands."""

from __future__ import annotations

import polars as pl

#: every limit is computed within one phase of one series
PHASE = ["series", "phase"]

#: the columns every chart function returns
LINES = ("centre", "lower", "upper", "lower_2s", "upper_2s", "lower_1s", "upper_1s")

#: Making Data Count / Wheeler: 3-sigma limits at 2.66 x mean moving range
XMR_3SIGMA = 2.66
#: d2 for n = 2: sigma = mean moving range / 1.128 (qicharts2 for Laney and t charts)
D2 = 1.128
#: moving ranges at or above 3.267 x the mean moving range are screened out (D4 for n = 2)
SCREEN = 3.267

BASE = pl.col("_base")          # point used for centre and limits
SCREEN_ON = pl.col("screen_outliers")


def base_only(x: pl.Expr) -> pl.Expr:
    """``x`` on baseline points, null elsewhere (so aggregations skip the rest)."""
    return pl.when(BASE).then(x)


def mean_moving_range(x: pl.Expr) -> pl.Expr:
    """Mean moving range of ``x`` over the used points of a phase, screened when asked.

    MR_i = |x_i - x_(i-1)| between consecutive *used* points (excluded points are
    skipped, so their neighbours become adjacent). With screening, MR_i >= 3.267 MR̄
    are dropped and MR̄ recomputed; the mean of x is not affected.
    """
    used = base_only(x)
    prev = used.forward_fill().shift(1).over(PHASE)
    mr = base_only((x - prev).abs())
    mr_bar = mr.mean().over(PHASE)
    screened = pl.when(mr < SCREEN * mr_bar).then(mr).mean().over(PHASE)
    return pl.when(SCREEN_ON).then(screened).otherwise(mr_bar)


def bands(centre: pl.Expr, mid: pl.Expr, sigma: pl.Expr, *, low: float | None = None,
          high: float | None = None) -> dict[str, pl.Expr]:
    """Centre plus 1, 2 and 3 sigma lines around ``mid``, clipped to [low, high]."""

    def clip(e: pl.Expr) -> pl.Expr:
        if low is not None:
            e = pl.max_horizontal(e, pl.lit(low))
        if high is not None:
            e = pl.min_horizontal(e, pl.lit(high))
        # max_horizontal ignores nulls; keep a null limit null
        return pl.when(sigma.is_null()).then(None).otherwise(e)

    out = {"centre": centre}
    for k, suffix in ((3, ""), (2, "_2s"), (1, "_1s")):
        out[f"lower{suffix}"] = clip(mid - k * sigma)
        out[f"upper{suffix}"] = clip(mid + k * sigma)
    return out
