"""spc.population: each observation joined to its area's mid-year population (the period's year,
else the nearest year there is, and which year was used), and rates per 1,000 residents."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from spc.errors import SpcError
from spc.population import empty_populations, estimate_note, window_rates, with_population, with_rates

POPS = pl.DataFrame({"area_code": ["a", "a", "a", "b"], "year": [2019, 2021, 2024, 2023],
                     "population": [1000, 1100, 1200, 5000], "source": "test"})


def test_each_period_gets_its_year_or_the_nearest_and_says_which() -> None:
    obs = pl.DataFrame({"area_code": ["a", "a", "b", "c", "a", "a"],
                        "period": [dt.date(2024, 1, 1), dt.date(2020, 5, 1), dt.date(2026, 1, 1),
                                   dt.date(2024, 1, 1), dt.date(2010, 1, 1), dt.date(2022, 1, 1)],
                        "value": [12.0, 22, 30, 40, 5, 11]})
    got = with_rates(obs, POPS)
    assert got["area_code"].to_list() == obs["area_code"].to_list()  # order kept
    assert got["population_year"].to_list() == [2024, 2021, 2023, None, 2019, 2021]
    assert got["population"].to_list() == [1200, 1100, 5000, None, 1000, 1100]
    assert got["rate"].round(6).to_list() == [10.0, 20.0, 6.0, None, 5.0, 10.0]
    # 2020 is equally near 2019 and 2021: the later estimate
    assert with_population(obs.head(2).tail(1), POPS)["population_year"][0] == 2021


def test_window_rates_sum_the_counts_and_average_the_population() -> None:
    months = [dt.date(2023, m, 1) for m in (11, 12)] + [dt.date(2024, 1, 1)]
    obs = pl.DataFrame({"area_code": ["a"] * 3 + ["b"] * 3, "period": months * 2,
                        "value": [1.0, 2, 3, 10, 20, 30]})
    pops = pl.DataFrame({"area_code": ["a", "a", "b"], "year": [2023, 2024, 2023],
                         "population": [1000, 4000, 2000]})
    got = window_rates(obs, pops).sort("area_code").rows(named=True)
    assert got[0]["count"] == 6 and got[0]["population"] == 2000 and got[0]["rate"] == pytest.approx(3.0)
    assert got[0]["population_years"] == "2023 to 2024" and got[0]["estimate_years"] == "2023 to 2024"
    assert got[1]["estimate_years"] == "2023" and got[1]["rate"] == pytest.approx(30.0)
    assert estimate_note(window_rates(obs, pops).filter(pl.col("area_code") == "a")) is None
    note = estimate_note(window_rates(obs.filter(pl.col("period").dt.year() == 2024), pops))
    assert note == ("There is no mid-year population estimate for 2024 in the data, so the nearest one (2023) "
                    "is used.")


def test_no_populations_means_no_rates_not_an_error() -> None:
    obs = pl.DataFrame({"area_code": ["a"], "period": [dt.date(2024, 1, 1)], "value": [3.0]})
    got = window_rates(obs, empty_populations())
    assert got["population"][0] is None and got["rate"][0] is None and got["estimate_years"][0] is None
    with pytest.raises(SpcError, match="no 'period' column"):
        with_population(obs.drop("period"), POPS)


def test_scaled_count_chart_is_the_rate_chart_to_within_the_population_change() -> None:
    """The Indicator page's per 1,000 residents chart is the stored counts' chart scaled by each
    year's population (spc.population.rate_points). Against an XmR chart computed afresh on the
    rates, with the population growing 0.6% a year for five years: the same rule at every point,
    and centre and limits within the population's change (measured: at most 1.2%)."""
    import numpy as np

    from spc.engine import analyse
    from spc.population import rate_points, yearly_change

    rng = np.random.default_rng(3)
    months = [dt.date(2019 + i // 12, i % 12 + 1, 1) for i in range(60)]
    counts = rng.poisson(300, 60).astype(float)
    counts[50], counts[20] = 380, 230  # one high and one low month
    pops = pl.DataFrame({"area_code": "a", "year": list(range(2019, 2024)),
                         "population": [100_000 * 1.006 ** k for k in range(5)]})
    assert yearly_change(pops, "a") == pytest.approx(0.006)
    counts_chart = analyse(pl.DataFrame({"period": months, "value": counts})).points.with_columns(area_code=pl.lit("a"))
    scaled = rate_points(counts_chart, pops)
    rate = scaled["population"].to_numpy()
    rates_chart = analyse(pl.DataFrame({"period": months, "value": counts / rate * 1000})).points
    assert scaled["rule"].to_list() == rates_chart["rule"].to_list()
    assert (scaled["outside_limits"] == rates_chart["outside_limits"]).all() and scaled["outside_limits"].sum() == 2
    assert np.allclose(scaled["value"], rates_chart["value"])
    for col in ("centre", "upper", "lower"):
        gap = (scaled[col] / rates_chart[col] - 1).abs().max()
        assert gap <= 0.015, (col, gap)
