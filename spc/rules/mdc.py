"""Making Data Count rules for XmR charts (NHSRplotthedots vocabulary).

:func:`add_flags` adds one signed Int8 column per rule: +1 (high / increasing),
-1 (low / decreasing), 0 (not part of the pattern). Patterns never cross a
phase and skip excluded points: the engine passes the used points and the excluded ones
as separate frames, and an excluded point is only judged against the limits.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from spc.rules._runs import prev, run_length

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


def level() -> pl.Expr:
    """What trends are read from: the value, or with limits per calendar month its distance from
    its month's centre (a seasonal rise from trough to peak is not a trend). Within a phase
    the centre is otherwise constant, so the plain value gives the same steps."""
    return pl.when(pl.col("seasonal_limits")).then(VALUE - CENTRE).otherwise(VALUE)


def step() -> pl.Expr:
    """Direction of the step from the previous used point: +1, -1, or 0 (a tie breaks a trend)."""
    return (level() - prev(level())).sign().fill_null(0).cast(pl.Int8)


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
    s, st = pl.col("_side"), pl.col("_step")

    def two_of_three_ending_here(flag: str, sign: int) -> pl.Expr:
        # the three points ending here lie on one side, and two or more are beyond 2σ
        f = pl.col(flag).cast(pl.Int8)
        one_side = (s == sign) & (prev(s) == sign) & (prev(s, 2) == sign)
        return (one_side & (f + prev(f) + prev(f, 2) >= 2)).fill_null(False)

    lf = lf.with_columns(_side_len=run_length(s), _step_len=run_length(st),
                         _w_hi=two_of_three_ending_here("_hi2", 1),
                         _w_lo=two_of_three_ending_here("_lo2", -1))

    def in_window(flag: str, window: str) -> pl.Expr:
        # a flagged point inside a qualifying window ending here or up to 2 points later
        w = pl.col(window)
        return pl.col(flag) & (w | prev(w, -1).fill_null(False) | prev(w, -2).fill_null(False))

    own = pl.when((st != 0) & (pl.col("_step_len") >= trend_len - 1)).then(st).otherwise(0)
    lf = lf.with_columns(
        _shift=pl.when((s != 0) & (pl.col("_side_len") >= shift_len)).then(s).otherwise(0)
        .cast(pl.Int8),
        _trend_own=own.cast(pl.Int8),
        _two=pl.when(in_window("_hi2", "_w_hi")).then(1)
        .when(in_window("_lo2", "_w_lo")).then(-1).otherwise(0).cast(pl.Int8))
    nxt = prev(pl.col("_trend_own"), -1).fill_null(0)
    trend = pl.when(pl.col("_trend_own") != 0).then(pl.col("_trend_own")).otherwise(nxt)
    # patterns are found among used points only
    return lf.with_columns(
        pl.when(USED).then(pl.col(c)).otherwise(0).cast(pl.Int8).alias(c)
        for c in ("_shift", "_two")
    ).with_columns(_trend=pl.when(USED).then(trend).otherwise(0).cast(pl.Int8)).drop(
        "_side", "_step", "_hi2", "_lo2", "_side_len", "_step_len", "_w_hi", "_w_lo",
        "_trend_own")


#: rule kinds in precedence order; a label's number is the shift or trend length
KINDS = {0: "Common Cause", 1: "Above UCL", 2: "Below LCL",
         3: "{} Point Trend (Increasing)", 4: "{} Point Trend (Decreasing)",
         5: "2 in 3 Above CL", 6: "2 in 3 Below CL",
         7: "{} Points Above CL", 8: "{} Points Below CL",
         # Western Electric and Nelson only
         9: "4 in 5 Beyond 1 Sigma Above CL", 10: "4 in 5 Beyond 1 Sigma Below CL",
         11: "{} Points Alternating", 12: "{} Points Within 1 Sigma",
         13: "{} Points Beyond 1 Sigma"}


def label_code(shift_len: pl.Expr, trend_len: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(rule code, direction) from the rule columns, by precedence beyond limit, trend,
    2 of 3, shift. The code is kind * 100 + length (see :data:`KINDS`, :func:`label_text`);
    integers keep the pass cheap, text is attached once per distinct code.
    direction is +1 high, -1 low, 0 common cause.

    Written as arithmetic rather than a when/then chain: each rule column is −1, 0 or +1,
    and (c − r) / 2 maps +1 and −1 to the kinds c/2 − 1/2 and c/2 + 1/2 of :data:`KINDS`.
    """
    out, tr, two, sh = (pl.col(c).cast(pl.Int16) for c in ("_beyond", "_trend", "_two", "_shift"))
    take_out = out != 0
    take_tr = ~take_out & (tr != 0)
    take_two = ~take_out & (tr == 0) & (two != 0)
    take_sh = ~take_out & (tr == 0) & (two == 0) & (sh != 0)
    code = (take_out.cast(pl.Int16) * ((3 - out) // 2 * 100)
            + take_tr.cast(pl.Int16) * ((7 - tr) // 2 * 100 + trend_len.cast(pl.Int16))
            + take_two.cast(pl.Int16) * ((11 - two) // 2 * 100)
            + take_sh.cast(pl.Int16) * ((15 - sh) // 2 * 100 + shift_len.cast(pl.Int16)))
    direction = (out + take_tr.cast(pl.Int16) * tr + take_two.cast(pl.Int16) * two
                 + take_sh.cast(pl.Int16) * sh)
    return code.cast(pl.Int16), direction.cast(pl.Int8)


def label_text(code: int) -> str:
    """The rule label of a code from :func:`label_code`."""
    return KINDS[code // 100].format(code % 100)


# ---------------------------------------------------------------- the same rules in NumPy

def _cmp(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """+1 where a > b, −1 where a < b, 0 where equal or either is NaN (a null), as Int8.

    For finite floats a − b > 0 exactly when a > b (IEEE subtraction with gradual underflow
    is 0 only for equal operands), so this is the sign of the difference the polars rules
    take, without the float temporary."""
    return (a > b).view(np.int8) - (a < b).view(np.int8)


def _long_runs(x: np.ndarray, first: np.ndarray, min_len: np.ndarray | int
               ) -> tuple[np.ndarray, np.ndarray]:
    """(first rows, every row) of the runs of equal non-zero ``x`` within windows (``first``
    starts one) that are ``min_len`` or more rows long. Long runs are few: their rows are
    listed directly rather than a flag spread over every row."""
    brk = first.copy()
    brk[1:] |= x[1:] != x[:-1]
    starts = np.flatnonzero(brk)
    lengths = np.diff(starts, append=len(x))
    long = (lengths >= _at(min_len, starts)) & (x[starts] != 0)
    starts, lengths = starts[long], lengths[long]
    # rows start .. start + length − 1 of each: a running position less its run's offset
    offset = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return starts, offset + np.arange(len(offset))


def _long_runs_of(x: np.ndarray, first: np.ndarray, min_len: np.ndarray | int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_long_runs`; with one length for all rows, by sliding windows instead: a row
    is in a long run when some ``min_len`` rows around it are equal, non-zero and in one
    window (a few passes over one byte a row, against listing every run's edges)."""
    if np.ndim(min_len):
        return _long_runs(x, first, min_len)
    n, span = len(x), max(int(min_len), 1)
    same = np.zeros(n, dtype=bool)  # the row continues the run of the row before
    np.equal(x[1:], x[:-1], out=same[1:])
    same &= ~first
    covered = np.zeros(n, dtype=bool)
    m = n - span + 1
    if m > 0:
        ends = x[:m] != 0  # rows j .. j + span − 1 are one run of non-zero x
        for k in range(1, span):
            ends &= same[k:m + k]
        for k in range(span):
            covered[k:m + k] |= ends
    rows = np.flatnonzero(covered)
    starts = rows[~(covered[rows - 1] & same[rows])]  # (row 0 never continues a run)
    return starts, rows


def _at(param: np.ndarray | int | bool, rows: np.ndarray) -> np.ndarray | int | bool:
    """A spec value at ``rows``: per-row arrays are read there, one value for all is itself."""
    return param[rows] if np.ndim(param) else param


def codes_numpy(value: np.ndarray, centre: np.ndarray, upper: np.ndarray, lower: np.ndarray,
                upper_2s: np.ndarray, lower_2s: np.ndarray, window: np.ndarray,
                shift_len: np.ndarray | int, trend_len: np.ndarray | int,
                legacy: np.ndarray | bool, seasonal: np.ndarray | bool
                ) -> tuple[np.ndarray, np.ndarray]:
    """(rule code as Int16, direction as Int8) of used points: :func:`add_flags` and
    :func:`label_code` in one NumPy pass over whole columns, for frames of the used points of
    one rule set (the engine's usual case). Lines are float arrays with NaN for null;
    ``window`` is the run segment id (rows contiguous); the spec values are one for all or
    one per row. Identical codes to the polars expressions (tests/test_rules_numpy.py).

    Written for memory traffic: signs and flags are Int8 or booleans (one byte a row), run
    lengths are compared once per run, and the points of each rule are listed by row number
    (few) and written by precedence; no float temporaries but the seasonal level."""
    n = len(value)
    if n == 0:
        return np.zeros(0, np.int16), np.zeros(0, np.int8)
    first = np.ones(n, dtype=bool)
    np.not_equal(window[1:], window[:-1], out=first[1:])
    side = _cmp(value, centre)
    if np.any(seasonal):  # see level(): with limits per calendar month, the distance from them
        level = np.where(seasonal, value - centre, value)
    else:
        level = value
    step = np.zeros(n, dtype=np.int8)
    step[1:] = _cmp(level[1:], level[:-1])
    step[first] = 0
    # shift: a run of shift_len or more on one side (a point on the centre line breaks it)
    _, shift_rows = _long_runs_of(side, first, shift_len)
    # trend: trend_len − 1 or more steps one way, and the point before the first step (a step
    # is never a window's first row, so that point is in the window; it may end another run)
    trend_starts, trend_rows = _long_runs_of(step, first, trend_len - 1)
    trend = np.zeros(n, dtype=np.int8)
    trend[trend_rows] = step[trend_rows]
    before = trend_starts - 1
    before = before[trend[before] == 0]
    trend[before] = step[before + 1]
    trend_rows = np.concatenate([trend_rows, before])
    # 2 of 3 beyond 2σ on one side, all three on that side of the centre line
    if np.any(legacy):
        hi2 = (value > upper_2s) & (~np.asarray(legacy) | (value <= upper))
        lo2 = (value < lower_2s) & (~np.asarray(legacy) | (value >= lower))
    else:
        hi2, lo2 = value > upper_2s, value < lower_2s
    third = ~first  # rows with two earlier rows in their window
    third[1:] &= ~first[:-1]

    def two_of_three(flag: np.ndarray, sign: int) -> np.ndarray:
        on = side == sign
        f = flag.view(np.int8)
        ending = np.zeros(n, dtype=bool)  # a qualifying window of three ends here
        ending[2:] = on[2:] & on[1:-1] & on[:-2] & ((f[2:] + f[1:-1] + f[:-2]) >= 2)
        ending &= third
        # a flagged point in a window ending here or up to two rows later (a window holds
        # its three rows, so no edge check)
        near = ending.copy()
        near[:-1] |= ending[1:]
        near[:-2] |= ending[2:]
        return flag & near

    two_hi = two_of_three(hi2, 1)
    two_lo = two_of_three(lo2, -1) & ~two_hi
    two_rows = np.flatnonzero(two_hi | two_lo)
    above, below = value > upper, value < lower
    beyond_rows = np.flatnonzero(above ^ below)
    # precedence beyond limit, trend, 2 of 3, shift: written lowest first, each over the last
    code = np.zeros(n, dtype=np.int16)
    direction = np.zeros(n, dtype=np.int8)
    for rows, d, base, length in (
            (shift_rows, side[shift_rows], 15, shift_len),
            (two_rows, two_hi[two_rows].view(np.int8) - two_lo[two_rows].view(np.int8), 11, 0),
            (trend_rows, trend[trend_rows], 7, trend_len),
            (beyond_rows, above[beyond_rows].view(np.int8) - below[beyond_rows].view(np.int8),
             3, 0)):
        code[rows] = (base - d.astype(np.int16)) // 2 * 100 + _at(length, rows)
        direction[rows] = d
    return code, direction
