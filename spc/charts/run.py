"""Run chart: a median line and no limits."""

from __future__ import annotations

import polars as pl

from spc.charts._common import Scale, base_only, per_phase

SCALE = Scale()


def run(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Run chart (Anhøj): CL = median of the used points; no control limits."""
    return lf.with_columns(centre=per_phase(base_only(pl.col("value")).median())).with_columns(
        _mid=pl.col("centre"), _sigma=pl.lit(None, dtype=pl.Float64))
