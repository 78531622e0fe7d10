"""Funnel plots (Spiegelhalter 2005): many areas or forces against the overall value for one
period, a funnel of year-on-year change in counts, and the plotly figure.

Limits are exact (binomial or Poisson quantiles, interpolated as Spiegelhalter 2005 gives them),
not normal approximations: with expected counts of 2 to 10 the normal upper 99.8% limit was
crossed about 4 times as often as its nominal 0.1%, the exact one twice, keeping the two-sided
rate at its nominal 0.2% (tests/test_funnel_size.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy import stats

from spc.errors import SpcError

#: what each funnel band means, for tooltips
BAND_WORDS = {
    "within": "within the range chance gives",
    "above_95": "higher than chance usually gives (beyond the 95% limit)",
    "below_95": "lower than chance usually gives (beyond the 95% limit)",
    "above_99.8": "well above what chance gives (beyond the 99.8% limit)",
    "below_99.8": "well below what chance gives (beyond the 99.8% limit)",
}

#: the two funnel levels: two-sided 95% and 99.8%
LEVELS = {"95": 0.95, "998": 0.998}

#: below this many expected events per unit (the median unit), chance dominates a window
SMALL_EXPECTED = 10.0


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
    #: what `value` is: "proportion", "rate" or, for `funnel_change`, "ratio" (this / last year)
    scale: str = ""


def exact_limit(target: float, den: np.ndarray, q: float, kind: str) -> np.ndarray:
    """The exact `q` quantile of a unit's value when its true value is `target`, per denominator.

    Spiegelhalter (2005), appendix: r = the q quantile of the count (binomial(den, target) for a
    proportion, Poisson(target x den) for a rate), interpolated between the discrete steps,
    r - (F(r) - q) / (F(r) - F(r - 1)), and divided by the denominator. Vectorised over `den`;
    a proportion's denominator is rounded to a whole number of trials.
    """
    den = np.asarray(den, dtype=float)
    if kind == "proportion":
        trials = np.maximum(np.round(den), 1)
        dist = stats.binom(trials, target)
    else:
        dist = stats.poisson(target * den)
    r = dist.ppf(q)
    f_r, f_below = dist.cdf(r), dist.cdf(r - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(f_r > f_below, (f_r - q) / (f_r - f_below), 0.0)
    return (r - step) / den


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
    sum(denominator). Limits at 95% and 99.8%, exact (`exact_limit`).

    Overdispersion (Spiegelhalter 2005): phi = mean of squared z-scores after winsorizing the
    top and bottom `winsorize` fraction; the units are overdispersed when n x phi exceeds the
    95th percentile of chi-squared on n - 1 degrees of freedom. `overdispersion`: "auto"
    (additive random-effects adjustment when overdispersed, none otherwise), "additive"
    (limits widened by tau^2, DerSimonian-Laird), "multiplicative" (limits x sqrt(phi)) or
    "none"; an adjustment scales each exact limit's distance from the target by the ratio of
    the adjusted to the chance-only standard error. Each unit gets a `band`: within, above_95,
    above_99.8, below_95 or below_99.8. When the median unit expects fewer than
    `SMALL_EXPECTED` events, `notes` says that chance dominates the window.
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
        # plain words: the dispersion figure and the adjustment are in the Funnel (phi, adjustment)
        notes.append(
            "The units vary more than chance alone would give: they differ from one another by more than "
            "their sizes explain. "
            + ("The limits are widened to allow for that, so a unit has to stand further out to be marked."
               if adj != "none" else
               "The limits are NOT widened for it, so more units are marked than chance alone explains.")
        )
    expected = np.median(theta * n if kind == "rate" else np.minimum(theta, 1 - theta) * n)
    if expected < SMALL_EXPECTED:
        notes.append(
            f"The typical unit expects only about {expected:.0f} events here, so chance dominates: "
            "a single period of counts this small says little about a unit, and even a point "
            "beyond the limits deserves a longer window before anyone acts on it."
        )

    def widen(den: np.ndarray) -> np.ndarray:
        """Adjusted over chance-only standard error: 1 without an adjustment."""
        base = (theta * (1 - theta) / den) if kind == "proportion" else (theta / den)
        if adj == "additive":
            return np.sqrt((base + tau2) / base)
        if adj == "multiplicative":
            return np.full(np.shape(den), np.sqrt(max(phi, 1.0)))
        return np.ones(np.shape(den))

    ceil = 1.0 if kind == "proportion" else np.inf

    def limits_at(den: np.ndarray) -> dict[str, np.ndarray]:
        k = widen(den)
        out = {}
        for name, level in LEVELS.items():
            tail = (1 - level) / 2
            out[f"lower_{name}"] = np.clip(theta + k * (exact_limit(theta, den, tail, kind) - theta), 0.0, ceil)
            out[f"upper_{name}"] = np.clip(theta + k * (exact_limit(theta, den, 1 - tail, kind) - theta), 0.0, ceil)
        return out

    lim = limits_at(n)
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
    grid = np.unique(np.concatenate([np.geomspace(max(n.min() * 0.8, 1e-9), n.max() * 1.1, 200), n]))
    curves = limits_at(grid)
    limits = pl.DataFrame(
        {
            "denominator": grid,
            "target": np.full(grid.shape, theta * per),
            **{k: curves[k] * per for k in ("lower_998", "lower_95", "upper_95", "upper_998")},
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
        scale=kind,
    )


def funnel_change(
    data: pl.DataFrame,
    *,
    unit: str = "unit",
    current: str = "current",
    previous: str = "previous",
    overdispersion: str = "auto",
) -> Funnel:
    """Funnel of year-on-year change in counts: each unit's count against its own a year earlier.

    Both counts are Poisson, so last year's is not a fixed denominator (that form put 14.1% of
    areas outside the 95% limits and 2.2% outside 99.8% with no change anywhere). Given the two
    counts' total, this year's share, current / (current + previous), is binomial: the
    conditional binomial form, a proportion funnel (`funnel`) of current over current +
    previous (units with no events in either window are left out). Values and limits are then
    shown as the ratio current / previous (= share / (1 - share), which keeps the bands), the
    denominator being the events in both windows; the target is the overall ratio. Returns a
    Funnel with kind "proportion" and scale "ratio"; `units` also carries `current` and
    `previous`. Measured in tests/test_funnel_size.py.
    """
    for c in (unit, current, previous):
        if c not in data.columns:
            raise SpcError(f"funnel: missing column {c!r} (expected {unit}, {current}, {previous})")
    frame = data.select(
        pl.col(unit).cast(pl.String).alias("unit"),
        pl.col(current).cast(pl.Float64).alias("current"),
        pl.col(previous).cast(pl.Float64).alias("previous"),
    ).filter((pl.col("current") + pl.col("previous")) > 0)
    f = funnel(
        frame.select("unit", pl.col("current").alias("numerator"),
                     (pl.col("current") + pl.col("previous")).alias("denominator")),
        unit="unit",
        kind="proportion",
        overdispersion=overdispersion,
    )

    def odds(col: str) -> pl.Expr:
        # share -> ratio; a share of 1 (nothing last year) has no finite ratio
        return pl.when(pl.col(col) < 1).then(pl.col(col) / (1 - pl.col(col))).otherwise(None).alias(col)

    cols = ["value", "lower_998", "lower_95", "upper_95", "upper_998"]
    units = f.units.join(frame, on="unit").with_columns(odds(c) for c in cols)
    limits = f.limits.with_columns(odds(c) for c in ["target", *cols[1:]])
    return Funnel(
        units=units,
        limits=limits,
        target=f.target / (1 - f.target),
        kind=f.kind,
        phi=f.phi,
        tau2=f.tau2,
        overdispersed=f.overdispersed,
        adjustment=f.adjustment,
        notes=f.notes,
        scale="ratio",
    )


#: marker per band: within grey; beyond 95% a warning (hollow, dark), not the concern colour;
#: beyond 99.8% the concern colour (spc.plots.ORANGE, as special cause concern on a chart)
BAND_MARKERS = {
    "within": {"color": "#7B7D7D", "symbol": "circle"},
    "above_95": {"color": "#333333", "symbol": "circle-open"},
    "below_95": {"color": "#333333", "symbol": "circle-open"},
    "above_99.8": {"color": "#FAB428", "symbol": "circle"},
    "below_99.8": {"color": "#FAB428", "symbol": "circle"},
}


def funnel_figure(f: Funnel, *, title: str = "", value_label: str = "", percent: bool | None = None,
                  size_label: str = ""):
    """A plotly figure of a Funnel: units as points, target line, 95% and 99.8% limits.

    `percent` (default: True for proportions) shows proportions as percentages; a ratio funnel
    (`funnel_change`) is shown as ratios. Beyond the 95% limit a unit is drawn as a warning (a
    hollow dark marker); only beyond 99.8% in the concern colour. `size_label` names the
    horizontal axis (e.g. "resident population"; default "denominator").
    """
    import plotly.graph_objects as go

    pct = (f.kind == "proportion" and f.scale != "ratio") if percent is None else percent
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
    u = f.units
    bands = u["band"].to_list()
    markers = BAND_MARKERS
    fig.add_trace(
        go.Scatter(
            x=u["denominator"].to_list(),
            y=(u["value"] * k).to_list(),
            mode="markers",
            marker={"color": [markers[b]["color"] for b in bands],
                    "symbol": [markers[b]["symbol"] for b in bands],
                    "size": 9, "line": {"width": 2, "color": [markers[b]["color"] for b in bands]}},
            text=u["unit"].to_list(),
            # the tooltip says what the band means, not its code
            customdata=[BAND_WORDS.get(b, b) for b in bands],
            hovertemplate="%{text}<br>%{y:.2f}<br>" + (size_label or "denominator") + " %{x:,.0f}<br>%{customdata}"
            "<extra></extra>",
            name="units",
        )
    )
    # plain words for the reader; the adjustment's method is in the table and JSON for analysts
    sub = ("limits widened: the areas vary more than chance alone gives" if f.adjustment != "none"
           else "limits from chance alone")
    fig.update_layout(
        title=(title + "<br><sup>" + sub + "</sup>") if title else sub,
        xaxis_title=size_label or ("events in both windows" if f.scale == "ratio" else "denominator"),
        yaxis_title=value_label or ("%" if pct else ("ratio to a year earlier" if f.scale == "ratio" else "value")),
        template="plotly_white",
    )
    return fig
