"""Input normalisation and the small helpers every part of spc.trend shares: the series frame,
month indices, plain numbers and period names."""

from __future__ import annotations

import datetime as dt
import functools
import math

import numpy as np
import polars as pl

from spc.errors import SpcError

_MONTH_NAMES = (
    "January February March April May June July August September October November December"
).split()



def as_series_frame(data: pl.DataFrame, *, source: str = "input") -> pl.DataFrame:
    """Normalise input to `series, period, value, numerator, denominator`, sorted.

    Accepts the `spc chart` input shape. `value` is computed from numerator / denominator
    when both are present. Raises SpcError naming the column when the shape is wrong.
    """
    cols = set(data.columns)
    if "period" not in cols:
        raise SpcError(f"{source}: missing column 'period' (expected an ISO date per row)")
    has_ratio = {"numerator", "denominator"} <= cols
    if "value" not in cols and not has_ratio:
        raise SpcError(
            f"{source}: expected a 'value' column, or 'numerator' and 'denominator' columns"
        )
    frame = data
    if "series" not in cols:
        frame = frame.with_columns(pl.lit("").alias("series"))
    period = pl.col("period")
    if frame.schema["period"] == pl.String:
        period = pl.col("period").str.to_date(strict=False)
    elif frame.schema["period"] == pl.Datetime:
        period = pl.col("period").dt.date()
    frame = frame.with_columns(pl.col("series").cast(pl.String), period.alias("_period"))
    bad = frame.with_row_index("_row").filter(pl.col("_period").is_null())
    if bad.height:
        row = bad.row(0, named=True)
        raise SpcError(
            f"{source}: row {row['_row'] + 2}, column 'period': expected an ISO date "
            f"(YYYY-MM-DD), got {row['period']!r}"
        )
    frame = frame.with_columns(pl.col("_period").alias("period")).drop("_period")
    if has_ratio:
        num = pl.col("numerator").cast(pl.Float64, strict=False)
        den = pl.col("denominator").cast(pl.Float64, strict=False)
        frame = frame.with_columns(num.alias("numerator"), den.alias("denominator"))
        # a frame that was normalised before has both `value` and all-null num/den: keep value
        fallback = (
            pl.col("value").cast(pl.Float64, strict=False)
            if "value" in cols
            else pl.lit(None, dtype=pl.Float64)
        )
        frame = frame.with_columns(
            pl.when(pl.col("numerator").is_not_null() & pl.col("denominator").is_not_null())
            .then(
                pl.when(pl.col("denominator") > 0)
                .then(pl.col("numerator") / pl.col("denominator"))
                .otherwise(None)
            )
            .otherwise(fallback)
            .alias("value")
        )
    else:
        frame = frame.with_columns(
            pl.col("value").cast(pl.Float64, strict=False),
            pl.lit(None, dtype=pl.Float64).alias("numerator"),
            pl.lit(None, dtype=pl.Float64).alias("denominator"),
        )
    dupes = frame.filter(pl.struct("series", "period").is_duplicated())
    if dupes.height:
        row = dupes.row(0, named=True)
        raise SpcError(
            f"{source}: series {row['series']!r} has more than one row for period "
            f"{row['period']} (expected one row per series and period)"
        )
    return frame.select("series", "period", "value", "numerator", "denominator").sort(
        "series", "period"
    )


def _month_index(col: str = "period") -> pl.Expr:
    """Months since year 0: equal steps for monthly and quarterly data alike."""
    return pl.col(col).dt.year().cast(pl.Int64) * 12 + pl.col(col).dt.month().cast(pl.Int64) - 1


def fmt_number(x: float) -> str:
    """A plain number for sentences: 28,601 / 28.6 / 0.294 (no scientific notation)."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}"
    return f"{x:.3g}"


def period_label(d: dt.date, months_step: int = 1) -> str:
    """'November 2023' for monthly data; 'quarter starting January 2014' for quarterly."""
    text = f"{_MONTH_NAMES[d.month - 1]} {d.year}"
    return text if months_step == 1 else f"the {months_step}-month period from {text}"



def months_step(frame: pl.DataFrame) -> pl.DataFrame:
    """Per series, the usual number of months between consecutive periods (1 monthly, 3 quarterly)."""
    return (
        frame.with_columns(_month_index().alias("_m"))
        .with_columns(pl.col("_m").diff().over("series").alias("_d"))
        .group_by("series")
        .agg(pl.col("_d").drop_nulls().mode().min().fill_null(1).alias("months_step"))
    )



def _regular(part: pl.DataFrame) -> bool:
    m = part.select(_month_index().alias("m"))["m"].to_numpy()
    return len(m) > 1 and bool(np.all(np.diff(m) == 1))



def lag1_corrected(r: np.ndarray | float, n: np.ndarray | float) -> np.ndarray:
    """Lag-1 autocorrelation of detrended values, corrected for its small-sample bias and clipped
    to [0, 0.95], as used by every test here that allows for autocorrelation.

    The estimate from n detrended values is biased low by about (2 + 4r) / n (Marriott and Pope
    1954 give (1 + 4r) / n once a mean is removed; removing a slope costs about 1 / n more).
    Without the correction a Mann-Kendall test on AR(1) phi 0.5 series of 36 points rejected in
    8.4% of trend-free series; with it, 5.9% (tests/test_stat_size_trend.py). Negative values
    are set to 0: they would narrow the test, and short series give them by chance.
    """
    r = np.asarray(r, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip(np.nan_to_num(r + (2 + 4 * r) / n), 0.0, 0.95)


def variance_inflation(r_corrected: np.ndarray | float) -> np.ndarray:
    """(1 + r) / (1 - r): how much AR(1) autocorrelation r inflates the variance of a sum of
    signs or values (Bayley and Hammersley 1946; the effective sample size is n / this)."""
    r = np.asarray(r_corrected, dtype=float)
    return (1 + r) / (1 - r)


@functools.lru_cache(maxsize=64)
def _seasonal_kendall_table(n: int, period: int = 12) -> np.ndarray:
    """Var(S) / Var(S | independence) of the seasonal Kendall statistic on `n` consecutive periods,
    at each lag-1 autocorrelation of `SK_GRID`, for Gaussian AR(1) noise: S sums the signs of
    every within-season difference, and two signs covary by (2 / pi) arcsin of their differences'
    correlation (the law that gives the textbook variance when there is no autocorrelation)."""
    t = np.arange(n)
    later, earlier = np.meshgrid(t, t, indexing="ij")
    keep = (later > earlier) & ((later - earlier) % period == 0)
    tj, ti = later[keep], earlier[keep]
    out = []
    for rho in SK_GRID:
        def gamma(h: np.ndarray) -> np.ndarray:
            return rho ** np.abs(h)
        cov = (gamma(tj[:, None] - tj[None, :]) - gamma(tj[:, None] - ti[None, :])
               - gamma(ti[:, None] - tj[None, :]) + gamma(ti[:, None] - ti[None, :]))
        sd = np.sqrt(np.diag(cov))
        out.append(((2 / np.pi) * np.arcsin(np.clip(cov / np.outer(sd, sd), -1.0, 1.0))).sum())
    return np.asarray(out) / out[0]


#: lag-1 autocorrelations at which `seasonal_kendall_inflation` is tabled (then interpolated)
SK_GRID = np.linspace(0.0, 0.95, 39)


def seasonal_kendall_inflation(r_corrected: np.ndarray | float, n: np.ndarray | int) -> np.ndarray:
    """How much AR(1) autocorrelation r (corrected, as `lag1_corrected` gives it) inflates the
    variance of the seasonal Kendall statistic on `n` consecutive months: exact for Gaussian
    AR(1) noise (`_seasonal_kendall_table`), not the (1 + r) / (1 - r) of a sum of neighbouring
    signs, which over-corrects a statistic whose pairs are a year or more apart (on AR(1) phi 0.5
    series of 36 months, 0.6% rejected instead of about 5%; tests/test_stat_size_trend.py)."""
    r = np.atleast_1d(np.asarray(r_corrected, dtype=float))
    n = np.broadcast_to(np.asarray(n, dtype=int), r.shape)
    out = np.ones_like(r)
    for size in np.unique(n):
        at = n == size
        out[at] = np.interp(np.clip(r[at], 0.0, SK_GRID[-1]), SK_GRID, _seasonal_kendall_table(int(size)))
    return out
