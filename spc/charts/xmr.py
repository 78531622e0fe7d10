"""XmR (individuals) chart, as Making Data Count."""

from __future__ import annotations

import polars as pl

from spc.charts._common import XMR_3SIGMA, Scale, add_mean_moving_range, base_only, phase_mean

SCALE = Scale()


def xmr(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Individuals chart with moving-range limits (Wheeler; Making Data Count).

    CL = x̄ (mean of the used points), MR̄ = mean |x_i − x_(i−1)| (screened),
    limits CL ± 2.66 MR̄, 2σ at CL ± 1.7733 MR̄, 1σ at CL ± 0.8867 MR̄.
    """
    x = pl.col("value")
    lf = add_mean_moving_range(lf.with_columns(centre=phase_mean(base_only(x))), x, "_mrbar")
    return lf.with_columns(_mid=pl.col("centre"),
                           _sigma=pl.col("_mrbar") * (XMR_3SIGMA / 3)).drop("_mrbar")
