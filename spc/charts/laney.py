"""Laney p′ and u′ charts: attribute limits widened by the between-point variation."""

from __future__ import annotations

import polars as pl

from spc.charts._common import PER_D2, Scale, add_mean_moving_range
from spc.charts.attribute import P_SCALE, U_SCALE, add_pooled_ratio

PP_SCALE = P_SCALE
UP_SCALE = U_SCALE


def _laney(lf: pl.LazyFrame, sigma_i: pl.Expr) -> pl.LazyFrame:
    lf = add_pooled_ratio(lf).with_columns(_sigma_i=sigma_i)
    # no z-scores when p̄ is 0 or 1 (σ_i = 0): the limits are then null
    z = pl.when(pl.col("_sigma_i") > 0).then((pl.col("value") - pl.col("centre"))
                                              / pl.col("_sigma_i"))
    lf = add_mean_moving_range(lf, z, "_mrbar_z")
    return lf.with_columns(
        _mid=pl.col("centre"), _sigma=pl.col("_sigma_i") * pl.col("_mrbar_z") * PER_D2
    ).drop("_sigma_i", "_mrbar_z")


def pp(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Laney p′ chart (Laney 2002).

    p̄ = Σy/Σn, σ_i = √(p̄(1 − p̄)/n_i), z_i = (p_i − p̄)/σ_i,
    σ_z = MR̄(z)/1.128 (screened), limits p̄ ± 3 σ_i σ_z clipped to [0, 1].
    """
    pbar = pl.col("centre")
    return _laney(lf, (pbar * (1 - pbar) / pl.col("denominator")).sqrt())


def up(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Laney u′ chart: ū = Σy/Σn, σ_i = √(ū/n_i), z_i = (u_i − ū)/σ_i,
    σ_z = MR̄(z)/1.128 (screened), limits ū ± 3 σ_i σ_z, lower at least 0."""
    ubar = pl.col("centre")
    return _laney(lf, (ubar / pl.col("denominator")).sqrt())


__all__ = ["pp", "up", "PP_SCALE", "UP_SCALE", "Scale"]
