"""Honest comparisons: two periods of one series, and many areas against each other (funnel plots).

A two-point comparison ("robbery up 114%") only means something next to the variation chance
gives. `compare_counts` and `compare_proportions` are the vectorised cores (numpy arrays in,
arrays out); `compare_periods` applies them to every series of a frame for two date windows,
measuring each series' own variation from its history (Poisson or binomial when that is all
there is, inflated when the series is overdispersed). `funnel` compares areas or forces for one
period against the overall value with 95% and 99.8% limits (Spiegelhalter 2005), with an
overdispersion adjustment, and `funnel_figure` draws it with plotly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy import stats

from spc.dates import as_date
from spc.errors import SpcError
from spc.trend import as_series_frame, fmt_number

NOT_BEYOND = "not beyond normal variation"
HIGHER = "higher, beyond normal variation"
LOWER = "lower, beyond normal variation"

KINDS = ("auto", "count", "proportion", "rate", "mean")


# --------------------------------------------------------------------------------------------
# vectorised cores
# --------------------------------------------------------------------------------------------


def _arrays(*values: object) -> list[np.ndarray]:
    """Float arrays of one common shape (scalars and arrays mix freely)."""
    return [np.array(v, dtype=float) for v in np.broadcast_arrays(*[np.atleast_1d(np.asarray(x, dtype=float)) for x in values])]


def _verdict(p: np.ndarray, effect: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(p < alpha, np.where(effect > 0, HIGHER, LOWER), NOT_BEYOND)


def compare_counts(
    before: np.ndarray | float,
    after: np.ndarray | float,
    *,
    exposure_before: np.ndarray | float = 1.0,
    exposure_after: np.ndarray | float = 1.0,
    dispersion: np.ndarray | float = 1.0,
    alpha: float = 0.05,
) -> dict[str, np.ndarray]:
    """Compare two counts (totals over two windows), vectorised.

    With no overdispersion (`dispersion` <= 1) the test is exact: given the total, the later
    count is binomial with p = exposure_after / (both exposures); the rate-ratio interval is
    Clopper-Pearson transformed. When the counts vary more than Poisson (`dispersion` = phi > 1,
    variance = phi x mean), a quasi-Poisson Wald test on the log rate ratio with variance
    phi x (1/a + 1/b) is used. Returns arrays: ratio, pct_change, lower_pct, upper_pct
    (interval of the % change), p_value, verdict, method.
    """
    a, b, ea, eb, phi = _arrays(before, after, exposure_before, exposure_after, dispersion)
    if np.any(a < 0) or np.any(b < 0):
        raise SpcError("compare: counts must not be negative")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (b / eb) / (a / ea)
        n = a + b
        p0 = eb / (ea + eb)
        # exact conditional test (Poisson)
        p_exact = np.minimum(
            1.0, 2 * np.minimum(stats.binom.cdf(b, n, p0), stats.binom.sf(b - 1, n, p0))
        )
        lo_pi = np.where(b > 0, stats.beta.ppf(alpha / 2, b, n - b + 1), 0.0)
        hi_pi = np.where(b < n, stats.beta.ppf(1 - alpha / 2, b + 1, n - b), 1.0)
        lo_exact = lo_pi / (1 - lo_pi) * ea / eb
        hi_exact = np.where(hi_pi < 1, hi_pi / (1 - hi_pi) * ea / eb, np.inf)
        # quasi-Poisson (overdispersed): Wald on log ratio, 0.5 added to avoid log(0)
        a5, b5 = a + 0.5 * (a == 0), b + 0.5 * (b == 0)
        log_r = np.log((b5 / eb) / (a5 / ea))
        se = np.sqrt(np.maximum(phi, 1.0) * (1 / a5 + 1 / b5))
        z = stats.norm.ppf(1 - alpha / 2)
        p_quasi = 2 * stats.norm.sf(np.abs(log_r) / se)
        over = phi > 1
        p = np.where(over, p_quasi, p_exact)
        lo = np.where(over, np.exp(log_r - z * se), lo_exact)
        hi = np.where(over, np.exp(log_r + z * se), hi_exact)
        p = np.where(n == 0, 1.0, p)
    return {
        "ratio": ratio,
        "pct_change": 100 * (ratio - 1),
        "lower_pct": 100 * (lo - 1),
        "upper_pct": 100 * (hi - 1),
        "p_value": p,
        "verdict": _verdict(p, b / eb - a / ea, alpha),
        "method": np.where(over, "quasi-Poisson (overdispersed)", "Poisson, exact conditional test"),
    }


def compare_proportions(
    x_before: np.ndarray | float,
    n_before: np.ndarray | float,
    x_after: np.ndarray | float,
    n_after: np.ndarray | float,
    *,
    sigma_z: np.ndarray | float = 1.0,
    alpha: float = 0.05,
) -> dict[str, np.ndarray]:
    """Compare two proportions x/n, vectorised.

    Binomial variation, inflated by Laney's sigma_z (the series' own measured variation in
    units of binomial standard errors) when sigma_z > 1: with denominators in the thousands a
    plain binomial test calls almost any difference real. The test uses the pooled proportion;
    the interval of the difference (in proportion units, 0..1) is unpooled. Returns arrays:
    p_before, p_after, difference, lower, upper, p_value, verdict, method.
    """
    x1, n1, x2, n2, s = _arrays(x_before, n_before, x_after, n_after, sigma_z)
    if np.any(n1 <= 0) or np.any(n2 <= 0):
        raise SpcError("compare: denominators must be positive")
    if np.any(x1 > n1) or np.any(x2 > n2) or np.any(x1 < 0) or np.any(x2 < 0):
        raise SpcError("compare: a proportion's numerator must be between 0 and its denominator")
    s = np.maximum(s, 1.0)
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    diff = p2 - p1
    with np.errstate(divide="ignore", invalid="ignore"):
        se0 = s * np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        se = s * np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
        p = np.where(se0 > 0, 2 * stats.norm.sf(np.abs(diff) / se0), np.where(diff == 0, 1.0, 0.0))
    z = stats.norm.ppf(1 - alpha / 2)
    return {
        "p_before": p1,
        "p_after": p2,
        "difference": diff,
        "lower": diff - z * se,
        "upper": diff + z * se,
        "p_value": p,
        "verdict": _verdict(p, diff, alpha),
        "method": np.where(s > 1, "binomial, Laney-adjusted (overdispersed)", "binomial"),
    }


def compare_means(
    mean_before: np.ndarray | float,
    k_before: np.ndarray | float,
    mean_after: np.ndarray | float,
    k_after: np.ndarray | float,
    *,
    sigma: np.ndarray | float,
    alpha: float = 0.05,
) -> dict[str, np.ndarray]:
    """Compare the means of k_before and k_after periods of a measured value (times, scores),
    given the series' point-to-point sigma (see `dispersion`). Vectorised."""
    m1, k1, m2, k2, sd = _arrays(mean_before, k_before, mean_after, k_after, sigma)
    diff = m2 - m1
    with np.errstate(divide="ignore", invalid="ignore"):
        se = sd * np.sqrt(1 / k1 + 1 / k2)
        p = np.where(se > 0, 2 * stats.norm.sf(np.abs(diff) / se), np.where(diff == 0, 1.0, 0.0))
    z = stats.norm.ppf(1 - alpha / 2)
    return {
        "difference": diff,
        "lower": diff - z * se,
        "upper": diff + z * se,
        "p_value": p,
        "verdict": _verdict(p, diff, alpha),
        "method": np.full(m1.shape, "normal, sigma from the series' moving ranges"),
    }


# --------------------------------------------------------------------------------------------
# two periods of every series
# --------------------------------------------------------------------------------------------


def _shift_year(d: dt.date, years: int) -> dt.date:
    return d.replace(year=d.year + years) if not (d.month == 2 and d.day == 29) else d.replace(
        year=d.year + years, day=28
    )


def dispersion(data: pl.DataFrame, *, kind: str = "auto") -> pl.DataFrame:
    """Each series' own variation, from its whole history, vectorised across series.

    count: phi = sigma^2 / mean (1 is Poisson). proportion and rate: Laney's sigma_z, the
    sigma of the z-scores (1 is binomial or Poisson). mean: sigma. Every sigma is the median
    moving range / 0.954, which a step change in the history barely moves. Needs at least 8 points; otherwise null (the
    comparison then falls back to pure Poisson or binomial and says so).
    """
    frame = as_series_frame(data).filter(pl.col("value").is_not_null())
    kinds = _kinds(frame, kind)
    frame = frame.join(kinds, on="series")
    pbar = (pl.col("numerator").sum() / pl.col("denominator").sum()).over("series")
    se = (
        pl.when(pl.col("kind") == "proportion")
        .then((pbar * (1 - pbar) / pl.col("denominator")).sqrt())
        .otherwise((pbar / pl.col("denominator")).sqrt())
    )
    frame = frame.with_columns(((pl.col("value") - pbar) / se).alias("_z"))
    frame = frame.with_columns(
        pl.when(pl.col("kind").is_in(["proportion", "rate"])).then(pl.col("_z")).otherwise(pl.col("value")).alias("_x")
    ).with_columns((pl.col("_x") - pl.col("_x").mean().over("series")).alias("_d"))
    out = frame.group_by("series", "kind", maintain_order=True).agg(
        pl.len().alias("n_history"),
        ((pl.col("_d") * pl.col("_d").shift(1)).sum() / (pl.col("_d") ** 2).sum()).alias("acf1"),
        # median moving range / 0.954: a step in the history (one huge moving range) would
        # otherwise inflate the variation and hide the very change being compared
        (pl.col("value").diff().abs().median() / 0.954).alias("_sigma"),
        pl.col("value").mean().alias("_mean"),
        (pl.col("_z").diff().abs().median() / 0.954).alias("_sigma_z"),
    )
    value = (
        pl.when(pl.col("kind") == "count")
        .then(pl.col("_sigma") ** 2 / pl.col("_mean"))
        .when(pl.col("kind") == "mean")
        .then(pl.col("_sigma"))
        .otherwise(pl.col("_sigma_z"))
    )
    return out.with_columns(
        pl.when(pl.col("n_history") >= 8).then(value).otherwise(None).alias("dispersion")
    ).select("series", "kind", "n_history", "dispersion",
             pl.when(pl.col("n_history") >= 8).then(pl.col("acf1")).otherwise(None).alias("acf1"))


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
    agg = agg.join(kinds, on="series").join(disp.drop("kind"), on="series", how="left")
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


# --------------------------------------------------------------------------------------------
# funnel plots
# --------------------------------------------------------------------------------------------

#: what each funnel band means, for tooltips
BAND_WORDS = {
    "within": "within the range chance gives",
    "above_95": "higher than chance usually gives (beyond the 95% limit)",
    "below_95": "lower than chance usually gives (beyond the 95% limit)",
    "above_99.8": "well above what chance gives (beyond the 99.8% limit)",
    "below_99.8": "well below what chance gives (beyond the 99.8% limit)",
}

Z95 = float(stats.norm.ppf(0.975))
Z998 = float(stats.norm.ppf(0.999))


@dataclass(frozen=True)
class Funnel:
    """A funnel plot as data: `units` (one row per area) and `limits` (curves over the
    denominator), the overall `target`, the dispersion estimates and the adjustment used."""

    units: pl.DataFrame
    limits: pl.DataFrame
    target: float
    kind: str
    phi: float
    tau2: float
    overdispersed: bool
    adjustment: str
    notes: list[str] = field(default_factory=list)


def funnel(
    data: pl.DataFrame,
    *,
    unit: str = "unit",
    kind: str = "proportion",
    overdispersion: str = "auto",
    winsorize: float = 0.1,
    per: float = 1.0,
) -> Funnel:
    """Spiegelhalter funnel plot of units (areas, forces) for one period.

    `data` has `unit`, `numerator`, `denominator`. kind "proportion" (binomial, e.g. share of
    incidents that are ASB) or "rate" (numerator per unit of denominator, Poisson; `per` scales
    the display, e.g. 1000 for a rate per 1,000). Target = overall sum(numerator) /
    sum(denominator). Limits at 95% (z 1.96) and 99.8% (z 3.09).

    Overdispersion (Spiegelhalter 2005): phi = mean of squared z-scores after winsorizing the
    top and bottom `winsorize` fraction; the units are overdispersed when n x phi exceeds the
    95th percentile of chi-squared on n - 1 degrees of freedom. `overdispersion`: "auto"
    (additive random-effects adjustment when overdispersed, none otherwise), "additive"
    (limits widened by tau^2, DerSimonian-Laird), "multiplicative" (limits x sqrt(phi)) or
    "none". Each unit gets a `band`: within, above_95, above_99.8, below_95 or below_99.8.
    """
    if kind not in ("proportion", "rate"):
        raise SpcError(f"funnel: kind must be proportion or rate, got {kind!r}")
    if overdispersion not in ("auto", "additive", "multiplicative", "none"):
        raise SpcError(
            f"funnel: overdispersion must be auto, additive, multiplicative or none, got {overdispersion!r}"
        )
    for c in (unit, "numerator", "denominator"):
        if c not in data.columns:
            raise SpcError(f"funnel: missing column {c!r} (expected {unit}, numerator, denominator)")
    frame = data.select(
        pl.col(unit).cast(pl.String).alias("unit"),
        pl.col("numerator").cast(pl.Float64),
        pl.col("denominator").cast(pl.Float64),
    )
    bad = frame.filter(
        pl.col("denominator").is_null() | (pl.col("denominator") <= 0) | pl.col("numerator").is_null()
    )
    if bad.height:
        raise SpcError(
            f"funnel: unit {bad['unit'][0]!r} has a missing numerator or a denominator that is not positive"
        )
    if frame["unit"].is_duplicated().any():
        raise SpcError(
            f"funnel: unit {frame.filter(pl.col('unit').is_duplicated())['unit'][0]!r} appears more than once"
        )
    if kind == "proportion" and (frame["numerator"] > frame["denominator"]).any():
        raise SpcError("funnel: a proportion's numerator exceeds its denominator; use kind='rate'")
    m = frame.height
    if m < 3:
        raise SpcError("funnel: needs at least three units to compare")
    theta = float(frame["numerator"].sum() / frame["denominator"].sum())
    if theta <= 0 or (kind == "proportion" and theta >= 1):
        raise SpcError(
            f"funnel: the overall {kind} is {theta:g}; with every unit at "
            f"{'zero' if theta <= 0 else 'one hundred per cent'} there is nothing to compare"
        )
    n = frame["denominator"].to_numpy()
    y = frame["numerator"].to_numpy() / n
    var = (theta * (1 - theta) / n) if kind == "proportion" else (theta / n)
    z = (y - theta) / np.sqrt(var)
    lo_q, hi_q = np.quantile(z, [winsorize, 1 - winsorize])
    zw = np.clip(z, lo_q, hi_q)
    phi = float(np.mean(zw**2))
    crit = float(stats.chi2.ppf(0.95, m - 1))
    over = m * phi > crit
    w = 1 / var
    tau2 = float(max(0.0, (m * phi - (m - 1)) / (w.sum() - (w**2).sum() / w.sum())))
    adj = overdispersion
    if adj == "auto":
        adj = "additive" if over else "none"
    notes = []
    if over:
        notes.append(
            f"The units vary more than chance alone would give (phi = {phi:.1f}); limits "
            + ("are widened for it (" + adj + ")." if adj != "none" else "are NOT widened for it.")
        )

    def spread(den: np.ndarray) -> np.ndarray:
        base = (theta * (1 - theta) / den) if kind == "proportion" else (theta / den)
        if adj == "additive":
            return np.sqrt(base + tau2)
        if adj == "multiplicative":
            return np.sqrt(base * max(phi, 1.0))
        return np.sqrt(base)

    s = spread(n)
    lim = {
        "lower_998": theta - Z998 * s,
        "lower_95": theta - Z95 * s,
        "upper_95": theta + Z95 * s,
        "upper_998": theta + Z998 * s,
    }
    floor = 0.0
    ceil = 1.0 if kind == "proportion" else np.inf
    lim = {k: np.clip(v, floor, ceil) for k, v in lim.items()}
    band = np.select(
        [y > lim["upper_998"], y > lim["upper_95"], y < lim["lower_998"], y < lim["lower_95"]],
        ["above_99.8", "above_95", "below_99.8", "below_95"],
        "within",
    )
    units = frame.with_columns(
        pl.Series("value", y * per),
        pl.Series("z", z),
        *[pl.Series(k, v * per) for k, v in lim.items()],
        pl.Series("band", band.astype(str)),
    ).sort("denominator")
    grid = np.unique(
        np.concatenate(
            [np.geomspace(max(n.min() * 0.8, 1e-9), n.max() * 1.1, 200), n]
        )
    )
    sg = spread(grid)
    limits = pl.DataFrame(
        {
            "denominator": grid,
            "target": np.full(grid.shape, theta * per),
            "lower_998": np.clip(theta - Z998 * sg, floor, ceil) * per,
            "lower_95": np.clip(theta - Z95 * sg, floor, ceil) * per,
            "upper_95": np.clip(theta + Z95 * sg, floor, ceil) * per,
            "upper_998": np.clip(theta + Z998 * sg, floor, ceil) * per,
        }
    )
    return Funnel(
        units=units,
        limits=limits,
        target=theta * per,
        kind=kind,
        phi=phi,
        tau2=tau2,
        overdispersed=bool(over),
        adjustment=adj,
        notes=notes,
    )


def funnel_figure(f: Funnel, *, title: str = "", value_label: str = "", percent: bool | None = None):
    """A plotly figure of a Funnel: units as points, target line, 95% and 99.8% limits.

    `percent` (default: True for proportions) shows proportions as percentages.
    """
    import plotly.graph_objects as go

    pct = (f.kind == "proportion") if percent is None else percent
    k = 100.0 if pct else 1.0
    lim = f.limits
    fig = go.Figure()
    x = lim["denominator"].to_list()
    for col, dash, name in (
        ("upper_998", "dash", "99.8% limits"),
        ("lower_998", "dash", None),
        ("upper_95", "dot", "95% limits"),
        ("lower_95", "dot", None),
    ):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=(lim[col] * k).to_list(),
                mode="lines",
                line={"color": "#7f7f7f", "dash": dash, "width": 1},
                name=name or col,
                showlegend=name is not None,
                hoverinfo="skip",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=x, y=(lim["target"] * k).to_list(), mode="lines", line={"color": "#1f4e79"}, name="overall"
        )
    )
    colours = {
        "within": "#4d4d4d",
        "above_95": "#e69f00",
        "below_95": "#e69f00",
        "above_99.8": "#d55e00",
        "below_99.8": "#d55e00",
    }
    u = f.units
    fig.add_trace(
        go.Scatter(
            x=u["denominator"].to_list(),
            y=(u["value"] * k).to_list(),
            mode="markers",
            marker={"color": [colours[b] for b in u["band"].to_list()], "size": 9},
            text=u["unit"].to_list(),
            # the tooltip says what the band means, not its code
            customdata=[BAND_WORDS.get(b, b) for b in u["band"].to_list()],
            hovertemplate="%{text}<br>%{y:.2f}<br>denominator %{x:,}<br>%{customdata}<extra></extra>",
            name="units",
        )
    )
    sub = f"adjusted for overdispersion ({f.adjustment})" if f.adjustment != "none" else "no overdispersion adjustment"
    fig.update_layout(
        title=(title + "<br><sup>" + sub + "</sup>") if title else sub,
        xaxis_title="denominator",
        yaxis_title=value_label or ("%" if pct else "value"),
        template="plotly_white",
    )
    return fig

