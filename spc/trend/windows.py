"""Rolling 12-month totals and rates, with the same window a year earlier."""

from __future__ import annotations

import polars as pl

from spc.errors import SpcError
from spc.trend.frame import _month_index, as_series_frame, months_step


def rolling(data: pl.DataFrame, *, months: int = 12, how: str = "auto") -> pl.DataFrame:
    """Rolling `months` totals (counts) or rates (numerator/denominator) or means, per period.

    `how`: "sum", "mean" or "auto" (ratio of rolling sums when there is a denominator, else
    sum). A window is only reported when it is complete (no missing periods), so a gap never
    makes a year look smaller. Adds the same window one year earlier and the change, the
    "year to date vs last year" view briefings use.
    """
    if how not in {"auto", "sum", "mean"}:
        raise SpcError(f"rolling: how must be auto, sum or mean, got {how!r}")
    frame = as_series_frame(data).join(months_step(as_series_frame(data)), on="series")
    frame = frame.with_columns(_month_index().alias("_m"))
    ratio = frame["denominator"].is_not_null().any()
    # each window: the rows of the same series with month index in (m - months, m]
    agg_cols = ["value", "numerator", "denominator"]
    joined = (
        frame.join(frame.select("series", "_m", *agg_cols), on="series", suffix="_w")
        .filter((pl.col("_m_w") <= pl.col("_m")) & (pl.col("_m_w") > pl.col("_m") - months))
        .group_by("series", "period", "_m", "months_step")
        .agg(
            pl.len().alias("_count"),
            pl.col("value_w").sum().alias("_sum"),
            pl.col("value_w").mean().alias("_mean"),
            pl.col("numerator_w").sum().alias("_num"),
            pl.col("denominator_w").sum().alias("_den"),
            pl.col("value_w").null_count().alias("_nulls"),
        )
    )
    complete = (pl.col("_count") == (pl.lit(months) / pl.col("months_step")).cast(pl.Int64)) & (
        pl.col("_nulls") == 0
    )
    if how == "mean":
        val = pl.col("_mean")
        kind = "mean"
    elif how == "sum" or not ratio:
        val = pl.col("_sum")
        kind = "sum"
    else:
        val = pl.col("_num") / pl.col("_den")
        kind = "rate"
    out = joined.with_columns(
        pl.when(complete).then(val).otherwise(None).alias("rolling_value"),
        pl.lit(kind).alias("rolling_kind"),
        pl.lit(months, dtype=pl.Int64).alias("window_months"),
    ).select("series", "period", "_m", "window_months", "rolling_kind", "rolling_value")
    prev = out.select(
        "series", (pl.col("_m") + 12).alias("_m"), pl.col("rolling_value").alias("previous_year")
    )
    out = out.join(prev, on=["series", "_m"], how="left").with_columns(
        (pl.col("rolling_value") - pl.col("previous_year")).alias("change"),
        pl.when(pl.col("previous_year") != 0)
        .then(100 * (pl.col("rolling_value") / pl.col("previous_year") - 1))
        .otherwise(None)
        .alias("pct_change"),
    )
    return out.drop("_m").sort("series", "period")

