"""Making Data Count rules for XmR charts (NHSRplotthedots vocabulary).

Each rule returns a signed integer expression per point: +1 (high / increasing),
-1 (low / decreasing) or 0 (not part of the pattern). Patterns never cross a
phase and skip excluded points.
"""

from __future__ import annotations

import polars as pl

from spc.rules._runs import WINDOW, prev, run_length

VALUE = pl.col("value")
CENTRE = pl.col("centre")


def beyond_limits() -> pl.Expr:
    """+1 above the upper limit, -1 below the lower limit (excluded points too)."""
    return (pl.when(VALUE > pl.col("upper")).then(1)
            .when(VALUE < pl.col("lower")).then(-1).otherwise(0))


def side() -> pl.Expr:
    """Side of the centre line: +1 above, -1 below, 0 on it (a point on the mean breaks a shift)."""
    return (VALUE - CENTRE).sign().fill_null(0).cast(pl.Int8)


def shift(length: pl.Expr) -> pl.Expr:
    """``length`` or more consecutive points on one side of the centre line."""
    s = side()
    return pl.when((s != 0) & (run_length(s) >= length)).then(s).otherwise(0)


def trend(length: pl.Expr) -> pl.Expr:
    """``length`` or more consecutive points each above (below) the one before; a tie breaks it.

    A trend of n points is n - 1 consecutive steps in one direction; every point
    of it is flagged, including the first (whose own step does not belong to it).
    """
    step = (VALUE - prev(VALUE)).sign().fill_null(0).cast(pl.Int8)
    in_steps = (step != 0) & (run_length(step) >= length - 1)
    own = pl.when(in_steps).then(step).otherwise(0)
    nxt = own.shift(-1).over(WINDOW).fill_null(0)
    return pl.when(own != 0).then(own).otherwise(nxt)


def two_in_three(legacy: pl.Expr) -> pl.Expr:
    """2 of 3 consecutive points beyond 2σ on the same side; the points beyond 2σ are flagged.

    current (MDC, Nov 2023): points beyond 3σ count too, and all three points of the
    window must be on the same side of the centre line. legacy (NHSRplotthedots
    0.2.2): only points between 2σ and 3σ count.
    """
    s = side()
    high = (VALUE > pl.col("upper_2s")) & (~legacy | (VALUE <= pl.col("upper")))
    low = (VALUE < pl.col("lower_2s")) & (~legacy | (VALUE >= pl.col("lower")))
    out = pl.lit(0, dtype=pl.Int8)
    for flag, sign in ((high, 1), (low, -1)):
        f = flag.fill_null(False)
        same = s == sign

        def window_ok(lag: int) -> pl.Expr:
            # window of three points ending `lag` points after this one
            pts = [f.shift(k - lag).over(WINDOW) for k in range(3)]
            sides = [same.shift(k - lag).over(WINDOW) for k in range(3)]
            enough = pl.sum_horizontal([x.fill_null(False).cast(pl.Int8) for x in pts]) >= 2
            full = pl.all_horizontal([x.is_not_null() for x in sides])
            one_side = pl.all_horizontal([x.fill_null(False) for x in sides])
            return enough & full & (legacy | one_side)

        hit = f & (window_ok(0) | window_ok(1) | window_ok(2))
        out = pl.when(hit).then(sign).otherwise(out)
    return out


def label(shift_len: pl.Expr, trend_len: pl.Expr, legacy: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(rule label, direction) of each point, by precedence beyond limit, trend, 2 of 3, shift.

    direction is +1 (high / increasing), -1 (low / decreasing) or 0 (common cause).
    """
    out, tr, two, sh = beyond_limits(), trend(trend_len), two_in_three(legacy), shift(shift_len)
    used = ~pl.col("excluded")  # patterns are found among used points only
    tr, two, sh = (pl.when(used).then(e).otherwise(0) for e in (tr, two, sh))
    n_shift, n_trend = shift_len.cast(pl.String), trend_len.cast(pl.String)
    rule = (pl.when(out == 1).then(pl.lit("Above UCL"))
            .when(out == -1).then(pl.lit("Below LCL"))
            .when(tr == 1).then(pl.format("{} Point Trend (Increasing)", n_trend))
            .when(tr == -1).then(pl.format("{} Point Trend (Decreasing)", n_trend))
            .when(two == 1).then(pl.lit("2 in 3 Above CL"))
            .when(two == -1).then(pl.lit("2 in 3 Below CL"))
            .when(sh == 1).then(pl.format("{} Points Above CL", n_shift))
            .when(sh == -1).then(pl.format("{} Points Below CL", n_shift))
            .otherwise(pl.lit("Common Cause")))
    direction = (pl.when(out != 0).then(out).when(tr != 0).then(tr)
                 .when(two != 0).then(two).otherwise(sh))
    return rule, direction
