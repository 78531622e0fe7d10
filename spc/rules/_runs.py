"""Run-length helpers over contiguous windows, with shifts and running counts only.

The engine keeps every frame sorted by series and period, so the points of one
window (``_r``: one run segment, the stretch of one phase of one series between gaps in
the periods) are adjacent rows. A value k points back is a
plain shift, nulled where it crosses into another window; a run is found with a
cumulative sum of changes. This avoids ``.over()`` partitioning, which dominates
the cost on a hundred thousand series.
"""

from __future__ import annotations

import numpy as np
import polars as pl

#: window id: one run segment, i.e. one phase of one series cut at every gap of one or more
#: missing periods (rows contiguous; equal to the phase when gaps are not broken). Pattern
#: rules are computed on the used points only (the engine passes excluded points
#: separately), so the neighbours of an excluded point are adjacent.
WINDOW = "_r"
_W = pl.col(WINDOW)


def prev(x: pl.Expr, k: int = 1) -> pl.Expr:
    """``x`` k rows earlier in the same window (k < 0 looks ahead); null across a window edge."""
    return pl.when(_W.shift(k) == _W).then(x.shift(k))


def _lengths(breaks: pl.Series) -> pl.Series:
    """Run length at every row, from a boolean column true at the first row of each run."""
    first = breaks.to_numpy()
    starts = np.flatnonzero(first)
    lengths = np.diff(np.r_[starts, len(first)]).astype(np.int64)
    return pl.Series(np.repeat(lengths, lengths), dtype=pl.Int64)


def run_length(x: pl.Expr) -> pl.Expr:
    """Length of the run of equal consecutive ``x`` (within a window) each point belongs to.

    A run starts where ``x`` differs from the row before in the same window (or either is
    null); the lengths of the runs are then repeated over their rows in NumPy, one pass,
    where forward and backward fills of row numbers took ten times as long.
    """
    return (x != prev(x)).fill_null(True).map_batches(_lengths, return_dtype=pl.Int64)
