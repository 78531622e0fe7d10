"""Two date windows of every series of a frame: the change, its interval, a verdict and a
plain-English sentence, with each series' own variation measured from its history."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from scipy import stats

from spc.compare.cores import KINDS, NOT_BEYOND, compare_counts, compare_means, compare_proportions
from spc.dates import as_date
from spc.errors import SpcError
from spc.trend import as_series_frame, fmt_number, months_step
from spc.trend.frame import _month_index


def _shift_year(d: dt.date, years: int) -> dt.date:
    return d.replace(year=d.year + years) if not (d.month == 2 and d.day == 29) else d.replace(
        year=d.year + years, day=28
    )


#: Overdispersion is used only when Pearson's test rejects "Poisson / binomial" at this level.
OVERDISPERSION_ALPHA = 0.05


def dispersion(data: pl.DataFrame, *, kind: str = "auto") -> pl.DataFrame:
    """Each series' own variation, from its whole history, vectorised across series.

    count: phi, variance / mean (1 is Poisson). proportion and rate: Laney's sigma_z, the sigma
    of the z-scores (1 is binomial or Poisson). Both come from Pearson's chi-squared against the
    series' mean, fitted per stretch of consecutive periods (a gap starts a new stretch; k
    stretches): chi2 = sum of squared Pearson residuals, (y - mean) / sqrt(mean) for counts,
    the z-scores against the stretch's proportion or rate otherwise; phi = chi2 / (n - k). They
    are used only when the overdispersion test (chi2 against chi-squared on n - k df, the
    `overdispersion_p` column) rejects at `OVERDISPERSION_ALPHA`; otherwise 1. Measured in
    tests/test_stat_size_compare.py: pure Poisson series called overdispersed 5% of the time
    (the median moving range estimate it replaces: 39-70%), series with variance 3 times the
    mean 99%. A step or trend in the history counts as extra variation, which makes the
    comparison more cautious, never less. mean: sigma, the median moving range / 0.954.
    Needs at least 8 points; otherwise null (the comparison then falls back to pure Poisson or
    binomial and says so).
    """
    frame = as_series_frame(data).filter(pl.col("value").is_not_null())
    kinds = _kinds(frame, kind)
    frame = frame.join(kinds, on="series").join(months_step(frame), on="series")
    # a gap in the periods starts a new stretch, with its own fitted mean: years apart, the
    # level may differ, and that is not period-to-period variation
    frame = frame.with_columns(_month_index().alias("_m")).with_columns(
        (pl.col("_m").diff().over("series").fill_null(0) > pl.col("months_step"))
        .cum_sum().over("series").alias("_stretch")
    )
    fitted = ["series", "_stretch"]
    pbar = (pl.col("numerator").sum() / pl.col("denominator").sum()).over(fitted)
    mean = pl.col("value").mean().over(fitted)
    se = (
        pl.when(pl.col("kind") == "proportion")
        .then((pbar * (1 - pbar) / pl.col("denominator")).sqrt())
        .when(pl.col("kind") == "rate")
        .then((pbar / pl.col("denominator")).sqrt())
        .otherwise(mean.sqrt())
    )
    centre = pl.when(pl.col("kind").is_in(["proportion", "rate"])).then(pbar).otherwise(mean)
    frame = frame.with_columns(((pl.col("value") - centre) / se).alias("_z"))
    frame = frame.with_columns(
        pl.when(pl.col("kind").is_in(["proportion", "rate"])).then(pl.col("_z")).otherwise(pl.col("value")).alias("_x")
    ).with_columns((pl.col("_x") - pl.col("_x").mean().over("series")).alias("_d"))
    out = frame.group_by("series", "kind", maintain_order=True).agg(
        pl.len().alias("n_history"),
        ((pl.col("_d") * pl.col("_d").shift(1)).sum() / (pl.col("_d") ** 2).sum()).alias("acf1"),
        (pl.col("value").diff().abs().median() / 0.954).alias("_sigma"),
        (pl.col("_z") ** 2).sum().alias("_chi2"),
        pl.col("_stretch").n_unique().alias("_k"),
    )
    chi2 = out["_chi2"].to_numpy().astype(float)
    df = np.maximum(out["n_history"].to_numpy() - out["_k"].to_numpy(), 1)
    with np.errstate(invalid="ignore"):
        p_over = stats.chi2.sf(chi2, df)
    out = out.with_columns(
        pl.Series("overdispersion_p", p_over, dtype=pl.Float64).fill_nan(None),
        pl.Series("_phi", chi2 / df, dtype=pl.Float64).fill_nan(None),
    )
    over = pl.col("overdispersion_p") < OVERDISPERSION_ALPHA
    value = (
        pl.when(pl.col("kind") == "mean")
        .then(pl.col("_sigma"))
        .when(~over)
        .then(pl.lit(1.0))
        .when(pl.col("kind") == "count")
        .then(pl.col("_phi"))
        .otherwise(pl.col("_phi").sqrt())
    )
    enough = pl.col("n_history") >= 8
    return out.select(
        "series",
        "kind",
        "n_history",
        pl.when(enough).then(value).otherwise(None).alias("dispersion"),
        pl.when(enough).then(pl.col("acf1")).otherwise(None).alias("acf1"),
        pl.when(enough & (pl.col("kind") != "mean")).then(pl.col("overdispersion_p")).otherwise(None)
        .alias("overdispersion_p"),
    )


def _kinds(frame: pl.DataFrame, kind: str) -> pl.DataFrame:
    if kind not in KINDS:
        raise SpcError(f"compare: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    per = frame.group_by("series", maintain_order=True).agg(
        pl.col("denominator").is_not_null().all().alias("_ratio"),
        (pl.col("numerator") <= pl.col("denominator")).all().alias("_le"),
        (pl.col("value") == pl.col("value").round(0)).all().alias("_int"),
    )
    if kind != "auto":
        if kind in ("proportion", "rate") and not per["_ratio"].all():
            raise SpcError(f"compare: kind {kind!r} needs numerator and denominator columns")
        return per.select("series", pl.lit(kind).alias("kind"))
    return per.select(
        "series",
        pl.when(pl.col("_ratio"))
        .then(pl.when(pl.col("_le")).then(pl.lit("proportion")).otherwise(pl.lit("rate")))
        .when(pl.col("_int"))
        .then(pl.lit("count"))
        .otherwise(pl.lit("mean"))
        .alias("kind"),
    )


def compare_periods(
    data: pl.DataFrame,
    current: tuple[object, object],
    previous: tuple[object, object] | None = None,
    *,
    kind: str = "auto",
    alpha: float = 0.05,
    frequency: str | None = None,
) -> pl.DataFrame:
    """Compare two date windows of every series: the change, its interval and a verdict.

    `current` and `previous` are inclusive (start, end) dates; `previous` defaults to the same
    window one year earlier. `kind`: count (totals compared, Poisson or quasi-Poisson),
    proportion (numerator/denominator, binomial or Laney), rate (numerator per denominator,
    Poisson with exposure, Laney-inflated), mean (measured values such as times), or auto
    (proportion or rate when there is a denominator, count for whole numbers, else mean).
    Overdispersion is measured from the series' whole history (see `dispersion`).

    Returns one row per series: kind, both windows, before, after (total, proportion, rate or
    mean), change, pct_change, lower, upper (interval of the % change for counts and rates, of
    the difference for proportions and means), p_value, verdict, method, dispersion, acf1,
    periods in each window, a plain-English `sentence` (no p-values or test names; "about the
    same" when the figures as shown are equal; a caution when consecutive periods are strongly
    autocorrelated, which makes window totals vary more than assumed) and the analyst's
    `detail` (p-value, method, lag-1 autocorrelation). `frequency` (week, month, quarter,
    year) names the periods in the sentence ("a quarter over 4"); default "period".
    """
    c0, c1 = (as_date(v, "compare: current window") for v in current)
    if previous is None:
        p0, p1 = _shift_year(c0, -1), _shift_year(c1, -1)
    else:
        p0, p1 = (as_date(v, "compare: previous window") for v in previous)
    if c1 < c0 or p1 < p0:
        raise SpcError("compare: each window's start must be on or before its end")
    frame = as_series_frame(data).filter(pl.col("value").is_not_null())
    kinds = _kinds(frame, kind)
    disp = dispersion(frame, kind=kind)
    win = pl.when(pl.col("period").is_between(c0, c1)).then(pl.lit("after")).when(
        pl.col("period").is_between(p0, p1)
    ).then(pl.lit("before"))
    agg = (
        frame.with_columns(win.alias("_w"))
        .filter(pl.col("_w").is_not_null())
        .group_by("series", "_w")
        .agg(
            pl.len().alias("k"),
            pl.col("value").sum().alias("sum"),
            pl.col("value").mean().alias("mean"),
            pl.col("numerator").sum().alias("num"),
            pl.col("denominator").sum().alias("den"),
        )
        .pivot(on="_w", index="series", values=["k", "sum", "mean", "num", "den"])
    )
    for w in ("before", "after"):
        for v in ("k", "sum", "mean", "num", "den"):
            if f"{v}_{w}" not in agg.columns:
                agg = agg.with_columns(pl.lit(None, dtype=pl.Float64).alias(f"{v}_{w}"))
    agg = agg.join(kinds, on="series").join(disp.drop("kind", "overdispersion_p"), on="series", how="left")
    missing = agg.filter(pl.col("k_before").is_null() | pl.col("k_after").is_null())
    if missing.height:
        name = missing["series"][0]
        raise SpcError(
            f"compare: series {name!r} has no data in one of the windows "
            f"({p0} to {p1}, {c0} to {c1})"
        )
    if agg.height == 0:
        raise SpcError(f"compare: no data in the windows {p0} to {p1} and {c0} to {c1}")
    parts = []
    for k in ("count", "proportion", "rate", "mean"):
        part = agg.filter(pl.col("kind") == k)
        if part.height:
            parts.append(_compare_kind(part, k, alpha))
    out = pl.concat(parts, how="diagonal_relaxed").with_columns(
        pl.lit(p0).alias("previous_start"),
        pl.lit(p1).alias("previous_end"),
        pl.lit(c0).alias("current_start"),
        pl.lit(c1).alias("current_end"),
    )
    sentences, details = _sentences(out, frequency)
    out = out.with_columns(pl.Series("sentence", sentences, dtype=pl.String),
                           pl.Series("detail", details, dtype=pl.String))
    return out.select(
        "series",
        "kind",
        "previous_start",
        "previous_end",
        "current_start",
        "current_end",
        "periods_before",
        "periods_after",
        "before",
        "after",
        "change",
        "pct_change",
        "lower",
        "upper",
        "p_value",
        "verdict",
        "method",
        "dispersion",
        "acf1",
        "sentence",
        "detail",
    ).sort("series")


def _compare_kind(part: pl.DataFrame, kind: str, alpha: float) -> pl.DataFrame:
    col = lambda c: part[c].to_numpy().astype(float)  # noqa: E731
    d = part["dispersion"].fill_null(1.0 if kind != "mean" else float("nan")).to_numpy().astype(float)
    base = part.select(
        "series",
        "kind",
        pl.col("k_before").cast(pl.Int64).alias("periods_before"),
        pl.col("k_after").cast(pl.Int64).alias("periods_after"),
        pl.col("dispersion"),
        pl.col("acf1"),
    )
    if kind == "count":
        r = compare_counts(
            col("sum_before"),
            col("sum_after"),
            exposure_before=col("k_before"),
            exposure_after=col("k_after"),
            dispersion=d,
            alpha=alpha,
        )
        before, after = col("sum_before"), col("sum_after")
        lower, upper = r["lower_pct"], r["upper_pct"]
    elif kind == "rate":
        # numerator per unit of denominator: Poisson with exposure, dispersion sigma_z^2
        r = compare_counts(
            col("num_before"),
            col("num_after"),
            exposure_before=col("den_before"),
            exposure_after=col("den_after"),
            dispersion=np.maximum(d, 1.0) ** 2,
            alpha=alpha,
        )
        before, after = col("num_before") / col("den_before"), col("num_after") / col("den_after")
        lower, upper = r["lower_pct"], r["upper_pct"]
    elif kind == "proportion":
        r = compare_proportions(
            col("num_before"), col("den_before"), col("num_after"), col("den_after"), sigma_z=d, alpha=alpha
        )
        before, after = r["p_before"], r["p_after"]
        lower, upper = r["lower"], r["upper"]
    else:
        if np.any(~np.isfinite(d)):
            name = part.filter(pl.col("dispersion").is_null())["series"][0]
            raise SpcError(
                f"compare: series {name!r} needs at least 8 points of history to measure its "
                "variation before its means can be compared"
            )
        r = compare_means(
            col("mean_before"), col("k_before"), col("mean_after"), col("k_after"), sigma=d, alpha=alpha
        )
        before, after = col("mean_before"), col("mean_after")
        lower, upper = r["lower"], r["upper"]
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "count":
            pct = r["pct_change"]  # per period: the windows may hold different numbers of periods
        else:
            pct = np.where(before != 0, 100 * (after / before - 1), np.nan)
    return base.with_columns(
        pl.Series("before", before),
        pl.Series("after", after),
        pl.Series("change", after - before),
        pl.Series("pct_change", pct).fill_nan(None),
        pl.Series("lower", lower),
        pl.Series("upper", upper),
        pl.Series("p_value", r["p_value"]),
        pl.Series("verdict", r["verdict"].astype(str)),
        pl.Series("method", r["method"].astype(str)),
    )


def _show(value: float, kind: str) -> str:
    if kind == "proportion":
        return f"{100 * value:.1f}%"
    return f"{value:,.0f}" if kind == "count" else fmt_number(value)


def _plural(word: str, n: int) -> str:
    return word if n == 1 else word + "s"


def _sentences(out: pl.DataFrame, frequency: str | None = None) -> tuple[list[str], list[str]]:
    """(plain-English sentence, analyst's detail) per row.

    The sentence is what a commissioner reads: 'Up 114% (7 to 15), within what chance alone
    gives.' When the figures as shown are equal it says so ('About the same (88.6% in both
    periods)'), never 'Down 0.0 percentage points'. The detail keeps the test, p-value and
    autocorrelation for an analyst. `frequency` names the periods ('a quarter over 4').
    (A handful of rows: plain Python formatting reads better than expression soup here.)
    """
    word = frequency if frequency in ("week", "month", "quarter", "year") else "period"
    lines, details = [], []
    for r in out.iter_rows(named=True):
        p = "p < 0.001" if r["p_value"] < 0.001 else f"p = {r['p_value']:.3f}"
        detail = f"{p}; {r['method']}"
        if r.get("acf1") is not None:
            detail += f"; lag-1 autocorrelation {r['acf1']:.2f}"
        details.append(detail)
        chance = "within" if r["verdict"] == NOT_BEYOND else "beyond"
        b_txt, a_txt = _show(r["before"], r["kind"]), _show(r["after"], r["kind"])
        k_before, k_after = r["periods_before"], r["periods_after"]
        if r["kind"] == "count" and k_before != k_after:
            b_txt = f"{fmt_number(r['before'] / k_before)} a {word} over {k_before}"
            a_txt = f"{fmt_number(r['after'] / k_after)} a {word} over {k_after}"
        if r["change"] == 0 or b_txt == a_txt:
            # the figures as shown are equal: no 'Down 0.0 percentage points (88.6% to 88.6%)'
            line = f"About the same ({b_txt} in both periods)"
            line += (", within what chance alone gives." if chance == "within" else
                     ", though the small difference is beyond what chance alone gives.")
        else:
            up = r["change"] > 0
            if r["kind"] == "proportion":
                points = abs(100 * r["change"])
                size = (f"{points:.1f} percentage points" if round(points, 1) > 0
                        else "less than 0.1 percentage points")
            elif r["pct_change"] is not None:
                pct = abs(r["pct_change"])
                size = f"{pct:.0f}%" if round(pct) > 0 else "less than 1%"
            else:
                size = fmt_number(abs(r["change"]))
            line = (f"{'Up' if up else 'Down'} {size} ({b_txt} to {a_txt}), "
                    f"{chance} what chance alone gives.")
        if k_before != k_after:
            line += (f" The windows hold different numbers of {_plural(word, 2)} ({k_before} and "
                     f"{k_after}); check the data are complete.")
        if r.get("acf1") is not None and r["acf1"] > 0.5 and max(k_before, k_after) > 1:
            # totals of strongly related consecutive periods vary more than the test assumes
            line += (f" Caution: each {word} tends to follow the one before, so the true "
                     "uncertainty is wider than shown.")
        lines.append(line)
    return lines, details

