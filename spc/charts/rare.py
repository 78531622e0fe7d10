"""Rare-event charts: g (events between) and t (time between events)."""

from __future__ import annotations

import polars as pl

from spc.charts._common import D2, PHASE, base_only, bands, mean_moving_range

#: Nelson's transform of exponential times to near-normal (qicharts2 t chart)
T_POWER = 3.6


def g() -> dict[str, pl.Expr]:
    """g chart (Benneyan): m = mean count between events, limits m ± 3 √(m(m + 1))
    (lower at least 0); the centre line drawn is the median (qicharts2)."""
    x = base_only(pl.col("value"))
    m = x.mean().over(PHASE)
    return bands(x.median().over(PHASE), m, (m * (m + 1)).sqrt(), low=0.0)


def t() -> dict[str, pl.Expr]:
    """t chart (Nelson): y = x^(1/3.6); an individuals chart on y with
    σ = MR̄(y)/1.128 (screened); centre and limits back-transformed by ^3.6,
    a negative lower limit becomes 0."""
    y = pl.col("value").pow(1 / T_POWER)
    mean = base_only(y).mean().over(PHASE)
    sigma = mean_moving_range(y) / D2
    lines = bands(mean, mean, sigma, low=0.0)
    return {k: v.pow(T_POWER) for k, v in lines.items()}
