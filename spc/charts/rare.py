"""Rare-event charts: g (events between) and t (time between events)."""

from __future__ import annotations

import polars as pl

from spc.charts._common import (PER_D2, Scale, add_mean_moving_range, base_only, per_phase,
                                phase_mean)

#: Nelson's transform of exponential times to near-normal (qicharts2 t chart)
T_POWER = 3.6
G_SCALE = Scale(low=0.0)
#: t-chart lines are computed on y = x^(1/3.6), clipped at 0, then raised to 3.6
T_SCALE = Scale(low=0.0, power=T_POWER)


def g(lf: pl.LazyFrame) -> pl.LazyFrame:
    """g chart (Benneyan): m = mean count between events, limits m ± 3 √(m(m + 1))
    (lower at least 0); the centre line drawn is the median (qicharts2)."""
    x = base_only(pl.col("value"))
    lf = lf.with_columns(centre=per_phase(x.median()), _mid=phase_mean(x))
    m = pl.col("_mid")
    return lf.with_columns(_sigma=(m * (m + 1)).sqrt())


def t(lf: pl.LazyFrame) -> pl.LazyFrame:
    """t chart (Nelson): y = x^(1/3.6); an individuals chart on y with
    σ = MR̄(y)/1.128 (screened); centre and limits back-transformed by ^3.6,
    a negative lower limit becomes 0 (see T_SCALE)."""
    y = pl.col("value").pow(1 / T_POWER)
    lf = lf.with_columns(centre=phase_mean(base_only(y)))
    lf = add_mean_moving_range(lf, y, "_mrbar")
    return lf.with_columns(_mid=pl.col("centre"), _sigma=pl.col("_mrbar") * PER_D2).drop("_mrbar")
