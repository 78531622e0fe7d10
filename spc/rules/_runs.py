"""Run-length helpers over contiguous windows, with shifts and running counts only.

The engine keeps every frame sorted by series and period, so the points of one
window (``_r``: one run segment, the stretch of one phase of one series between gaps in
the periods) are adjacent rows. A value k points back is a
plain shift, nulled where it crosses into another window; a run is found with a
cumulative sum of changes. This avoids ``.over()`` partitioning, which dominates
the cost on a hundred thousand series.
"""

from __future__ import annotations

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


def run_length(x: pl.Expr) -> pl.Expr:
    """Length of the run of equal consecutive ``x`` (within a window) each point belongs to.

    Start and end row of each run come from forward / backward filling the row
    numbers of the run's first and last points.
    """
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    first = (x != prev(x)).fill_null(True)
    last = (x != prev(x, -1)).fill_null(True)
    start = pl.when(first).then(row).forward_fill()
    end = pl.when(last).then(row).backward_fill()
    return end - start + 1
