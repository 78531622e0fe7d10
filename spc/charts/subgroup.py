"""Charts of subgrouped measurements: Xbar (subgroup means) and S (subgroup standard deviations).

The engine first turns the measurements of each (series, period) into one point with the
subgroup size ``_n``, mean and standard deviation ``_sd`` (see
:func:`spc.engine_input.subgroups`); the point's ``value`` is the mean (Xbar) or the standard
deviation (S). Formulas as qicharts2 (``qic.xbar``, ``qic.s`` and the constants ``c4``,
``a3``, ``b3``, ``b4`` in R/helper.functions.R), after Montgomery, *Introduction to
Statistical Quality Control*, eqs 6.29 to 6.31:

- s̄ over the used points of a phase: when every subgroup of the phase has the same size,
  the mean of the s_i; when sizes vary, the pooled √(Σ(n_i − 1)s_i² / Σ(n_i − 1)).
- c4(n) = √(2/(n − 1)) Γ(n/2) / Γ((n − 1)/2) (exact, not the rounded table), c5 = √(1 − c4²);
  no constant, hence no limits, for a subgroup of one.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from spc.charts._common import PHASE, Scale, base_only, phase_mean, phase_sum

XBAR_SCALE = Scale()
#: s limits: a negative lower limit is B3 = 0
S_SCALE = Scale(low=0.0)


def _c4(n: pl.Series) -> pl.Series:
    from scipy.special import gammaln  # here, not at the top: only Xbar and S charts pay scipy

    x = n.cast(pl.Float64).to_numpy().astype(np.float64, copy=True)
    big = x > 1  # NaN (null) compares False
    out = np.full(len(x), np.nan)
    out[big] = np.sqrt(2 / (x[big] - 1)) * np.exp(gammaln(x[big] / 2) - gammaln((x[big] - 1) / 2))
    return pl.Series(out, dtype=pl.Float64).fill_nan(None)


def c4(n: pl.Expr) -> pl.Expr:
    """c4(n) = √(2/(n − 1)) Γ(n/2)/Γ((n − 1)/2), the bias of s as an estimate of σ; null for
    n ≤ 1 (computed through log-gamma, as qicharts2, so large n do not overflow)."""
    return n.map_batches(_c4, return_dtype=pl.Float64, is_elementwise=True)


def _sbar(s: pl.Expr) -> pl.Expr:
    """s̄ of each phase from the used subgroups' standard deviations ``s`` and sizes ``_n``:
    mean s_i when the phase's subgroups all have one size, else the pooled
    √(Σ(n_i − 1)s_i² / Σ(n_i − 1)) (a subgroup of one adds nothing to either sum)."""
    n = pl.col("_n").cast(pl.Float64)
    sizes_vary = n.max().over(PHASE) != n.min().over(PHASE)  # every subgroup of the phase
    pooled = (phase_sum(base_only((n - 1) * s * s)) / phase_sum(base_only(n - 1))).sqrt()
    return pl.when(sizes_vary).then(pooled).otherwise(phase_mean(base_only(s)))


def xbar(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Xbar chart (Montgomery 6.29 to 6.31; qicharts2 ``qic.xbar``).

    CL = x̿ = Σ n_i x̄_i / Σ n_i over the used subgroups; limits x̿ ± A3(n_i) s̄ with
    A3 = 3 / (c4(n_i) √n_i), i.e. σ_i = s̄ / (c4(n_i) √n_i); no limits for a subgroup of one.
    """
    n = pl.col("_n").cast(pl.Float64)
    lf = lf.with_columns(centre=phase_sum(base_only(n * pl.col("value")))
                         / phase_sum(base_only(n)),
                         _sbar=_sbar(pl.col("_sd")), _c4=c4(n))
    return lf.with_columns(_mid=pl.col("centre"),
                           _sigma=pl.col("_sbar") / (pl.col("_c4") * n.sqrt())
                           ).drop("_sbar", "_c4")


def s(lf: pl.LazyFrame) -> pl.LazyFrame:
    """S chart (Montgomery 6.29 and 6.31; qicharts2 ``qic.s``).

    CL = s̄ (see the module docstring); UCL = B4(n_i) s̄, LCL = B3(n_i) s̄ with
    B4, B3 = 1 ± 3 c5/c4 (B3 at least 0), i.e. σ_i = s̄ c5(n_i)/c4(n_i).
    """
    n = pl.col("_n").cast(pl.Float64)
    lf = lf.with_columns(centre=_sbar(pl.col("value")), _c4=c4(n))
    c5 = (1 - pl.col("_c4") * pl.col("_c4")).sqrt()
    return lf.with_columns(_mid=pl.col("centre"),
                           _sigma=pl.col("centre") * c5 / pl.col("_c4")).drop("_c4")
