"""Run-length helpers: consecutive equal values found with a cumulative sum of changes."""

from __future__ import annotations

import polars as pl

#: pattern rules look at the used points of one phase; excluded points form their own
#: window (so their neighbours are adjacent) and are masked out afterwards
WINDOW = ["series", "phase", "excluded"]


def prev(x: pl.Expr, k: int = 1) -> pl.Expr:
    """``x`` k points earlier in the same window (null before the start; k < 0 looks ahead)."""
    return x.shift(k).over(WINDOW)


def run_id(x: pl.Expr) -> pl.Expr:
    """A number that changes whenever ``x`` changes from one point to the next."""
    return (x != prev(x)).fill_null(True).cum_sum().over(WINDOW)


def add_run_lengths(lf: pl.LazyFrame, columns: dict[str, str]) -> pl.LazyFrame:
    """For each ``{source: target}``, add ``target``: the length of the run of equal
    consecutive ``source`` values that the point belongs to."""
    lf = lf.with_columns(run_id(pl.col(src)).alias(f"_id{dst}") for src, dst in columns.items())
    lf = lf.with_columns(pl.len().over([*WINDOW, f"_id{dst}"]).alias(dst)
                         for dst in columns.values())
    return lf.drop([f"_id{dst}" for dst in columns.values()])


def count_in_windows(flag: pl.Expr, width: int) -> list[pl.Expr]:
    """For each window of ``width`` consecutive points containing this point, how many
    points of it have ``flag`` (null when the window runs past the phase's ends)."""
    out = []
    for end in range(width):  # window ends `end` points after this one
        members = [prev(flag.cast(pl.Int16), k - end) for k in range(width)]
        out.append(pl.sum_horizontal(members) + pl.when(
            pl.any_horizontal([m.is_null() for m in members])).then(None).otherwise(0))
    return out
