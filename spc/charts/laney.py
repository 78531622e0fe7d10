"""Laney p′ and u′ charts: attribute limits widened by the between-point variation."""

from __future__ import annotations

import polars as pl

from spc.charts._common import D2, bands, mean_moving_range
from spc.charts.attribute import pooled_ratio


def _laney(centre: pl.Expr, sigma_i: pl.Expr, *, high: float | None) -> dict[str, pl.Expr]:
    z = (pl.col("value") - centre) / sigma_i
    sigma_z = mean_moving_range(z) / D2
    return bands(centre, centre, sigma_i * sigma_z, low=0.0, high=high)


def pp() -> dict[str, pl.Expr]:
    """Laney p′ chart (Laney 2002).

    p̄ = Σy/Σn, σ_i = √(p̄(1 − p̄)/n_i), z_i = (p_i − p̄)/σ_i,
    σ_z = MR̄(z)/1.128 (screened), limits p̄ ± 3 σ_i σ_z clipped to [0, 1].
    """
    pbar = pooled_ratio()
    return _laney(pbar, (pbar * (1 - pbar) / pl.col("denominator")).sqrt(), high=1.0)


def up() -> dict[str, pl.Expr]:
    """Laney u′ chart: ū = Σy/Σn, σ_i = √(ū/n_i), z_i = (u_i − ū)/σ_i,
    σ_z = MR̄(z)/1.128 (screened), limits ū ± 3 σ_i σ_z, lower at least 0."""
    ubar = pooled_ratio()
    return _laney(ubar, (ubar / pl.col("denominator")).sqrt(), high=None)
