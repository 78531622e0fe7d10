"""Anhøj runs analysis per (series, phase): longest run and number of crossings.

Only useful points count: used (not excluded) points off the centre line. The
signal is a longest run > round(log2 n) + 3 or crossings < qbinom(0.05, n − 1, 0.5),
with n the number of useful points (Anhøj & Olesen 2014; qicharts2).

A gap of missing periods cuts a phase into run segments (``_r``): a run ends at a gap and
the step across a gap is no crossing (nor a chance to cross). So, with k segments holding
useful points, crossings are counted within segments and compared with
qbinom(0.05, n − k, 0.5), n − k being the number of adjacent pairs that could cross; the
longest-run limit keeps n, the phase's useful points (runs cut by gaps are shorter, so the
limit stays conservative). Without gaps k = 1 and both are the published rules.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import polars as pl

from spc.rules._runs import prev, run_length

PHASE = "_g"  # integer id of (series, phase)
SEGMENT = "_r"  # integer id of a run segment: (series, phase) cut at gaps in the periods


#: phases with more adjacent pairs than this take qbinom from scipy: the exact integer sum
#: below costs O(pairs²) bit operations, trivial up to here (a phase of 40 years of weeks)
EXACT_PAIRS_MAX = 5_000


@functools.lru_cache(maxsize=None)
def _qbinom_05_half(pairs: int) -> int:
    """qbinom(0.05, pairs, 0.5): the smallest k with P(X ≤ k) ≥ 0.05, X ~ Binomial(pairs, ½).

    Exact in integers: P(X ≤ k) ≥ 1/20 ⇔ 20 · Σ_{i≤k} C(pairs, i) ≥ 2^pairs (no rounding at
    the boundary, and no scipy import, which costs the command line about half a second).
    """
    total, term, target = 0, 1, 2 ** pairs
    for k in range(pairs + 1):
        total += term
        if 20 * total >= target:
            return k
        term = term * (pairs - k) // (k + 1)  # C(pairs, k + 1), exact
    return pairs


def thresholds(n: np.ndarray, pairs: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """(longest_run_max, crossings_min) for each count of useful points ``n`` (n >= 1) and
    of adjacent pairs that could cross, ``pairs`` (default n − 1: no gaps).

    np.round rounds half to even, as R's round(); crossings_min is R's qbinom(0.05, pairs,
    0.5), computed exactly once per distinct ``pairs`` (scipy's binom.ppf beyond
    ``EXACT_PAIRS_MAX``).
    """
    n = np.asarray(n, dtype=np.int64)
    pairs = n - 1 if pairs is None else np.asarray(pairs, dtype=np.int64)
    longest = np.round(np.log2(n)) + 3
    distinct, inverse = np.unique(pairs, return_inverse=True)
    small = distinct <= EXACT_PAIRS_MAX
    table = np.zeros(len(distinct), dtype=np.int64)
    table[small] = [_qbinom_05_half(int(p)) for p in distinct[small]]
    if not small.all():
        from scipy.stats import binom  # only for very long phases: scipy is slow to import
        table[~small] = binom.ppf(0.05, distinct[~small], 0.5).astype(np.int64)
    return longest.astype(np.int64), table[inverse.reshape(pairs.shape)]


def runs_analysis(points: pl.DataFrame) -> pl.DataFrame:
    """One row per phase id ``_g`` that has useful points, with runs_signal, longest_run,
    longest_run_max, crossings, crossings_min and n_useful; ``points`` needs _g, _r (run
    segment), excluded, value and centre, sorted by series and period."""
    side = (pl.col("value") - pl.col("centre")).sign()
    useful = (points.lazy().filter(~pl.col("excluded") & (side != 0))
              .select(PHASE, SEGMENT, side.alias("_side")))
    # rows of a segment stay adjacent after the filter: runs are stretches of equal side;
    # a segment's first run starts there without crossing anything
    s, r = pl.col("_side"), pl.col(SEGMENT)
    first_in_segment = (r != r.shift(1)).fill_null(True)
    per_phase = (useful.with_columns(_len=run_length(s), _start=(s != prev(s)).fill_null(True),
                                     _seg_start=first_in_segment)
                 .group_by(PHASE).agg(
                     longest_run=pl.col("_len").max().cast(pl.Int64),
                     crossings=(pl.col("_start").sum() - pl.col("_seg_start").sum())
                     .cast(pl.Int64),
                     n_useful=pl.len().cast(pl.Int64),
                     _pairs=(pl.len() - pl.col("_seg_start").sum()).cast(pl.Int64)))
    # phases without a useful point are absent here; the caller fills them with zeros
    per_phase = per_phase.collect()
    # the thresholds depend only on (n, pairs): compute them once per distinct pair, then join
    keys = per_phase.select("n_useful", "_pairs").unique().filter(pl.col("n_useful") >= 1)
    longest, crossings = thresholds(keys["n_useful"].to_numpy(), keys["_pairs"].to_numpy())
    lookup = keys.with_columns(longest_run_max=pl.Series(longest, dtype=pl.Int64),
                               crossings_min=pl.Series(crossings, dtype=pl.Int64))
    return per_phase.join(lookup, on=["n_useful", "_pairs"], how="left",
                          maintain_order="left").drop("_pairs").with_columns(
        runs_signal=((pl.col("longest_run") > pl.col("longest_run_max"))
                     | (pl.col("crossings") < pl.col("crossings_min"))).fill_null(False))
