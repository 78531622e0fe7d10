"""Seasonality (STL strength and a Kruskal-Wallis test), labelled seasonal adjustment, and the
expected range of the latest point (ETS)."""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import stats

from spc.errors import SpcError
from spc.trend.frame import _MONTH_NAMES, _month_index, _regular, as_series_frame

#: Label attached to every seasonally adjusted value, so that no chart shows one unlabelled.
ADJUSTED_LABEL = "seasonally adjusted (STL)"


def _stl(y: np.ndarray, period: int):
    from statsmodels.tsa.seasonal import STL

    # seasonal_deg=0: locally constant seasonal sub-series. The default (linear) extrapolates
    # at both ends and soaks up noise there, which made adjusted series look like they shift.
    # Not robust: robust weights leave large noise values unadjusted and skew the adjusted
    # series, and on simulated seasonal noise that doubled the false signals on its XmR chart.
    return STL(y, period=period, robust=False, seasonal_deg=0).fit()



def _kruskal_by_series(sid: np.ndarray, group: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kruskal-Wallis H and p-value of `x` across `group` within each `sid` (0..k-1, every id
    present), all series at once: the same sums as scipy.stats.kruskal (average ranks, tie
    correction 1 - sum(t^3 - t) / (N^3 - N), chi-squared with groups - 1 degrees of freedom),
    and NaN for a series with a NaN value, as scipy gives."""
    k = int(sid.max()) + 1 if len(sid) else 0
    # + 0.0 makes -0.0 a +0.0, so the two rank and tie together as they do in scipy
    df = pl.DataFrame({"sid": sid, "g": group, "x": x + 0.0}).with_columns(
        pl.col("x").rank("average").over("sid").alias("r")
    )
    per = (
        df.group_by("sid", "g")
        .agg(pl.col("r").sum().alias("rs"), pl.len().alias("ni"))
        # summed in a fixed order: the same data gives the same H to the last bit, so a refresh
        # does not see a stored view as changed when nothing has
        .sort("sid", "g")
        .group_by("sid", maintain_order=True)
        .agg((pl.col("rs") ** 2 / pl.col("ni")).sum().alias("ssbn"), pl.len().alias("groups"))
    )
    ties = (
        df.group_by("sid", "x")
        .agg(pl.len().cast(pl.Float64).alias("t"))
        .group_by("sid")
        .agg((pl.col("t") ** 3 - pl.col("t")).sum().alias("tt"))
    )
    nan = df.group_by("sid").agg(pl.len().cast(pl.Float64).alias("N"), pl.col("x").is_nan().any().alias("nan"))
    per = nan.join(per, on="sid").join(ties, on="sid").sort("sid")
    assert per.height == k
    n_tot, ssbn = per["N"].to_numpy(), per["ssbn"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        h = 12.0 / (n_tot * (n_tot + 1)) * ssbn - 3 * (n_tot + 1)
        h = h / (1 - per["tt"].to_numpy() / (n_tot**3 - n_tot))
    h[per["nan"].to_numpy()] = np.nan
    p = stats.chi2.sf(h, per["groups"].to_numpy() - 1.0)
    return h, p


def seasonality(data: pl.DataFrame, *, period: int = 12, alpha: float = 0.01) -> pl.DataFrame:
    """Is each monthly series seasonal? Strength of the seasonal component and a test.

    Strength (Wang, Smith and Hyndman 2006): max(0, 1 - var(remainder) / var(seasonal +
    remainder)) from an STL fit; 0 is none, above about 0.6 is strong. Test:
    Kruskal-Wallis across calendar months of the detrended values (value minus STL trend),
    which makes no normality assumption. `seasonal` is True when the test rejects at `alpha`
    and the strength is at least 0.3 (a significant but tiny pattern is not worth adjusting
    for). Needs at least two full years of consecutive months; otherwise `seasonal` is null
    and `note` says why.

    Which series qualify and the Kruskal-Wallis tests are worked out for every series at once;
    only the STL fit (and the strength and monthly means taken from it) is per series.
    """
    frame = as_series_frame(data).filter(pl.col("value").is_not_null())
    each = frame.group_by("series", maintain_order=True).agg(
        pl.len().alias("n"),
        ((pl.len() > 1) & (_month_index().diff().drop_nulls() == 1).all()).alias("regular"),
    )
    each = each.with_columns(
        pl.when(pl.col("n") < 2 * period)
        .then(pl.format(f"needs {2 * period} consecutive months, has {{}}", pl.col("n")))
        .when(~pl.col("regular"))
        .then(pl.lit("periods are not consecutive months"))
        .alias("note"),
    )
    fit = each.filter(pl.col("note").is_null())
    part = frame.join(fit.select("series"), on="series", how="semi", nulls_equal=True, maintain_order="left")
    y = part["value"].cast(pl.Float64).to_numpy()
    months = part["period"].dt.month().to_numpy()
    ends = np.cumsum(fit["n"].to_numpy())
    detr = np.empty_like(y)
    strength = np.empty(fit.height)
    mean_seas = np.empty((fit.height, 12))
    for i, (a, b) in enumerate(zip(ends - fit["n"].to_numpy(), ends)):
        res = _stl(y[a:b], period)
        seas, resid = np.asarray(res.seasonal), np.asarray(res.resid)
        denom = np.var(seas + resid)
        strength[i] = float(max(0.0, 1 - np.var(resid) / denom)) if denom > 0 else 0.0
        detr[a:b] = y[a:b] - np.asarray(res.trend)
        # consecutive months: calendar month m is every 12th value from its first position
        # (sum / count is what ndarray.mean computes, so a tie for the peak breaks as before)
        first = (np.arange(1, 13) - months[a]) % 12
        mean_seas[i] = [seas[j::12].sum() for j in first]
        mean_seas[i] /= (b - a - first + 11) // 12
    sid = np.repeat(np.arange(fit.height), fit["n"].to_numpy())
    h, p = _kruskal_by_series(sid, months, detr)
    peak = np.nanargmax(mean_seas, axis=1) if fit.height else np.empty(0, dtype=int)
    trough = np.nanargmin(mean_seas, axis=1) if fit.height else np.empty(0, dtype=int)
    names = np.array(_MONTH_NAMES)
    tested = fit.select(
        "series",
        pl.Series("seasonal_strength", strength, dtype=pl.Float64),
        pl.Series("kruskal_h", h, dtype=pl.Float64),
        pl.Series("p_value", p, dtype=pl.Float64),
        pl.Series("seasonal", (p < alpha) & (strength >= 0.3), dtype=pl.Boolean),
        pl.Series("peak_month", names[peak], dtype=pl.String),
        pl.Series("trough_month", names[trough], dtype=pl.String),
        pl.Series(
            "seasonal_range",
            np.nanmax(mean_seas, axis=1) - np.nanmin(mean_seas, axis=1) if fit.height else np.empty(0),
            dtype=pl.Float64,
        ),
    )
    return each.join(tested, on="series", how="left", nulls_equal=True, maintain_order="left").select(
        pl.col("series").cast(pl.String),
        pl.col("n").cast(pl.Int64),
        "seasonal_strength",
        "kruskal_h",
        "p_value",
        "seasonal",
        "peak_month",
        "trough_month",
        "seasonal_range",
        pl.col("note").cast(pl.String),
    )


def season_at_latest(data: pl.DataFrame, *, period: int = 12, share: float = 0.5) -> pl.DataFrame:
    """Does each series' latest value fall in the months when it usually peaks (or dips)?

    For every series `seasonality` calls seasonal, the calendar month of the latest value is
    compared with the STL seasonal component averaged by month: "peak" when that month's effect
    is at least `share` of the largest monthly effect, "trough" when it is at least `share` of
    the most negative one. A signal at the season's usual peak may be the season, not a change,
    so `sentence` says so for the narrative. Returns series, period (the latest), month,
    seasonal, position ("peak", "trough" or null) and sentence (null when there is nothing
    to say). Series too short or irregular for `seasonality` get seasonal null and no sentence.
    """
    frame = as_series_frame(data).filter(pl.col("value").is_not_null())
    flags = {r["series"]: r for r in seasonality(frame, period=period).iter_rows(named=True)}
    rows = []
    for (name,), part in frame.partition_by("series", as_dict=True, maintain_order=True).items():
        latest = part["period"][-1]
        month = _MONTH_NAMES[latest.month - 1]
        flag = flags.get(name, {})
        position = sentence = None
        if flag.get("seasonal"):
            seas = np.asarray(_stl(part["value"].to_numpy().astype(float), period).seasonal)
            months = part["period"].dt.month().to_numpy()
            effect = np.array([seas[months == m].mean() for m in range(1, 13)])
            own = effect[latest.month - 1]
            if own > 0 and own >= share * effect.max():
                position = "peak"
            elif own < 0 and own <= share * effect.min():
                position = "trough"
        if position is not None:
            high = position == "peak"
            sentence = (
                f"{month} is one of the months when this series is usually {'high' if high else 'low'} "
                f"(it peaks in {flag['peak_month']} and dips in {flag['trough_month']}), so part of this "
                f"signal may be the season: compare {month} with {month} in earlier years, or use the "
                "seasonally adjusted view."
            )
        rows.append((name, latest, month, flag.get("seasonal"), position, sentence))
    return pl.DataFrame(
        rows,
        schema={"series": pl.String, "period": pl.Date, "month": pl.String, "seasonal": pl.Boolean,
                "position": pl.String, "sentence": pl.String},
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

