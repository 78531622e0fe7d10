"""Pattern building blocks shared by the Western Electric and Nelson rule sets.

Each returns a signed Int8 expression (+1 high / increasing, −1 low / decreasing,
±2 for patterns with no direction, signed by the point's side of the centre line,
0 none) over the used points of each phase (frame sorted, phases contiguous).
"""

from __future__ import annotations

import polars as pl

from spc.rules._runs import prev, run_length
from spc.rules.mdc import level

VALUE = pl.col("value")
CENTRE = pl.col("centre")


def side() -> pl.Expr:
    """+1 above the centre line, −1 below, 0 on it."""
    return (VALUE - CENTRE).sign().fill_nan(None).fill_null(0).cast(pl.Int8)


def neutral() -> pl.Expr:
    """±2: a pattern without a direction, signed by the point's side (+ on the line)."""
    return pl.when(side() < 0).then(-2).otherwise(2).cast(pl.Int8)


def beyond(line_hi: str, line_lo: str) -> pl.Expr:
    """+1 above ``line_hi``, −1 below ``line_lo``."""
    return (pl.when(VALUE > pl.col(line_hi)).then(1).when(VALUE < pl.col(line_lo)).then(-1)
            .otherwise(0).cast(pl.Int8))


def k_of_m(lf: pl.LazyFrame, line_hi: str, line_lo: str, k: int, m: int, name: str
           ) -> pl.LazyFrame:
    """Add ``name``: points beyond a line (one side) that are among ``k`` or more of
    ``m`` consecutive points beyond that line on the same side."""
    lf = lf.with_columns(_b=beyond(line_hi, line_lo))
    out = pl.lit(0, dtype=pl.Int8)
    for sign in (1, -1):
        f = (pl.col("_b") == sign).cast(pl.Int8)
        # windows of m points ending at each point (null when they leave the phase)
        ending = (pl.sum_horizontal([prev(f, j) for j in range(m)]) >= k) & \
            prev(f, m - 1).is_not_null()
        lf = lf.with_columns(ending.fill_null(False).alias(f"_e{sign}"))
        e = pl.col(f"_e{sign}")
        hit = pl.any_horizontal([prev(e, -j).fill_null(False) for j in range(m)])
        out = pl.when((pl.col("_b") == sign) & hit).then(sign).otherwise(out)
    return lf.with_columns(out.cast(pl.Int8).alias(name)).drop("_b", "_e1", "_e-1")


def run_of(condition: pl.Expr, n: int, sign: pl.Expr) -> pl.Expr:
    """``sign`` on points in a run of ``n`` or more consecutive points where ``condition`` holds."""
    c = condition.fill_null(False)
    return pl.when(c & (run_length(c) >= n)).then(sign).otherwise(0).cast(pl.Int8)


def one_side(n: int) -> pl.Expr:
    """``n`` or more consecutive points on one side of the centre line."""
    s = side()
    return pl.when((s != 0) & (run_length(s) >= n)).then(s).otherwise(0).cast(pl.Int8)


def add_trend(lf: pl.LazyFrame, n: int, name: str) -> pl.LazyFrame:
    """Add ``name``: ``n`` or more points each above (below) the one before (a tie breaks it)."""
    step = (level() - prev(level())).sign().fill_nan(None).fill_null(0).cast(pl.Int8)
    lf = lf.with_columns(_st=step)
    st = pl.col("_st")
    lf = lf.with_columns(_own=pl.when((st != 0) & (run_length(st) >= n - 1)).then(st)
                         .otherwise(0).cast(pl.Int8))
    own = pl.col("_own")
    return lf.with_columns(pl.when(own != 0).then(own).otherwise(prev(own, -1).fill_null(0))
                           .cast(pl.Int8).alias(name)).drop("_st", "_own")


def add_alternating(lf: pl.LazyFrame, n: int, name: str) -> pl.LazyFrame:
    """Add ``name``: ``n`` or more points in a row alternating up and down (no direction)."""
    step = (level() - prev(level())).sign().fill_nan(None).fill_null(0)
    lf = lf.with_columns(_st=step)
    st = pl.col("_st")
    # a link: this step and the one before go opposite ways (n points hold n − 2 links)
    lf = lf.with_columns(_link=((st != 0) & (st == -prev(st))).fill_null(False))
    link = pl.col("_link")
    lf = lf.with_columns(_q=link & (run_length(link) >= n - 2))
    q = pl.col("_q")
    covered = q | prev(q, -1).fill_null(False) | prev(q, -2).fill_null(False)
    return lf.with_columns(pl.when(covered).then(neutral()).otherwise(0).cast(pl.Int8)
                           .alias(name)).drop("_st", "_link", "_q")
