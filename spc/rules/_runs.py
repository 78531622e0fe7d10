"""Run-length helpers: consecutive equal values found with a cumulative sum of changes."""

from __future__ import annotations

import polars as pl

#: pattern rules look at the used points of one phase; excluded points form their own
#: window (so their neighbours are adjacent) and are masked out afterwards
WINDOW = ["series", "phase", "excluded"]


def prev(x: pl.Expr, k: int = 1) -> pl.Expr:
    """``x`` k points earlier in the same window (null before the start)."""
    return x.shift(k).over(WINDOW)


def run_length(x: pl.Expr) -> pl.Expr:
    """Length of the run of equal consecutive ``x`` that each point belongs to."""
    run_id = (x != prev(x)).fill_null(True).cum_sum().over(WINDOW)
    return pl.len().over([*WINDOW, run_id])


def in_run(flag: pl.Expr, length: pl.Expr | int, direction: pl.Expr) -> pl.Expr:
    """True where ``flag`` holds and the run of equal ``direction`` is at least ``length`` long."""
    return flag & (run_length(direction) >= length)
