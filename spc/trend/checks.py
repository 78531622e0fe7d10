"""Autocorrelation (Ljung-Box) and the data checks an analyst can act on."""

from __future__ import annotations

import polars as pl
from scipy import stats

from spc.trend.frame import _month_index, as_series_frame, months_step


def ljung_box(data: pl.DataFrame, *, lags: int = 6) -> pl.DataFrame:
    """Ljung-Box test of autocorrelation for every series at once (lags 1..`lags`).

    Vectorised: each lag's autocorrelation is one grouped polars expression. Returns series,
    n, lags, acf1 (lag-1 autocorrelation), q and p_value.
    """
    frame = as_series_frame(data).filter(pl.col("value").is_not_null())
    frame = frame.with_columns(
        (pl.col("value") - pl.col("value").mean().over("series")).alias("_d")
    )
    aggs = [pl.len().alias("n"), (pl.col("_d") ** 2).sum().alias("_c0")]
    for k in range(1, lags + 1):
        aggs.append((pl.col("_d") * pl.col("_d").shift(k)).sum().alias(f"_c{k}"))
    acf = frame.group_by("series", maintain_order=True).agg(aggs)
    q = pl.sum_horizontal(
        [
            (pl.col(f"_c{k}") / pl.col("_c0")) ** 2 / (pl.col("n") - k)
            for k in range(1, lags + 1)
        ]
    ) * pl.col("n") * (pl.col("n") + 2)
    acf = acf.with_columns(
        pl.when(pl.col("_c0") > 0).then(q).otherwise(None).alias("q"),
        pl.when(pl.col("_c0") > 0).then(pl.col("_c1") / pl.col("_c0")).otherwise(None).alias("acf1"),
        pl.lit(lags).alias("lags"),
    )
    qv = acf["q"].to_numpy().astype(float)
    p = stats.chi2.sf(qv, lags)
    acf = acf.with_columns(pl.Series("p_value", p, dtype=pl.Float64).fill_nan(None))
    acf = acf.with_columns(
        pl.when(pl.col("n") > lags + 2).then(pl.col("p_value")).otherwise(None).alias("p_value")
    )
    return acf.select("series", "n", "lags", "acf1", "q", "p_value")


def data_checks(
    data: pl.DataFrame,
    phases: pl.DataFrame | None = None,
    *,
    alpha: float = 0.01,
    min_phase_points: int = 12,
    min_segment: int = 6,
) -> pl.DataFrame:
    """Warnings an analyst can act on, one short sentence each: `series, check, message`.

    Checks: strong autocorrelation (Ljung-Box p < `alpha`), gaps in the periods, irregular
    spacing, a missing or zero denominator where a numerator is given, and (when the engine's
    `phases` frame is passed) phases with fewer than `min_phase_points` points, and series
    too short for `change_points` to look for a step (fewer than 2 x `min_segment` values,
    its default): they are skipped there, and said here rather than left silent.
    """
    frame = as_series_frame(data)
    out: list[pl.DataFrame] = []
    lb = ljung_box(frame).filter(pl.col("p_value") < alpha)
    out.append(
        lb.select(
            "series",
            pl.lit("autocorrelation").alias("check"),
            pl.format(
                "Consecutive values are strongly related (lag-1 autocorrelation {}, Ljung-Box "
                "p {}); control limits may be too narrow, so treat single-point signals with "
                "caution and look at the trend view.",
                pl.col("acf1").round(2),
                pl.when(pl.col("p_value") < 0.001)
                .then(pl.lit("< 0.001"))
                .otherwise(pl.col("p_value").round(3).cast(pl.String)),
            ).alias("message"),
        )
    )
    steps = months_step(frame)
    spaced = (
        frame.join(steps, on="series")
        .with_columns(_month_index().alias("_m"))
        .with_columns(pl.col("_m").diff().over("series").alias("_d"))
    )
    gaps = (
        spaced.filter(
            (pl.col("_d") > pl.col("months_step")) & (pl.col("_d") % pl.col("months_step") == 0)
        )
        .group_by("series")
        .agg(
            ((pl.col("_d") / pl.col("months_step")) - 1).sum().cast(pl.Int64).alias("missing"),
            pl.col("period").min().alias("first_after_gap"),
        )
    )
    out.append(
        gaps.select(
            "series",
            pl.lit("gaps").alias("check"),
            pl.format(
                "{} period(s) are missing (the first gap ends at {}); fill them or mark them, "
                "because runs rules count consecutive points.",
                pl.col("missing"),
                pl.col("first_after_gap").cast(pl.String),
            ).alias("message"),
        )
    )
    irregular = (
        spaced.filter(pl.col("_d").is_not_null() & (pl.col("_d") % pl.col("months_step") != 0))
        .group_by("series")
        .agg(pl.col("period").min().alias("at"), pl.len().alias("k"))
    )
    out.append(
        irregular.select(
            "series",
            pl.lit("irregular periods").alias("check"),
            pl.format(
                "Periods are unevenly spaced ({} irregular step(s), first at {}); put every "
                "point on the same monthly or quarterly calendar.",
                pl.col("k"),
                pl.col("at").cast(pl.String),
            ).alias("message"),
        )
    )
    has_num = data.columns.__contains__("numerator")
    if has_num:
        den_bad = (
            frame.filter(
                pl.col("numerator").is_not_null()
                & (pl.col("denominator").is_null() | (pl.col("denominator") <= 0))
            )
            .group_by("series")
            .agg(pl.len().alias("k"), pl.col("period").min().alias("at"))
        )
        out.append(
            den_bad.select(
                "series",
                pl.lit("missing denominator").alias("check"),
                pl.format(
                    "{} period(s) have a numerator but no usable denominator (first {}); supply "
                    "the denominator or the rate cannot be charted.",
                    pl.col("k"),
                    pl.col("at").cast(pl.String),
                ).alias("message"),
            )
        )
    short_cp = (
        frame.filter(pl.col("value").is_not_null())
        .group_by("series")
        .agg(pl.len().alias("k"))
        .filter(pl.col("k") < 2 * min_segment)
    )
    out.append(
        short_cp.select(
            "series",
            pl.lit("too short for change points").alias("check"),
            pl.format(
                "Only {} values: too few to look for a change point ({} are needed, {} each side "
                "of a step), so none is suggested.",
                pl.col("k"),
                pl.lit(2 * min_segment),
                pl.lit(min_segment),
            ).alias("message"),
        )
    )
    if phases is not None and phases.height:
        n_col = "n_used" if "n_used" in phases.columns else "n_points"
        short = phases.filter(pl.col(n_col) < min_phase_points)
        out.append(
            short.select(
                pl.col("series").cast(pl.String),
                pl.lit("short phase").alias("check"),
                pl.format(
                    "Phase {} (from {}) has only {} points; its limits are provisional until it "
                    "has {}.",
                    pl.col("phase"),
                    pl.col("start").cast(pl.String),
                    pl.col(n_col),
                    pl.lit(min_phase_points),
                ).alias("message"),
            )
        )
    schema = {"series": pl.String, "check": pl.String, "message": pl.String}
    res = pl.concat([o.cast(schema) for o in out if o.height]) if any(o.height for o in out) else None
    return (res if res is not None else pl.DataFrame(schema=schema)).sort("series", "check")

