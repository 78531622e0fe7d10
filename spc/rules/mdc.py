"""Making Data Count rules for XmR charts (NHSRplotthedots vocabulary).

:func:`add_flags` adds one signed Int8 column per rule: +1 (high / increasing),
-1 (low / decreasing), 0 (not part of the pattern). Patterns never cross a
phase and skip excluded points (an excluded point is only judged against the limits).
"""

from __future__ import annotations

import polars as pl

from spc.rules._runs import add_run_lengths, count_in_windows, prev

VALUE = pl.col("value")
CENTRE = pl.col("centre")
USED = ~pl.col("excluded")


def beyond_limits() -> pl.Expr:
    """+1 above the upper limit, -1 below the lower limit (excluded points too)."""
    return (pl.when(VALUE > pl.col("upper")).then(1)
            .when(VALUE < pl.col("lower")).then(-1).otherwise(0)).cast(pl.Int8)


def side() -> pl.Expr:
    """Side of the centre line: +1 above, -1 below, 0 on it (a point on the mean breaks a shift)."""
    return (VALUE - CENTRE).sign().fill_null(0).cast(pl.Int8)


def step() -> pl.Expr:
    """Direction of the step from the previous used point: +1, -1, or 0 (a tie breaks a trend)."""
    return (VALUE - prev(VALUE)).sign().fill_null(0).cast(pl.Int8)


def beyond_two_sigma(sign: int, legacy: pl.Expr) -> pl.Expr:
    """Beyond 2σ on one side; ``legacy`` counts only points between 2σ and 3σ."""
    if sign > 0:
        hit = (VALUE > pl.col("upper_2s")) & (~legacy | (VALUE <= pl.col("upper")))
    else:
        hit = (VALUE < pl.col("lower_2s")) & (~legacy | (VALUE >= pl.col("lower")))
    return hit.fill_null(False)


def add_flags(lf: pl.LazyFrame, shift_len: pl.Expr, trend_len: pl.Expr,
              legacy: pl.Expr) -> pl.LazyFrame:
    """Add ``_beyond``, ``_trend``, ``_two`` and ``_shift`` rule columns.

    - shift: ``shift_len`` or more consecutive points on one side of the centre line;
    - trend: ``trend_len`` or more points each above (below) the one before, i.e.
      ``trend_len - 1`` steps in one direction; every point of it is flagged, the
      first one included;
    - 2 of 3: two of three consecutive points beyond 2σ on one side; the points
      beyond 2σ are flagged and all three points must lie on that side of the centre
      line. current (MDC, Nov 2023): points beyond 3σ count as beyond 2σ; legacy
      (NHSRplotthedots 0.2.2): only points between 2σ and 3σ count.
    """
    lf = lf.with_columns(_beyond=beyond_limits(), _side=side(), _step=step(),
                         _hi2=beyond_two_sigma(1, legacy), _lo2=beyond_two_sigma(-1, legacy))
    lf = add_run_lengths(lf, {"_side": "_side_len", "_step": "_step_len"})
    s, st = pl.col("_side"), pl.col("_step")
    own = pl.when((st != 0) & (pl.col("_step_len") >= trend_len - 1)).then(st).otherwise(0)
    lf = lf.with_columns(
        _shift=pl.when(USED & (s != 0) & (pl.col("_side_len") >= shift_len)).then(s).otherwise(0),
        _trend_own=own.cast(pl.Int8))
    two = pl.lit(0, dtype=pl.Int8)
    for col, sign in (("_lo2", -1), ("_hi2", 1)):
        counts = count_in_windows(pl.col(col), 3)
        sides = count_in_windows(s == sign, 3)
        ok = [(n >= 2) & (m == 3) for n, m in zip(counts, sides, strict=True)]
        two = pl.when(pl.col(col) & pl.any_horizontal(ok).fill_null(False)).then(sign).otherwise(two)
    nxt = prev(pl.col("_trend_own"), -1).fill_null(0)
    trend = pl.when(pl.col("_trend_own") != 0).then(pl.col("_trend_own")).otherwise(nxt)
    return lf.with_columns(
        _trend=pl.when(USED).then(trend).otherwise(0).cast(pl.Int8),
        _two=pl.when(USED).then(two).otherwise(0).cast(pl.Int8),
    ).drop("_side", "_step", "_hi2", "_lo2", "_side_len", "_step_len", "_trend_own")


def label(shift_len: pl.Expr, trend_len: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(rule label, direction) from the rule columns, by precedence beyond limit,
    trend, 2 of 3, shift; direction +1 high, -1 low, 0 common cause."""
    out, tr, two, sh = (pl.col(c) for c in ("_beyond", "_trend", "_two", "_shift"))
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
