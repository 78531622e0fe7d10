"""Nelson rules (Nelson, Journal of Quality Technology 16(4), 1984).

1. a point beyond 3σ; 2. nine points in a row on one side; 3. six points in a row
increasing or decreasing; 4. fourteen points in a row alternating up and down; 5. two of
three beyond 2σ on one side; 6. four of five beyond 1σ on one side; 7. fifteen points
in a row within 1σ (either side); 8. eight points in a row beyond 1σ (either side).
Rules 4, 7 and 8 have no direction: their points are special_cause_neutral_high/low.
"""

from __future__ import annotations

import polars as pl

from spc.rules import patterns as P

V = pl.col("value")


def add_codes(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``_rule_code`` (kind * 100 + length, see :data:`spc.rules.mdc.KINDS`) and ``_dir``."""
    within = (V < pl.col("upper_1s")) & (V > pl.col("lower_1s"))
    outside = (V > pl.col("upper_1s")) | (V < pl.col("lower_1s"))
    lf = lf.with_columns(_r1=P.beyond("upper", "lower"), _r2=P.one_side(9),
                         _r7=P.run_of(within, 15, P.neutral()),
                         _r8=P.run_of(outside, 8, P.neutral()))
    lf = P.add_trend(lf, 6, "_r3")
    lf = P.add_alternating(lf, 14, "_r4")
    lf = P.k_of_m(lf, "upper_2s", "lower_2s", 2, 3, "_r5")
    lf = P.k_of_m(lf, "upper_1s", "lower_1s", 4, 5, "_r6")
    r = {i: pl.col(f"_r{i}") for i in range(1, 9)}
    code = (pl.when(r[1] == 1).then(100).when(r[1] == -1).then(200)
            .when(r[2] == 1).then(709).when(r[2] == -1).then(809)
            .when(r[3] == 1).then(306).when(r[3] == -1).then(406)
            .when(r[4] != 0).then(1114)
            .when(r[5] == 1).then(500).when(r[5] == -1).then(600)
            .when(r[6] == 1).then(900).when(r[6] == -1).then(1000)
            .when(r[7] != 0).then(1215)
            .when(r[8] != 0).then(1308).otherwise(0))
    direction = pl.coalesce([pl.when(e != 0).then(e) for e in r.values()]).fill_null(0)
    return lf.with_columns(_rule_code=code.cast(pl.Int16), _dir=direction.cast(pl.Int8)).drop(
        *[f"_r{i}" for i in range(1, 9)])
