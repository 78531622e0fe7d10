"""Size of spc.compare's funnel plots by simulation at fixed seeds: how often a unit falls
outside the 95% and 99.8% limits when nothing differs (nominal 5% and 0.2%, both sides), and
how often a plot says the units vary more than chance (nominal 5%).

Measured (seeds below):

| funnel | outside 95% | outside 99.8% | "vary more than chance" | nominal |
|---|---|---|---|---|
| year-on-year counts, last year as a fixed denominator (before) | 16.5% | 2.7% | 36% | 5% / 0.2% / 5% |
| year-on-year counts, conditional binomial (`funnel_change`) | 5.1% | 0.13% | 0% | 5% / 0.2% / 5% |
| proportions, expected counts 2-10, normal limits (before) | 4.1% | 0.40% | | 5% / 0.2% |
| proportions, expected counts 2-10, exact limits | 4.8% | 0.23% | | 5% / 0.2% |
| rates, expected counts 2-10, normal limits (before) | 4.1% | 0.37% | | 5% / 0.2% |
| rates, expected counts 2-10, exact limits | 4.5% | 0.20% | | 5% / 0.2% |

With expected counts this small no count can fall below the lower limits, so every exceedance
is above: the normal upper 99.8% limit is crossed 3.7-4 times as often as its nominal 0.1%, the
exact one about twice (Spiegelhalter's interpolation puts a limit between two possible counts,
so a discrete count cannot match a tail exactly), which keeps the two-sided total at nominal.
(Last year's count as a fixed denominator with the default overdispersion setting: 12.1% and
1.9% outside, 36% of plots "vary more than chance".)
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import stats

from spc import compare

PLOTS, AREAS = 150, 20


def outside(units: pl.DataFrame) -> tuple[float, float]:
    band = units["band"]
    return float((band != "within").mean()), float(band.str.ends_with("99.8").mean())


def yoy(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """PLOTS sets of AREAS areas, mean counts 5 to 200 a window, the same both years."""
    out = []
    for _ in range(PLOTS):
        mu = np.exp(rng.uniform(np.log(5), np.log(200), AREAS))
        out.append((rng.poisson(mu), rng.poisson(mu)))
    return out


def names() -> list[str]:
    return [f"a{i:02d}" for i in range(AREAS)]


def test_year_on_year_funnel_holds_its_size_where_a_fixed_denominator_did_not() -> None:
    sets = yoy(np.random.default_rng(21))
    new, old = [], []
    for cur, prev in sets:
        f = compare.funnel_change(pl.DataFrame({"unit": names(), "current": cur, "previous": prev}),
                                  overdispersion="none")
        new.append((*outside(f.units), f.overdispersed))
        keep = prev > 0
        g = compare.funnel(pl.DataFrame({"unit": names(), "numerator": cur, "denominator": prev}).filter(keep),
                           kind="rate", overdispersion="none")
        old.append((*outside(g.units), g.overdispersed))
    new_r, old_r = np.mean(new, axis=0), np.mean(old, axis=0)
    assert new_r[0] <= 0.06 and new_r[1] <= 0.003 and new_r[2] <= 0.08, new_r  # measured 5.1% / 0.13% / 0%
    assert old_r[0] > 0.1 and old_r[1] > 0.01, old_r  # measured 16.5% / 2.7% / 36%


def test_year_on_year_funnel_shows_ratios_and_the_counts() -> None:
    f = compare.funnel_change(pl.DataFrame({"unit": ["a", "b", "c", "d"], "current": [120, 40, 300, 0],
                                            "previous": [100, 44, 290, 0]}), overdispersion="none")
    row = f.units.filter(pl.col("unit") == "a").row(0, named=True)
    assert f.scale == "ratio" and abs(row["value"] - 1.2) < 1e-9 and row["denominator"] == 220
    assert (row["current"], row["previous"]) == (120, 100)
    assert f.units.height == 3  # no events in either window: nothing to compare
    assert abs(f.target - 460 / 434) < 1e-12
    assert row["lower_998"] < row["lower_95"] < 1.2 < row["upper_95"] < row["upper_998"] or row["band"] != "within"


def small_units(rng: np.random.Generator, kind: str) -> tuple[list[pl.DataFrame], np.ndarray]:
    """PLOTS sets of AREAS units whose expected counts run from 2 to 10, target 0.05."""
    theta = 0.05
    den = np.round(np.linspace(2, 10, AREAS) / theta)
    frames = []
    for _ in range(PLOTS):
        num = rng.binomial(den.astype(int), theta) if kind == "proportion" else rng.poisson(theta * den)
        frames.append(pl.DataFrame({"unit": names(), "numerator": num, "denominator": den}))
    return frames, den


def test_exact_limits_hold_their_size_with_small_expected_counts() -> None:
    for kind, seed in (("proportion", 22), ("rate", 23)):
        frames, _ = small_units(np.random.default_rng(seed), kind)
        exact, normal = [], []
        for d in frames:
            f = compare.funnel(d, kind=kind, overdispersion="none")
            exact.append(outside(f.units))
            # the normal approximation the funnel used before, for comparison
            n, y, t = d["denominator"].to_numpy(), (d["numerator"] / d["denominator"]).to_numpy(), f.target
            sd = np.sqrt((t * (1 - t) if kind == "proportion" else t) / n)
            z = np.abs(y - t) / sd
            normal.append((np.mean(z > stats.norm.ppf(0.975)), np.mean(z > stats.norm.ppf(0.999))))
        e, o = np.mean(exact, axis=0), np.mean(normal, axis=0)
        assert e[0] <= 0.055 and e[1] <= 0.003, (kind, e)  # measured 4.8% / 0.23%, 4.5% / 0.20%
        assert o[1] > e[1], (kind, o)  # measured 0.40%, 0.37%


def test_small_counts_say_chance_dominates() -> None:
    frames, _ = small_units(np.random.default_rng(24), "rate")
    f = compare.funnel(frames[0], kind="rate")
    assert any("chance dominates" in note for note in f.notes)
    big = frames[0].with_columns(pl.col("numerator") * 100, pl.col("denominator") * 100)
    assert not any("chance dominates" in note for note in compare.funnel(big, kind="rate").notes)
