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


def classify() -> tuple[pl.Expr, pl.Expr]:
    """(rule label, direction) for every point, dispatching on the ``rule_set`` column."""
    rule, direction = mdc.label(pl.col("shift"), pl.col("trend"), pl.col("two_sigma") == "legacy")
    return rule, direction


__all__ = ["RULE_SETS", "classify", "point_type"]
