"""Long-term trend: Theil-Sen with Mann-Kendall, vectorised across series, and a trend test that
allows for autocorrelation."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from scipy import stats

from spc.errors import SpcError
from spc.trend.frame import _month_index, as_series_frame


def _window(frame: pl.DataFrame, window: int | None) -> pl.DataFrame:
    """The last `window` months of each series (by calendar, not by row count)."""
    frame = frame.filter(pl.col("value").is_not_null() & pl.col("value").is_finite())
    frame = frame.with_columns(_month_index().alias("_m"))
    if window is None:
        return frame
    return frame.filter(pl.col("_m") > pl.col("_m").max().over("series") - window)


def long_term_trend(
    data: pl.DataFrame, *, window: int | None = 36, alpha: float = 0.05
) -> pl.DataFrame:
    """Direction and size of each series' trend over its last `window` months.

    Two estimates, one robust to outliers and one to autocorrelation:

    * Theil-Sen slope (median of pairwise slopes) with Sen's confidence interval and the
      Mann-Kendall test (tie-corrected variance); vectorised across all series.
    * OLS slope with Newey-West (HAC) standard errors from statsmodels, one fit per series.

    `direction` is "rising" or "falling" only when both tests reject "no trend" at `alpha`
    and agree on the sign; otherwise "no clear trend". Slopes are per year. `pct_change` is the
    Theil-Sen change over the window relative to the fitted level at its start.
    Series with fewer than 8 points get direction "too few points".
    """
    frame = _window(as_series_frame(data), window)
    if frame.height == 0:
        raise SpcError("trend: no usable values in the input")
    frame = frame.with_columns((pl.col("_m") / 12.0).alias("_t"))
    base = frame.group_by("series", maintain_order=True).agg(
        pl.len().alias("n"),
        pl.col("period").min().alias("start"),
        pl.col("period").max().alias("end"),
        pl.col("_t").min().alias("_t0"),
        pl.col("_t").max().alias("_t1"),
        pl.col("value").mean().alias("mean"),
    )
    # every pair i < j within a series: Theil-Sen slopes and Mann-Kendall signs in one join
    left = frame.select("series", "_t", "value")
    pairs = (
        left.join(left, on="series", suffix="_j")
        .filter(pl.col("_t_j") > pl.col("_t"))
        .with_columns(
            ((pl.col("value_j") - pl.col("value")) / (pl.col("_t_j") - pl.col("_t"))).alias(
                "slope"
            ),
            (pl.col("value_j") - pl.col("value")).sign().alias("sgn"),
        )
    )
    ties = (
        frame.group_by("series", "value")
        .len()
        .group_by("series")
        .agg((pl.col("len") * (pl.col("len") - 1) * (2 * pl.col("len") + 5)).sum().alias("_tie"))
    )
    z_crit = float(stats.norm.ppf(1 - alpha / 2))
    mk = (
        pairs.group_by("series")
        .agg(
            pl.col("sgn").sum().alias("mk_s"),
            pl.col("slope").median().alias("sen_slope"),
            pl.col("slope").sort().alias("_slopes"),
        )
        .join(base.select("series", "n"), on="series")
        .join(ties, on="series", how="left")
        .with_columns(
            (
                (
                    pl.col("n") * (pl.col("n") - 1) * (2 * pl.col("n") + 5)
                    - pl.col("_tie").fill_null(0)
                )
                / 18.0
            ).alias("_var")
        )
        .with_columns(
            (
                (pl.col("mk_s") - pl.col("mk_s").sign())
                / pl.when(pl.col("_var") > 0).then(pl.col("_var").sqrt()).otherwise(None)
            ).alias("mk_z"),
            (pl.col("mk_s") / (pl.col("n") * (pl.col("n") - 1) / 2.0)).alias("mk_tau"),
            # Sen's interval: ranks (N -/+ z*sqrt(var S)) / 2 of the sorted pairwise slopes
            (pl.col("_var").sqrt() * z_crit).alias("_c"),
            pl.col("_slopes").list.len().alias("_np"),
        )
        .with_columns(
            pl.col("_slopes")
            .list.get(
                ((pl.col("_np") - pl.col("_c")) / 2).round().cast(pl.Int64).clip(1, None) - 1,
                null_on_oob=True,
            )
            .alias("sen_lower"),
            pl.col("_slopes")
            .list.get(
                ((pl.col("_np") + pl.col("_c")) / 2 + 1).round().cast(pl.Int64)
                .clip(None, pl.col("_np"))
                - 1,
                null_on_oob=True,
            )
            .alias("sen_upper"),
        )
        .select("series", "mk_s", "mk_z", "mk_tau", "sen_slope", "sen_lower", "sen_upper")
    )
    mk_z = mk["mk_z"].to_numpy().astype(float)
    mk = mk.with_columns(
        pl.Series("mk_p", 2 * stats.norm.sf(np.abs(mk_z)), dtype=pl.Float64).fill_nan(None)
    )
    intercept = (
        frame.join(mk.select("series", "sen_slope"), on="series")
        .group_by("series")
        .agg((pl.col("value") - pl.col("sen_slope") * pl.col("_t")).median().alias("_icpt"))
    )
    ols = _ols_hac(frame)
    out = (
        base.join(mk, on="series", how="left")
        .join(intercept, on="series", how="left")
        .join(ols, on="series", how="left")
        .with_columns(
            (pl.col("_icpt") + pl.col("sen_slope") * pl.col("_t0")).alias("_level0"),
            (pl.col("sen_slope") * (pl.col("_t1") - pl.col("_t0"))).alias("change"),
        )
        .with_columns(
            pl.when(pl.col("_level0") != 0)
            .then(100 * pl.col("change") / pl.col("_level0").abs())
            .otherwise(None)
            .alias("pct_change"),
            pl.when(pl.col("n") < 8)
            .then(pl.lit("too few points"))
            .when(
                (pl.col("mk_p") < alpha)
                & (pl.col("ols_p") < alpha)
                & (pl.col("sen_slope").sign() == pl.col("ols_slope").sign())
            )
            .then(pl.when(pl.col("sen_slope") > 0).then(pl.lit("rising")).otherwise(pl.lit("falling")))
            .otherwise(pl.lit("no clear trend"))
            .alias("direction"),
            pl.lit(window, dtype=pl.Int64).alias("window_months"),
        )
        .rename({"sen_slope": "slope_per_year"})
    )
    return out.select(
        "series",
        "window_months",
        "start",
        "end",
        "n",
        "mean",
        "direction",
        "slope_per_year",
        "sen_lower",
        "sen_upper",
        "change",
        "pct_change",
        "mk_tau",
        "mk_z",
        "mk_p",
        "ols_slope",
        "ols_se_hac",
        "ols_p",
    ).sort("series")


def _ols_hac(frame: pl.DataFrame) -> pl.DataFrame:
    """OLS slope per year with Newey-West standard errors, one statsmodels fit per series."""
    import statsmodels.api as sm

    rows = []
    for (name,), part in frame.partition_by("series", as_dict=True, maintain_order=True).items():
        y = part["value"].to_numpy().astype(float)
        t = part["_t"].to_numpy().astype(float)
        if len(y) < 4 or np.ptp(t) == 0:
            rows.append((name, None, None, None))
            continue
        maxlags = max(1, int(math.floor(4 * (len(y) / 100) ** (2 / 9))))  # Newey-West rule
        fit = sm.OLS(y, sm.add_constant(t - t.mean())).fit(
            cov_type="HAC", cov_kwds={"maxlags": maxlags}
        )
        se = float(fit.bse[1])
        p = float(fit.pvalues[1]) if np.isfinite(fit.pvalues[1]) else None
        rows.append((name, float(fit.params[1]), se, p))
    return pl.DataFrame(
        rows,
        schema={"series": pl.String, "ols_slope": pl.Float64, "ols_se_hac": pl.Float64, "ols_p": pl.Float64},
        orient="row",
    )

