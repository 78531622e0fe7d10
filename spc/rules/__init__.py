"""Rule sets as vectorised polars expressions over (series, phase) windows.

``mdc``: Making Data Count (beyond limits, shift, trend, 2 of 3 beyond 2σ).
``western_electric`` and ``nelson``: the classic sets. Anhøj runs analysis is
always computed per phase (:mod:`spc.rules.anhoj`).
"""

from __future__ import annotations

import polars as pl

from spc.charts import SEQUENTIAL_CHARTS, chart_in
from spc.rules import mdc, nelson, western_electric

RULE_SETS = ("mdc", "western_electric", "nelson")


_TYPES = {1: "special_cause_improvement", -1: "special_cause_concern"}


def point_type(direction: pl.Expr, improve: pl.Expr) -> pl.Expr:
    """Point type from the special-cause direction (+1 high, −1 low, ±2 a pattern with no
    direction on that side, 0 none) and the improvement direction (+1 increase,
    −1 decrease, 0 neutral)."""
    mapping = {}
    for d in (-2, -1, 0, 1, 2):
        for i in (-1, 0, 1):
            if d == 0:
                text = "common_cause"
            elif i == 0 or abs(d) == 2:
                text = "special_cause_neutral_high" if d > 0 else "special_cause_neutral_low"
            else:
                text = _TYPES[d * i]
            mapping[(d + 2) * 3 + (i + 1)] = text
    code = (direction.cast(pl.Int8) + 2) * 3 + (improve.cast(pl.Int8) + 1)
    return code.replace_strict(mapping, return_dtype=pl.String)


def _mdc(lf: pl.LazyFrame) -> pl.LazyFrame:
    lf = mdc.add_flags(lf, pl.col("shift"), pl.col("trend"), pl.col("two_sigma") == "legacy")
    code, direction = mdc.label_code(pl.col("shift"), pl.col("trend"))
    return lf.with_columns(_rule_code=code, _dir=direction).drop(
        "_beyond", "_trend", "_two", "_shift")


_SETS = {"mdc": _mdc, "western_electric": western_electric.add_codes, "nelson": nelson.add_codes}


def classify(lf: pl.LazyFrame, rule_sets: list[str] | None = None) -> pl.LazyFrame:
    """Add ``_rule_code`` (see :func:`rule_labels`) and ``_dir`` (+1 high, −1 low, ±2 no
    direction, 0 common cause) to every point, by each row's ``rule_set`` (a loop over
    the rule sets present, never over series). Excluded points only meet the limits."""
    rule_sets = rule_sets or ["mdc"]
    if len(rule_sets) == 1:
        out = _SETS[rule_sets[0]](lf)
    else:
        out = pl.concat([_SETS[r](lf.filter(pl.col("rule_set") == r)) for r in rule_sets]
                        ).sort("_i").with_columns(pl.col("_g").set_sorted(),
                                                            pl.col("_s").set_sorted(),
                                                            pl.col("_r").set_sorted())
    # excluded points: only the limits (pattern codes are for used points); so are EWMA and
    # CUSUM points, whose statistic carries memory (run rules would fire on that memory)
    beyond = (pl.when(pl.col("value") > pl.col("upper")).then(1)
              .when(pl.col("value") < pl.col("lower")).then(-1).otherwise(0))
    limits_only = pl.col("excluded") | chart_in(SEQUENTIAL_CHARTS)
    return out.with_columns(
        _rule_code=pl.when(limits_only).then(
            pl.when(beyond == 1).then(100).when(beyond == -1).then(200).otherwise(0))
        .otherwise(pl.col("_rule_code")).cast(pl.Int16),
        _dir=pl.when(limits_only).then(beyond).otherwise(pl.col("_dir")).cast(pl.Int8))


def rule_labels(codes: pl.Series) -> pl.Series:
    """Rule label text for rule codes (computed once per distinct code)."""
    mapping = {c: mdc.label_text(c) for c in codes.unique().to_list()}
    return codes.replace_strict(mapping, return_dtype=pl.String).alias("rule")


__all__ = ["RULE_SETS", "classify", "point_type", "rule_labels"]
