"""spc.narrative.levels: a recalculation is suggested where one phase's limits average two levels.

Measured by simulation with a fixed seed (README "Recalculation suggestions"):

* size, 600 in-control XmR series each of 24 and 48 months: suggested on at most 2% (measured
  0.5% and 0.3%);
* power, 300 series of 36 months with a step of 2 sigma after month 18: a date within 3 months
  of the step is suggested on at least 85% (measured 94%; some date on 96%); with a 3-sigma step
  at least 97% (measured 99.7%).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from spc import narrative
from spc.engine import SeriesSpec, analyse
from spc.narrative.levels import current_suggestions, recalculation_suggestions

POLICE_UK = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "derived" / "police_uk_force_month_crime_type_counts.csv"


def _periods(n: int, start: int = 2018) -> list[dt.date]:
    return [dt.date(start + i // 12, i % 12 + 1, 1) for i in range(n)]


def _many(values: np.ndarray) -> pl.DataFrame:
    reps, n = values.shape
    return pl.DataFrame({"series": np.repeat([f"s{i:04d}" for i in range(reps)], n),
                         "period": _periods(n) * reps, "value": values.ravel()})


@pytest.mark.skipif(not POLICE_UK.exists(), reason="../shared/realdata not present")
def test_the_real_staffordshire_asb_step_is_suggested_in_every_surface_s_words():
    # 5 months of 2018/19 at 2,400-3,200, then (58 months missing) 4 months of 2024 at 900-1,050:
    # one phase whose average, 1,921, describes neither level.
    raw = pl.read_csv(POLICE_UK)
    data = raw.filter(pl.col("falls_within") == "Staffordshire Police", pl.col("crime_type") == "Anti-social behaviour") \
        .select(series=pl.lit("asb"), period=(pl.col("month") + "-01").str.to_date(), value=pl.col("count").cast(pl.Float64))
    res = analyse(data, SeriesSpec(chart="xmr", improvement="decrease"))
    assert res.phases.height == 1 and round(res.phases["centre"][0]) == 1921
    s = current_suggestions(res.points).row(0, named=True)
    assert (s["suggested_start"], s["reason"], s["n_before"], s["n_after"]) == (dt.date(2024, 1, 1), "split", 5, 4)
    ind = pl.DataFrame({"series": ["asb"], "name": ["Anti-social behaviour incidents"], "unit": ["count"],
                        "frequency": ["month"], "target_source": [None]})
    told = narrative.describe(res.summary, res.phases, ind, points=res.points, today=dt.date(2026, 12, 1)).row(0, named=True)
    assert told["suggested_start"] == dt.date(2024, 1, 1)
    assert told["suggestion"] == ("The limits average two different levels (about 2,673 before January 2024 and about "
                                  "982 from then); an analyst may recalculate from Jan 2024.")
    assert told["suggestion"] in told["sentences"]
    assert told["gaps"] == "58 months are missing between the figures: from March 2019 to December 2023."
    assert told["age"] == "latest data: April 2024, 31 months ago (late: 30 later months are due)" and told["late"]
    assert not any("No change" in x or "since the series began" in x for x in told["sentences"])


def test_a_long_run_on_one_side_or_a_clean_split_is_suggested_and_nothing_else():
    n = 30
    flat = np.tile([1.0, -1.0], n // 2)                       # crosses the centre every point
    run = np.where(np.arange(n) >= 14, 3.0, 0.0) + 0.4 * flat  # 16 points above from month 15
    split = run.copy()
    run[3] = 3.0                                               # not a clean split: one early point above
    res = analyse(_many(np.vstack([flat, run, split])), SeriesSpec(chart="xmr"))
    found = recalculation_suggestions(res.points, change_points=False)
    assert found.select("series", "suggested_start", "reason").rows() == [
        ("s0001", _periods(n)[14], "run"), ("s0002", _periods(n)[14], "split")]
    # only the limits drawn now are judged: after a recalculation at the step there is nothing to suggest
    data = _many(np.vstack([run]))
    rebased = analyse(data, SeriesSpec(chart="xmr", rebase=(_periods(n)[14],)))
    assert current_suggestions(rebased.points).is_empty()


def test_size_and_power_by_simulation():
    rng = np.random.default_rng(20261205)
    for n in (24, 48):
        calm = analyse(_many(rng.normal(0, 1, (600, n))), SeriesSpec(chart="xmr"))
        size = current_suggestions(calm.points)["series"].n_unique() / 600
        assert size <= 0.02, f"suggested on {size:.1%} of in-control series of {n} months"
    n, at = 36, 18
    # measured 62% and 90% since change points must beat a line and allow for autocorrelation
    # (spc.trend.breaks.step_p_value; tests/test_stat_size_breaks.py), against 87% and 99% before,
    # when 40-67% of AR(1) series and 78% of linear trends got a suggestion
    for step, bound in ((2.0, 0.55), (3.0, 0.85)):
        values = rng.normal(0, 1, (300, n)) + np.where(np.arange(n) >= at, step, 0.0)
        found = current_suggestions(analyse(_many(values), SeriesSpec(chart="xmr")).points)
        near = found.filter((pl.col("suggested_start") - pl.lit(_periods(n)[at])).dt.total_days().abs() <= 92)
        power = near["series"].n_unique() / 300
        assert power >= bound, f"a {step:g}-sigma step found near its date in {power:.0%} of series"
