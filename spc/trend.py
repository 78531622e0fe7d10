"""Long-term trend, rolling 12-month figures, seasonality, expected ranges, data checks and
change-point suggestions, for many series at once.

Every function takes the same input as the engine: a polars frame with `series` (optional when
there is one series), `period` (date) and `value`, or `numerator` + `denominator` (then `value`
is their ratio). Cheap statistics (Theil-Sen, Mann-Kendall, rolling totals, Ljung-Box, gaps) are
computed for every series in one set of polars expressions; model fits (OLS with HAC errors,
STL, ETS, ruptures) run once per series because a model has to be fitted to each.

Nothing here changes the data the control charts use: seasonal adjustment returns a new,
labelled frame, and change points are suggestions for an analyst to accept or reject.
"""

from __future__ import annotations

import datetime as dt
import math
import numpy as np
import polars as pl
from scipy import stats

from spc.errors import SpcError

#: Label attached to every seasonally adjusted value, so that no chart shows one unlabelled.
ADJUSTED_LABEL = "seasonally adjusted (STL)"

_MONTH_NAMES = (
    "January February March April May June July August September October November December"
).split()


# --------------------------------------------------------------------------------------------
# input
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# long-term trend
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# rolling 12 months
# --------------------------------------------------------------------------------------------


def months_step(frame: pl.DataFrame) -> pl.DataFrame:
    """Per series, the usual number of months between consecutive periods (1 monthly, 3 quarterly)."""
    return (
        frame.with_columns(_month_index().alias("_m"))
        .with_columns(pl.col("_m").diff().over("series").alias("_d"))
        .group_by("series")
        .agg(pl.col("_d").drop_nulls().mode().min().fill_null(1).alias("months_step"))
    )


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


# --------------------------------------------------------------------------------------------
# seasonality
# --------------------------------------------------------------------------------------------


def _stl(y: np.ndarray, period: int):
    from statsmodels.tsa.seasonal import STL

    # seasonal_deg=0: locally constant seasonal sub-series. The default (linear) extrapolates
    # at both ends and soaks up noise there, which made adjusted series look like they shift.
    # Not robust: robust weights leave large noise values unadjusted and skew the adjusted
    # series, and on simulated seasonal noise that doubled the false signals on its XmR chart.
    return STL(y, period=period, robust=False, seasonal_deg=0).fit()


def _regular(part: pl.DataFrame) -> bool:
    m = part.select(_month_index().alias("m"))["m"].to_numpy()
    return len(m) > 1 and bool(np.all(np.diff(m) == 1))


def seasonality(data: pl.DataFrame, *, period: int = 12, alpha: float = 0.01) -> pl.DataFrame:
    """Is each monthly series seasonal? Strength of the seasonal component and a test.

    Strength (Wang, Smith and Hyndman 2006): max(0, 1 - var(remainder) / var(seasonal +
    remainder)) from an STL fit; 0 is none, above about 0.6 is strong. Test:
    Kruskal-Wallis across calendar months of the detrended values (value minus STL trend),
    which makes no normality assumption. `seasonal` is True when the test rejects at `alpha`
    and the strength is at least 0.3 (a significant but tiny pattern is not worth adjusting
    for). Needs at least two full years of consecutive months; otherwise `seasonal` is null
    and `note` says why.
    """
    frame = as_series_frame(data).filter(pl.col("value").is_not_null())
    rows = []
    for (name,), part in frame.partition_by("series", as_dict=True, maintain_order=True).items():
        n = part.height
        if n < 2 * period or not _regular(part):
            why = (
                f"needs {2 * period} consecutive months, has {n}"
                if n < 2 * period
                else "periods are not consecutive months"
            )
            rows.append((name, n, None, None, None, None, None, None, None, why))
            continue
        y = part["value"].to_numpy().astype(float)
        res = _stl(y, period)
        seas, resid, trend = np.asarray(res.seasonal), np.asarray(res.resid), np.asarray(res.trend)
        denom = np.var(seas + resid)
        strength = float(max(0.0, 1 - np.var(resid) / denom)) if denom > 0 else 0.0
        months = part["period"].dt.month().to_numpy()
        detr = y - trend
        groups = [detr[months == m] for m in np.unique(months)]
        stat, p = stats.kruskal(*groups)
        mean_seas = np.array([seas[months == m].mean() for m in range(1, 13)])
        peak, trough = int(np.nanargmax(mean_seas)) + 1, int(np.nanargmin(mean_seas)) + 1
        rows.append(
            (
                name,
                n,
                strength,
                float(stat),
                float(p),
                bool(p < alpha and strength >= 0.3),
                _MONTH_NAMES[peak - 1],
                _MONTH_NAMES[trough - 1],
                float(np.nanmax(mean_seas) - np.nanmin(mean_seas)),
                None,
            )
        )
    return pl.DataFrame(
        rows,
        schema={
            "series": pl.String,
            "n": pl.Int64,
            "seasonal_strength": pl.Float64,
            "kruskal_h": pl.Float64,
            "p_value": pl.Float64,
            "seasonal": pl.Boolean,
            "peak_month": pl.String,
            "trough_month": pl.String,
            "seasonal_range": pl.Float64,
            "note": pl.String,
        },
        orient="row",
    )


def seasonally_adjust(
    data: pl.DataFrame, *, period: int = 12, model: str = "additive"
) -> pl.DataFrame:
    """Seasonally adjusted values by STL, as a labelled option for control charts.

    Returns `series, period, value` (adjusted), `value_original`, `seasonal` and `adjustment`
    (always ADJUSTED_LABEL) so the result can be passed to the engine as an XmR input while the
    chart says what it shows. Numerator and denominator are dropped on purpose: an adjusted
    proportion has no binomial denominator, so chart it as XmR. `model="multiplicative"` fits STL
    to log values (for counts whose seasonal swing grows with the level).
    Raises SpcError for a series too short or with gaps: adjustment is never guessed.
    """
    if model not in {"additive", "multiplicative"}:
        raise SpcError(f"seasonal adjustment: model must be additive or multiplicative, got {model!r}")
    frame = as_series_frame(data)
    parts = []
    for (name,), part in frame.partition_by("series", as_dict=True, maintain_order=True).items():
        if part["value"].null_count() or part.height < 2 * period or not _regular(part):
            raise SpcError(
                f"seasonal adjustment: series {name!r} needs at least {2 * period} consecutive "
                f"months with no missing values"
            )
        y = part["value"].to_numpy().astype(float)
        if model == "multiplicative":
            if np.any(y <= 0):
                raise SpcError(
                    f"seasonal adjustment: series {name!r} has zero or negative values; "
                    "use the additive model"
                )
            seas = np.exp(np.asarray(_stl(np.log(y), period).seasonal))
            adj = y / seas
        else:
            seas = np.asarray(_stl(y, period).seasonal)
            adj = y - seas
        parts.append(
            part.select("series", "period").with_columns(
                pl.Series("value", adj),
                pl.Series("value_original", y),
                pl.Series("seasonal", seas),
                pl.lit(ADJUSTED_LABEL if model == "additive" else ADJUSTED_LABEL + ", multiplicative").alias(
                    "adjustment"
                ),
            )
        )
    return pl.concat(parts) if parts else frame.head(0)


def analyse_adjusted(data: pl.DataFrame, specs: object, *, period: int = 12, model: str = "additive"):
    """Control charts on seasonally adjusted values: the labelled option, never the default.

    Adjusts every series with `seasonally_adjust`, charts the adjusted values as XmR (a p, p',
    u or u' spec becomes XmR with the same other settings, because adjusted rates have no
    binomial or Poisson denominator) and returns the engine's `Analysis` whose points carry
    `value_original`, `seasonal` and `adjustment` (ADJUSTED_LABEL) so no chart can show adjusted
    values without saying so. `specs` is a SeriesSpec or a mapping of series to SeriesSpec.
    """
    import dataclasses
    from collections.abc import Mapping

    from spc.engine import Analysis, SeriesSpec, analyse

    def as_xmr(spec: SeriesSpec) -> SeriesSpec:
        return spec if spec.chart in ("xmr", "run") else dataclasses.replace(spec, chart="xmr")

    xspecs = {k: as_xmr(v) for k, v in specs.items()} if isinstance(specs, Mapping) else as_xmr(specs)  # type: ignore[arg-type]
    adj = seasonally_adjust(data, period=period, model=model)
    result = analyse(adj.select("series", "period", "value"), xspecs)
    points = result.points.join(
        adj.select("series", "period", "value_original", "seasonal", "adjustment"), on=["series", "period"], how="left"
    )
    summary = result.summary.with_columns(pl.lit(adj["adjustment"][0] if adj.height else ADJUSTED_LABEL).alias("adjustment"))
    return Analysis(points=points, phases=result.phases, summary=summary)


def expected_range(
    data: pl.DataFrame, *, level: float = 0.95, period: int = 12, history: int | None = 60
) -> pl.DataFrame:
    """Expected range for each series' latest point given its season and trend.

    Fits an ETS model (additive error, damped additive trend, additive season when there are
    at least two full years of consecutive months, otherwise no season) to every point but the
    latest (at most the `history` points before it: recent behaviour is what the next month
    follows, and it keeps the fit quick), and gives the one-step prediction interval at
    `level`. `within` says whether the latest value falls inside it. One fit per series.
    """
    import warnings

    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    frame = as_series_frame(data).filter(pl.col("value").is_not_null())
    rows = []
    for (name,), part in frame.partition_by("series", as_dict=True, maintain_order=True).items():
        y = part["value"].to_numpy().astype(float)
        latest = part.row(-1, named=True)
        if len(y) < 12:
            rows.append((name, latest["period"], latest["value"], None, None, None, None, level, "too few points"))
            continue
        hist = y[:-1] if history is None else y[:-1][-history:]
        seasonal = len(hist) >= 2 * period + 2 and _regular(part.tail(len(hist) + 1))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pandas as pd  # statsmodels' prediction frames need a pandas index

            model = ETSModel(
                pd.Series(hist),
                error="add",
                trend="add",
                damped_trend=True,
                seasonal="add" if seasonal else None,
                seasonal_periods=period if seasonal else None,
                # heuristic initial states: 10-20x faster than estimating 13 more parameters,
                # with near-identical intervals on the demo and real series
                initialization_method="heuristic",
            )
            fit = model.fit(disp=False)
            pred = fit.get_prediction(start=len(hist), end=len(hist))
            frame_pi = pred.summary_frame(alpha=1 - level)
        mean = float(frame_pi["mean"].iloc[0])
        lo, hi = float(frame_pi["pi_lower"].iloc[0]), float(frame_pi["pi_upper"].iloc[0])
        if np.all(y >= 0):
            lo = max(lo, 0.0)  # counts, times and rates cannot go below zero
        method = "ETS(A,Ad,A)" if seasonal else "ETS(A,Ad,N)"
        rows.append(
            (name, latest["period"], latest["value"], mean, lo, hi, bool(lo <= latest["value"] <= hi), level, method)
        )
    return pl.DataFrame(
        rows,
        schema={
            "series": pl.String,
            "period": pl.Date,
            "value": pl.Float64,
            "expected": pl.Float64,
            "lower": pl.Float64,
            "upper": pl.Float64,
            "within": pl.Boolean,
            "level": pl.Float64,
            "method": pl.String,
        },
        orient="row",
    )


# --------------------------------------------------------------------------------------------
# autocorrelation and data checks
# --------------------------------------------------------------------------------------------


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
) -> pl.DataFrame:
    """Warnings an analyst can act on, one short sentence each: `series, check, message`.

    Checks: strong autocorrelation (Ljung-Box p < `alpha`), gaps in the periods, irregular
    spacing, a missing or zero denominator where a numerator is given, and (when the engine's
    `phases` frame is passed) phases with fewer than `min_phase_points` points.
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


# --------------------------------------------------------------------------------------------
# change points
# --------------------------------------------------------------------------------------------


def change_points(
    data: pl.DataFrame,
    *,
    min_segment: int = 6,
    penalty: float | None = None,
    alpha: float = 0.01,
    min_shift_sigma: float = 1.0,
    adjust_seasonality: bool = False,
) -> pl.DataFrame:
    """Suggest dates where a sustained shift in level begins, with the evidence.

    Segments each series with ruptures (PELT on the least-squares cost, via KernelCPD) on values scaled by a robust
    estimate of point-to-point variation (median moving range / 0.954, which a single step
    barely moves). A break is kept only if the segments either side differ by at least
    `min_shift_sigma` sigmas, and a Welch t-test comparing them, Bonferroni-corrected for the
    number of positions a break could have taken, gives p < `alpha`; each
    segment must hold at least `min_segment` points. `adjust_seasonality=True` segments STL
    seasonally adjusted values (so a summer peak is not mistaken for a shift) for every series
    with 24 or more consecutive months; `method` says which were adjusted.

    Output, one row per suggestion: series, suggested_start (first period of the new level),
    before_mean, after_mean, shift, shift_sigma, p_value, n_before, n_after, method, evidence.
    Nothing is rebased: an analyst accepts or rejects each suggestion.
    """
    import ruptures as rpt

    frame = as_series_frame(data).filter(pl.col("value").is_not_null())
    rows = []
    for (name,), part in frame.partition_by("series", as_dict=True, maintain_order=True).items():
        y = part["value"].to_numpy().astype(float)
        n = len(y)
        if n < 2 * min_segment:
            continue
        method = "ruptures PELT (least squares)"
        if adjust_seasonality:
            # series too short or irregular to adjust are segmented as they are, and say so
            if n >= 24 and _regular(part):
                y = y - np.asarray(_stl(y, 12).seasonal)
                method += ", seasonally adjusted"
            else:
                method += ", not seasonally adjusted (needs 24 consecutive months)"
        mr = np.abs(np.diff(y))
        sigma = float(np.median(mr) / 0.954) if np.median(mr) > 0 else float(np.std(y))
        if not sigma > 0:
            continue
        z = (y - np.median(y)) / sigma
        # BIC-like penalty for a mean shift in unit-variance data, a little stricter (3 log n)
        pen = penalty if penalty is not None else 3.0 * math.log(n)
        # KernelCPD with a linear kernel is PELT on the least-squares cost, in C (~1000x faster
        # than rpt.Pelt(model="l2") on 100 points, with the same breakpoints)
        bkps = rpt.KernelCPD(kernel="linear", min_size=min_segment).fit(z).predict(pen=pen)
        edges = [0, *(int(b) for b in bkps)]
        periods = part["period"].to_list()
        for i in range(1, len(edges) - 1):
            a0, b, a1 = edges[i - 1], edges[i], edges[i + 1]
            before, after = y[a0:b], y[b:a1]
            shift = float(after.mean() - before.mean())
            t = stats.ttest_ind(after, before, equal_var=False)
            # the break was chosen as the best of many positions, so a plain t-test p is far
            # too small; Bonferroni over the candidate positions keeps false alarms rare
            candidates = max(1, n - 2 * min_segment + 1)
            p = float(min(1.0, t.pvalue * candidates))
            if abs(shift) / sigma < min_shift_sigma or not p < alpha:
                continue
            word = "up" if shift > 0 else "down"
            evidence = (
                f"Level moved {word} from {fmt_number(before.mean())} ({len(before)} points) to "
                f"{fmt_number(after.mean())} ({len(after)} points) from {periods[b]}: "
                f"{abs(shift) / sigma:.1f} times the usual point-to-point variation "
                f"(Welch t-test, corrected for the search, p = {p:.2g}). Suggested date for recalculating limits, if a known "
                "change explains it."
            )
            rows.append(
                (
                    name,
                    periods[b],
                    float(before.mean()),
                    float(after.mean()),
                    shift,
                    shift / sigma,
                    p,
                    len(before),
                    len(after),
                    method,
                    evidence,
                )
            )
    return pl.DataFrame(
        rows,
        schema={
            "series": pl.String,
            "suggested_start": pl.Date,
            "before_mean": pl.Float64,
            "after_mean": pl.Float64,
            "shift": pl.Float64,
            "shift_sigma": pl.Float64,
            "p_value": pl.Float64,
            "n_before": pl.Int64,
            "n_after": pl.Int64,
            "method": pl.String,
            "evidence": pl.String,
        },
        orient="row",
    )

