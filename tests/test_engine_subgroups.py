"""Xbar and S charts of subgrouped measurements: aggregation, qicharts2's formulas, phases,
baselines, exclusions and bad input.

The reference below is a plain per-phase transcription of qicharts2's ``qic.xbar`` and
``qic.s`` (R/helper.functions.R, with its exact ``c4`` through log-gamma), written with loops
on purpose, against which the engine's vectorised pass is checked.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from spc.charts.subgroup import c4
from spc.engine import SeriesSpec, analyse
from spc.errors import SpcError


def days(n: int) -> list[dt.date]:
    return [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(n)]


def measurements(groups: list[list[float | None]], series: str = "a") -> pl.DataFrame:
    dates = days(len(groups))
    return pl.DataFrame({"series": series,
                         "period": [d for d, g in zip(dates, groups, strict=True) for _ in g],
                         "value": [v for g in groups for v in g]},
                        schema={"series": pl.String, "period": pl.Date, "value": pl.Float64})


def ref_c4(n: float) -> float:
    if n <= 1:
        return math.nan
    return math.sqrt(2 / (n - 1)) * math.exp(math.lgamma(n / 2) - math.lgamma((n - 1) / 2))


def reference(groups: list[list[float]], chart: str, parts: list[int], freeze: int | None,
              exclude: set[int]) -> list[tuple[float, float, float]]:
    """(centre, lower, upper) per subgroup as qicharts2: ``parts`` gives each subgroup's part,
    ``freeze`` the baseline length within a part, ``exclude`` 0-based subgroup numbers."""
    out = []
    for part in sorted(set(parts)):
        idx = [i for i, p in enumerate(parts) if p == part]
        n = np.array([len(groups[i]) for i in idx], dtype=float)
        mean = np.array([np.mean(groups[i]) for i in idx])
        sd = np.array([np.std(groups[i], ddof=1) if len(groups[i]) > 1 else np.nan for i in idx])
        base = np.array([(freeze is None or k < freeze) and i not in exclude
                         for k, i in enumerate(idx)])
        var_n = len(set(n)) > 1
        if var_n:
            w = (n[base] - 1) * sd[base] ** 2
            sbar = math.sqrt(np.nansum(w) / np.sum(n[base] - 1))
        else:
            sbar = float(np.nanmean(sd[base]))
        c4s = np.array([ref_c4(k) for k in n])
        if chart == "xbar":
            cl = float(np.sum(n[base] * mean[base]) / np.sum(n[base]))
            a3 = 3 / (c4s * np.sqrt(n))
            out += [(cl, cl - a3[k] * sbar, cl + a3[k] * sbar) for k in range(len(idx))]
        else:
            c5 = np.sqrt(1 - c4s ** 2)
            b3, b4 = np.maximum(0, 1 - 3 * c5 / c4s), 1 + 3 * c5 / c4s
            out += [(sbar, b3[k] * sbar, b4[k] * sbar) for k in range(len(idx))]
    return out


def lines(points: pl.DataFrame) -> list[float]:
    """centre, lower, upper of every point, flattened (NaN for no line)."""
    return [math.nan if v is None else v
            for row in points.select("centre", "lower", "upper").rows() for v in row]


RNG = np.random.default_rng(2024)
VARIED = [list(np.round(RNG.normal(10, 2, size=k), 2)) for k in
          [5, 3, 4, 5, 2, 5, 5, 4, 3, 5, 5, 1, 4, 5, 3, 5, 4, 5, 2, 5]]
EQUAL = [list(np.round(RNG.normal(10, 2, size=4), 2)) for _ in range(20)]


def test_c4_and_the_textbook_constants() -> None:
    """Exact c4 against Montgomery's Appendix VI (4 decimals), and A3, B3, B4 from it."""
    n = pl.Series([2, 3, 5, 10, 25])
    got = pl.DataFrame({"n": n}).select(c4(pl.col("n")))["n"].to_list()
    assert got == pytest.approx([0.7979, 0.8862, 0.9400, 0.9727, 0.9896], abs=5e-5)
    k = {m: ref_c4(m) for m in (5, 6, 10)}
    assert 3 / (k[5] * math.sqrt(5)) == pytest.approx(1.427, abs=5e-4)
    assert 1 + 3 * math.sqrt(1 - k[5] ** 2) / k[5] == pytest.approx(2.089, abs=5e-4)
    assert 1 - 3 * math.sqrt(1 - k[6] ** 2) / k[6] == pytest.approx(0.030, abs=5e-4)
    assert pl.DataFrame({"n": [1, None]}, schema={"n": pl.Int64}).select(
        c4(pl.col("n")))["n"].to_list() == [None, None]
    # large n: log-gamma, no overflow
    big = pl.DataFrame({"n": [1000]}).select(c4(pl.col("n")))["n"][0]
    assert big == pytest.approx(4 * 999 / (4 * 1000 - 3), rel=1e-6)


@pytest.mark.parametrize("chart", ["xbar", "s"])
@pytest.mark.parametrize("groups", [VARIED, EQUAL], ids=["varied", "equal"])
def test_limits_follow_qicharts2(chart: str, groups: list[list[float]]) -> None:
    """Whole series, a baseline of 12 subgroups (qicharts2 freeze), exclusions, and a new
    phase: every subgroup's centre and limits equal the transcription of qic.xbar / qic.s;
    sizes that vary give the pooled s̄, equal sizes the mean s̄."""
    if chart == "s":  # a subgroup of one has no s: leave it out of both sides
        groups = [g for g in groups if len(g) > 1]
    data = measurements(groups)
    dates = days(len(groups))
    n = len(groups)
    cases = [
        (SeriesSpec(chart=chart), [1] * n, None, set()),
        (SeriesSpec(chart=chart, baseline_points=12), [1] * n, 12, set()),
        (SeriesSpec(chart=chart, exclude=(dates[2], dates[6])), [1] * n, None, {2, 6}),
        (SeriesSpec(chart=chart, rebase=(dates[9],), exclude=(dates[12],)),
         [1] * 9 + [2] * (n - 9), None, {12}),
    ]
    for spec, parts, freeze, exclude in cases:
        points = analyse(data, spec).points
        assert points.height == n
        means = [float(np.mean(g)) if chart == "xbar" else float(np.std(g, ddof=1))
                 for g in groups]
        assert points["value"].to_list() == pytest.approx(means, rel=1e-12)
        want = reference(groups, chart, parts, freeze, exclude)
        flat = [float(v) for row in want for v in row]
        assert lines(points) == pytest.approx(flat, rel=1e-9, abs=1e-12, nan_ok=True)


def test_pooled_and_mean_sbar_differ() -> None:
    """Equal sizes: s̄ = mean s_i (Montgomery 6.29); one size changed: the pooled s̄ (6.31)."""
    groups = [[1.0, 2.0, 4.0], [2.0, 2.0, 8.0], [3.0, 5.0, 4.0]]
    s = [float(np.std(g, ddof=1)) for g in groups]
    equal = analyse(measurements(groups), SeriesSpec(chart="s")).points
    assert equal["centre"][0] == pytest.approx(np.mean(s), rel=1e-12)
    groups[0].append(3.0)
    s[0] = float(np.std(groups[0], ddof=1))
    varied = analyse(measurements(groups), SeriesSpec(chart="s")).points
    pooled = math.sqrt((3 * s[0] ** 2 + 2 * s[1] ** 2 + 2 * s[2] ** 2) / 7)
    assert varied["centre"][0] == pytest.approx(pooled, rel=1e-12)


def test_subgroup_of_one() -> None:
    """Xbar: a subgroup of one is a point (its value) with no limits, weighted 1 in x̿ and
    adding nothing to s̄. S: it has no s, so no point, and is counted as a skipped value."""
    groups = [[10.0, 12.0, 11.0], [9.0], [10.0, 13.0, 12.0], [11.0, 10.0, 12.0]]
    xbar = analyse(measurements(groups), SeriesSpec(chart="xbar")).points
    assert xbar["value"][1] == 9.0
    assert xbar["upper"][1] is None and xbar["lower"][1] is None
    assert not xbar["outside_limits"][1]
    assert xbar["centre"][0] == pytest.approx(sum(sum(g) for g in groups) / 10, rel=1e-12)
    assert xbar["upper"][0] is not None
    result = analyse(measurements(groups), SeriesSpec(chart="s"))
    assert result.points["period"].to_list() == [d for i, d in enumerate(days(4)) if i != 1]
    assert result.summary["warnings"][0][0] == "1 missing values skipped"


def test_missing_measurements_are_skipped_and_counted() -> None:
    """A null measurement is left out of its subgroup; a subgroup with none is no point."""
    groups: list[list[float | None]] = [[10.0, None, 11.0], [None, None], [10.0, 13.0],
                                        [11.0, 10.0], [12.0, 9.0]]
    result = analyse(measurements(groups), SeriesSpec(chart="xbar"))
    assert result.points["value"].to_list() == pytest.approx([10.5, 11.5, 10.5, 10.5])
    assert result.summary["warnings"][0][0] == "3 missing values skipped"


def test_row_order_and_other_series_do_not_matter() -> None:
    """Measurements in any order, next to an XmR and a p series, give the same Xbar chart."""
    data = measurements(VARIED, "rings")
    alone = analyse(data, SeriesSpec(chart="xbar"))
    others = pl.concat([
        pl.DataFrame({"series": "waits", "period": days(8), "value": [3.0, 4, 5, 4, 6, 5, 4, 7]}),
        pl.DataFrame({"series": "calls", "period": days(8), "numerator": [8.0, 9, 7, 8, 9, 9, 8, 7],
                      "denominator": [10.0] * 8}),
    ], how="diagonal")
    mixed = pl.concat([data.sample(fraction=1.0, shuffle=True, seed=7), others], how="diagonal")
    specs = {"rings": SeriesSpec(chart="xbar"), "waits": SeriesSpec(),
             "calls": SeriesSpec(chart="p")}
    together = analyse(mixed, specs)
    assert together.points.filter(pl.col("series") == "rings").equals(alone.points)
    assert together.summary.filter(pl.col("series") == "rings").equals(alone.summary)
    assert together.points.filter(pl.col("series") == "waits").height == 8


def test_bad_input() -> None:
    """Other charts still reject a repeated period; S needs subgroups of two or more; a
    non-finite measurement is named by its period."""
    data = measurements([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    for chart in ("xmr", "c", "run"):
        with pytest.raises(SpcError, match="duplicate period"):
            analyse(data, SeriesSpec(chart=chart))
    with pytest.raises(SpcError, match="subgroups of 2 or more"):
        analyse(measurements([[1.0], [2.0], [3.0]]), SeriesSpec(chart="s"))
    with pytest.raises(SpcError, match="period 2024-01-02.*finite"):
        analyse(measurements([[1.0, 2.0], [3.0, float("inf")], [5.0, 6.0]]),
                SeriesSpec(chart="xbar"))
    with pytest.raises(SpcError, match="at least 2 points"):
        analyse(measurements([[1.0, 2.0, 3.0]]), SeriesSpec(chart="xbar"))
