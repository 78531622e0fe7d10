"""Western Electric rules (Western Electric Statistical Quality Control Handbook, 1956).

1. one point beyond 3σ; 2. two of three consecutive points beyond 2σ on one side;
3. four of five consecutive points beyond 1σ on one side; 4. eight consecutive points
on one side of the centre line. Labels reuse the MDC vocabulary where it fits.
"""

from __future__ import annotations

import polars as pl

from spc.rules import patterns as P


def add_codes(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``_rule_code`` (kind * 100 + length, see :data:`spc.rules.mdc.KINDS`) and ``_dir``."""
    lf = lf.with_columns(_r1=P.beyond("upper", "lower"), _r4=P.one_side(8))
    lf = P.k_of_m(lf, "upper_2s", "lower_2s", 2, 3, "_r2")
    lf = P.k_of_m(lf, "upper_1s", "lower_1s", 4, 5, "_r3")
    r1, r2, r3, r4 = (pl.col(f"_r{i}") for i in range(1, 5))
    code = (pl.when(r1 == 1).then(100).when(r1 == -1).then(200)
            .when(r2 == 1).then(500).when(r2 == -1).then(600)
            .when(r3 == 1).then(900).when(r3 == -1).then(1000)
            .when(r4 == 1).then(708).when(r4 == -1).then(808).otherwise(0))
    direction = pl.coalesce([pl.when(r != 0).then(r) for r in (r1, r2, r3, r4)]).fill_null(0)
    return lf.with_columns(_rule_code=code.cast(pl.Int16), _dir=direction.cast(pl.Int8)).drop(
        "_r1", "_r2", "_r3", "_r4")
