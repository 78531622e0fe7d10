"""Rule sets as vectorised polars expressions over (series, phase) windows.

``mdc``: Making Data Count (beyond limits, shift, trend, 2 of 3 beyond 2σ).
``western_electric`` and ``nelson``: the classic sets. Anhøj runs analysis is
always computed per phase (:mod:`spc.rules.anhoj`).
"""

from __future__ import annotations

import polars as pl

from spc.rules import mdc

RULE_SETS = ("mdc", "western_electric", "nelson")


def point_type(direction: pl.Expr, improvement: pl.Expr) -> pl.Expr:
    """Map a signed special-cause direction and the improvement direction to a point type."""
    improve = (pl.when(improvement == "increase").then(1)
               .when(improvement == "decrease").then(-1).otherwise(0))
    return (pl.when(direction == 0).then(pl.lit("common_cause"))
            .when(improve == 0).then(
                pl.when(direction > 0).then(pl.lit("special_cause_neutral_high"))
                .otherwise(pl.lit("special_cause_neutral_low")))
            .when(direction == improve).then(pl.lit("special_cause_improvement"))
            .otherwise(pl.lit("special_cause_concern")))


def classify(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``rule`` (label) and ``_dir`` (+1 high, -1 low, 0 common cause) to every point."""
    lf = mdc.add_flags(lf, pl.col("shift"), pl.col("trend"), pl.col("two_sigma") == "legacy")
    rule, direction = mdc.label(pl.col("shift"), pl.col("trend"))
    return lf.with_columns(rule=rule, _dir=direction).drop("_beyond", "_trend", "_two", "_shift")


__all__ = ["RULE_SETS", "classify", "point_type"]
