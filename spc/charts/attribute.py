"""Shewhart attribute charts: p (proportions), u (rates), c (counts)."""

from __future__ import annotations

import polars as pl

from spc.charts._common import PHASE, base_only, bands


def pooled_ratio() -> pl.Expr:
    """Σ numerator / Σ denominator over the used points of a phase."""
    num = base_only(pl.col("numerator")).sum().over(PHASE)
    den = base_only(pl.col("denominator")).sum().over(PHASE)
    return num / den


def p() -> dict[str, pl.Expr]:
    """p chart: CL = p̄ = Σy/Σn; limits p̄ ± 3 √(p̄(1 − p̄)/n_i), clipped to [0, 1]."""
    pbar = pooled_ratio()
    sigma = (pbar * (1 - pbar) / pl.col("denominator")).sqrt()
    return bands(pbar, pbar, sigma, low=0.0, high=1.0)


def u() -> dict[str, pl.Expr]:
    """u chart: CL = ū = Σy/Σn; limits ū ± 3 √(ū/n_i), lower limit at least 0."""
    ubar = pooled_ratio()
    sigma = (ubar / pl.col("denominator")).sqrt()
    return bands(ubar, ubar, sigma, low=0.0)


def c() -> dict[str, pl.Expr]:
    """c chart: CL = c̄ (mean count); limits c̄ ± 3 √c̄, lower limit at least 0."""
    cbar = base_only(pl.col("value")).mean().over(PHASE)
    return bands(cbar, cbar, cbar.sqrt(), low=0.0)
