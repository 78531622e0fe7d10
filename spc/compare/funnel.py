"""Funnel plots (Spiegelhalter 2005): many areas or forces against the overall value for one
period, and the plotly figure."""

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

