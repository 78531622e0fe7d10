"""Anhøj runs analysis per (series, phase): longest run and number of crossings.

Only useful points count: used (not excluded) points off the centre line. The
signal is a longest run > round(log2 n) + 3 or crossings < qbinom(0.05, n − 1, 0.5),
with n the number of useful points (Anhøj & Olesen 2014; qicharts2).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from spc.rules._runs import prev, run_length

PHASE = "_g"  # integer id of (series, phase)


def thresholds(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(longest_run_max, crossings_min) for each count of useful points ``n`` (n >= 1).

    np.round rounds half to even, as R's round(); binom.ppf is R's qbinom.
    """
    from scipy.stats import binom  # imported here: scipy is slow to import for the CLI

    n = np.asarray(n, dtype=np.int64)
    longest = np.round(np.log2(n)) + 3
    crossings = binom.ppf(0.05, n - 1, 0.5)
    return longest.astype(np.int64), crossings.astype(np.int64)


def runs_analysis(points: pl.DataFrame) -> pl.DataFrame:
    """One row per phase id ``_g`` that has useful points, with runs_signal, longest_run,
    longest_run_max, crossings, crossings_min and n_useful; ``points`` needs _g,
    excluded, value and centre, sorted by series and period."""
    side = (pl.col("value") - pl.col("centre")).sign()
    useful = (points.lazy().filter(~pl.col("excluded") & (side != 0))
              .select(PHASE, side.alias("_side")))
    # rows of a phase stay adjacent after the filter: runs are stretches of equal side
    s = pl.col("_side")
    per_phase = (useful.with_columns(_len=run_length(s), _start=(s != prev(s)).fill_null(True))
                 .group_by(PHASE).agg(
                     longest_run=pl.col("_len").max().cast(pl.Int64),
                     crossings=(pl.col("_start").sum() - 1).cast(pl.Int64),
                     n_useful=pl.len().cast(pl.Int64)))
    # phases without a useful point are absent here; the caller fills them with zeros
    per_phase = per_phase.collect()
    # the thresholds depend only on n: compute them once per distinct n, then join
    n = per_phase["n_useful"].unique().to_numpy()
    n = n[n >= 1]
    longest, crossings = thresholds(n)
    lookup = pl.DataFrame({"n_useful": pl.Series(n, dtype=pl.Int64),
                           "longest_run_max": pl.Series(longest, dtype=pl.Int64),
                           "crossings_min": pl.Series(crossings, dtype=pl.Int64)})
    return per_phase.join(lookup, on="n_useful", how="left", maintain_order="left").with_columns(
        runs_signal=((pl.col("longest_run") > pl.col("longest_run_max"))
                     | (pl.col("crossings") < pl.col("crossings_min"))).fill_null(False))
