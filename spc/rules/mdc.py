"""Making Data Count rules for XmR charts (NHSRplotthedots vocabulary).

:func:`add_flags` adds one signed Int8 column per rule: +1 (high / increasing),
-1 (low / decreasing), 0 (not part of the pattern). Patterns never cross a
phase and skip excluded points: the engine passes the used points and the excluded ones
as separate frames, and an excluded point is only judged against the limits.
"""

from __future__ import annotations

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
