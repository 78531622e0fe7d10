"""Shewhart attribute charts: p (proportions), u (rates), c (counts)."""

from __future__ import annotations

import polars as pl

from spc.charts._common import Scale, base_only, phase_mean, phase_sum

P_SCALE = Scale(low=0.0, high=1.0)
U_SCALE = Scale(low=0.0)
C_SCALE = Scale(low=0.0)


def add_pooled_ratio(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``centre`` = Σ numerator / Σ denominator over the used points of each phase."""
    num = phase_sum(base_only(pl.col("numerator")))
    den = phase_sum(base_only(pl.col("denominator")))
    return lf.with_columns(centre=num / den)


def p(lf: pl.LazyFrame) -> pl.LazyFrame:
    """p chart: CL = p̄ = Σy/Σn; limits p̄ ± 3 √(p̄(1 − p̄)/n_i), clipped to [0, 1]."""
    pbar = pl.col("centre")
    return add_pooled_ratio(lf).with_columns(
        _mid=pbar, _sigma=(pbar * (1 - pbar) / pl.col("denominator")).sqrt())


def u(lf: pl.LazyFrame) -> pl.LazyFrame:
    """u chart: CL = ū = Σy/Σn; limits ū ± 3 √(ū/n_i), lower limit at least 0."""
    ubar = pl.col("centre")
    return add_pooled_ratio(lf).with_columns(
        _mid=ubar, _sigma=(ubar / pl.col("denominator")).sqrt())


def c(lf: pl.LazyFrame) -> pl.LazyFrame:
    """c chart: CL = c̄ (mean count); limits c̄ ± 3 √c̄, lower limit at least 0."""
    cbar = pl.col("centre")
    return lf.with_columns(centre=phase_mean(base_only(pl.col("value")))).with_columns(
        _mid=cbar, _sigma=cbar.sqrt())
