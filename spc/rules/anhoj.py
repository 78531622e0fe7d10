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

import numpy as np
import polars as pl


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
    g, counts = phase_runs(points)
    has = counts["n_useful"] > 0
    out = {"_g": g[has], **{k: v[has] for k, v in counts.items()}}
    return pl.DataFrame(out, schema={"_g": pl.Int64, **{k: pl.Int64 for k in counts}}).select(
        "_g", "longest_run", "crossings", "n_useful", "longest_run_max", "crossings_min",
    ).with_columns(runs_signal=(pl.col("longest_run") > pl.col("longest_run_max"))
                   | (pl.col("crossings") < pl.col("crossings_min")))


def phase_runs(points: pl.DataFrame, skip: np.ndarray | None = None
               ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(phase ids, columns) with one entry per phase ``_g`` of ``points`` in row order:
    n_useful, longest_run, crossings, longest_run_max and crossings_min (Int64 arrays; a
    phase without useful points has zeros there, and its thresholds mean nothing).

    ``skip`` marks rows that are never useful (EWMA and CUSUM points). Written over whole
    columns in NumPy: the useful points of a run segment are adjacent rows, so runs are
    stretches of equal side between segment edges, and a phase's figures are sums and maxima
    over its contiguous stretch of useful rows (``reduceat``).
    """
    g, r = points[PHASE].to_numpy(), points[SEGMENT].to_numpy()
    value, centre = points["value"].to_numpy(), points["centre"].to_numpy()
    # side of the centre line as Int8: +1, −1, or 0 on it (and for a null centre, NaN here)
    side = (value > centre).view(np.int8) - (value < centre).view(np.int8)
    n_rows = len(g)
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if n_rows else np.zeros(0, np.int64)
    useful = side != 0
    excluded = points["excluded"]
    if excluded.any():
        useful &= ~excluded.to_numpy()
    if skip is not None:
        useful &= ~skip
    if useful.all():  # the usual case: no point on the line, none excluded (no gathers)
        idx, ru, su, before = None, r, side, starts
        n_idx = n_rows
    else:
        idx = np.flatnonzero(useful)
        ru, su = r[idx], side[idx]
        # number of useful rows before each phase's first row: where its useful rows begin
        before = np.searchsorted(idx, starts)
        n_idx = len(idx)
    n_useful = np.diff(np.r_[before, n_idx])
    seg_start = np.r_[True, ru[1:] != ru[:-1]] if n_idx else np.zeros(0, bool)
    run_start = seg_start | (np.r_[True, su[1:] != su[:-1]] if n_idx else seg_start)
    run_first = np.flatnonzero(run_start)
    run_len = np.diff(np.r_[run_first, n_idx])
    has = n_useful > 0
    at = before[has]  # first useful row of each phase that has one (a run and segment start)
    longest = np.zeros(len(starts), np.int64)
    crossings = np.zeros(len(starts), np.int64)
    segments = np.zeros(len(starts), np.int64)
    if len(at):
        # a phase's first useful row starts a run: its index among the runs; runs and
        # segments per phase are counted between those edges
        edges = np.r_[at, n_idx]
        run_at = np.searchsorted(run_first, edges)
        longest[has] = np.maximum.reduceat(run_len, run_at[:-1])
        crossings[has] = np.diff(run_at)
        segments[has] = np.diff(np.searchsorted(np.flatnonzero(seg_start), edges))
    crossings -= segments
    longest_max, crossings_min = np.zeros(len(starts), np.int64), np.zeros(len(starts), np.int64)
    if has.any():
        longest_max[has], crossings_min[has] = thresholds(n_useful[has], n_useful[has] - segments[has])
    return g[starts].astype(np.int64), {
        "n_useful": n_useful.astype(np.int64), "longest_run": longest, "crossings": crossings,
        "longest_run_max": longest_max, "crossings_min": crossings_min}
