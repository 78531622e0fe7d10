"""XmR (individuals) chart, as Making Data Count."""

from __future__ import annotations

import polars as pl

from spc.charts._common import PHASE, XMR_3SIGMA, base_only, bands, mean_moving_range


def xmr() -> dict[str, pl.Expr]:
    """Individuals chart with moving-range limits (Wheeler; Making Data Count).

    CL = x̄ (mean of the used points), MR̄ = mean |x_i - x_(i-1)| (screened),
    limits CL ± 2.66 MR̄, 2σ at CL ± 1.7733 MR̄, 1σ at CL ± 0.8867 MR̄.
    """
    x = pl.col("value")
    mean = base_only(x).mean().over(PHASE)
    sigma = mean_moving_range(x) * (XMR_3SIGMA / 3)
    return bands(mean, mean, sigma)
