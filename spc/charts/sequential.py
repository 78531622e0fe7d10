"""Charts for small sustained shifts: EWMA and tabular CUSUM of individual values.

Both plot a *statistic* that carries memory from point to point, so the engine judges them by
one rule only, a point beyond a limit (run rules on an autocorrelated statistic would fire on
the statistic's own memory). The point's ``value`` becomes the plotted statistic, as an Xbar
chart's value is the subgroup mean.

The process mean μ0 and standard deviation σ are, per phase, the mean of the used points and
MR̄/1.128 (the moving range of the XmR chart, screened as it is), unless the spec gives
reference values (``reference_centre``, ``reference_sigma``: a "standard given", as
qcc's ``center`` and ``std.dev``). Each run segment (``_r``: a phase cut at every gap of missing
periods) starts afresh from μ0: the statistic never joins points either side of a gap.
Excluded points do not enter the statistic; they are drawn at its value so far.

Vectorised: the EWMA is polars' ``ewm_mean(adjust=False)`` over each segment (one pass per
distinct λ, never per series); the CUSUM's max(0, ·) recursion is a Lindley recursion, so
C⁺_i = S_i − min(0, min_{j≤i} S_j) with S the running sum of (x − μ0 − k σ): a cumulative sum
and a cumulative minimum per segment.
"""

from __future__ import annotations

import polars as pl

from spc.charts._common import PER_D2, SEGMENT, Scale, add_mean_moving_range, base_only, phase_mean

EWMA_SCALE = Scale()
CUSUM_SCALE = Scale()
#: CUSUM reference value k in σ: half the one-sigma shift it is tuned to find (Montgomery 9.1)
CUSUM_K = 0.5

_USED = ~pl.col("excluded")


def _mean_and_sigma(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``_mu`` and ``_sd``: the reference values, else the phase's mean and MR̄/1.128."""
    x = pl.col("value")
    lf = add_mean_moving_range(lf.with_columns(_mu=phase_mean(base_only(x))), x, "_mrbar")
    return lf.with_columns(_mu=pl.coalesce("reference_centre", "_mu"),
                           _sd=pl.coalesce("reference_sigma", pl.col("_mrbar") * PER_D2)
                           ).drop("_mrbar")


def _used_so_far() -> pl.Expr:
    """Number of used points of the run segment up to and including this one."""
    return _USED.cast(pl.Int64).cum_sum().over(SEGMENT)


def ewma(lf: pl.LazyFrame) -> pl.LazyFrame:
    """EWMA chart (Roberts 1959; Montgomery 9.2; NIST/SEMATECH e-Handbook 6.3.2.4).

    z_0 = μ0, z_i = λ x_i + (1 − λ) z_(i−1); centre μ0; limits μ0 ± 3 σ √(λ/(2 − λ)
    (1 − (1 − λ)^(2i))), i the used points so far in the segment (the exact limits, which
    widen to the asymptotic μ0 ± 3 σ √(λ/(2 − λ)) within about ten points).
    """
    lf = _mean_and_sigma(lf).with_columns(_k=_used_so_far())
    lam = pl.col("ewma_lambda")
    dev = pl.when(_USED).then(pl.col("value") - pl.col("_mu"))
    # polars' adjust=False recursion starts at the first value: scaling the segment's first
    # used deviation by λ makes it start from z_0 = μ0 instead
    dev = pl.when(pl.col("_k") == 1).then(dev * lam).otherwise(dev)
    lambdas = lf.select(lam.unique().drop_nulls()).collect().to_series().to_list()
    smoothed = pl.lit(None, dtype=pl.Float64)
    for value in lambdas:  # one pass per distinct λ (a handful), never per series
        one = dev.ewm_mean(alpha=value, adjust=False, ignore_nulls=True).over(SEGMENT)
        smoothed = pl.when(lam == value).then(one).otherwise(smoothed)
    lf = lf.with_columns(_e=smoothed)
    # excluded points carry the statistic so far; before the first used point it is μ0
    z = pl.col("_mu") + pl.col("_e").forward_fill().over(SEGMENT).fill_null(0.0)
    width = (lam / (2 - lam) * (1 - (1 - lam).pow(2 * pl.max_horizontal(pl.col("_k"), 1)))).sqrt()
    return lf.with_columns(value=z, centre=pl.col("_mu"), _mid=pl.col("_mu"),
                           _sigma=pl.col("_sd") * width).drop("_mu", "_sd", "_k", "_e")


def cusum(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Tabular CUSUM (Page 1954; Montgomery 9.1; NIST/SEMATECH e-Handbook 6.3.2.3).

    C⁺_i = max(0, x_i − (μ0 + kσ) + C⁺_(i−1)), C⁻_i = max(0, (μ0 − kσ) − x_i + C⁻_(i−1)),
    C⁺_0 = C⁻_0 = 0, k = 0.5; a signal when either exceeds H = hσ (``cusum_h``, 5 by
    default; 4 finds shifts sooner with more false alarms). The plotted value is the larger
    sum, signed: C⁺ when C⁺ ≥ C⁻, else −C⁻, against the limits ±H around 0. The sums are not
    reset after a signal.
    """
    lf = _mean_and_sigma(lf)
    x, mu, slack = pl.col("value"), pl.col("_mu"), CUSUM_K * pl.col("_sd")

    def running(step: pl.Expr) -> pl.Expr:
        return pl.when(_USED).then(step).otherwise(0.0).cum_sum().over(SEGMENT)

    def lindley(total: str) -> pl.Expr:
        return pl.col(total) - pl.min_horizontal(pl.col(total).cum_min().over(SEGMENT), 0.0)

    lf = lf.with_columns(_hi=running(x - mu - slack), _lo=running(mu - slack - x))
    lf = lf.with_columns(_hi=lindley("_hi"), _lo=lindley("_lo"))
    value = pl.when(pl.col("_hi") >= pl.col("_lo")).then(pl.col("_hi")).otherwise(-pl.col("_lo"))
    return lf.with_columns(value=value, centre=pl.lit(0.0), _mid=pl.lit(0.0),
                           _sigma=pl.col("cusum_h") * pl.col("_sd") / 3
                           ).drop("_mu", "_sd", "_hi", "_lo")


__all__ = ["ewma", "cusum", "EWMA_SCALE", "CUSUM_SCALE", "CUSUM_K"]
