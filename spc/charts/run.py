"""Run chart: a median line and no limits."""

from __future__ import annotations

import polars as pl

from spc.charts._common import PHASE, base_only, bands


def run() -> dict[str, pl.Expr]:
    """Run chart (Anhøj): CL = median of the used points; no control limits."""
    median = base_only(pl.col("value")).median().over(PHASE)
    return bands(median, median, pl.lit(None, dtype=pl.Float64))
