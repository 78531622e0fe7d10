"""The comparison sentence a commissioner reads (spc.compare): plain English, no p-values or test
names (those are in the analyst's `detail`), "about the same" when the figures shown are equal,
and periods named in the series' own frequency."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import polars as pl

from spc import compare

JARGON = re.compile(r"p [=<]|p-value|autocorrelation|Poisson|binomial|Laney|quasi", re.I)


def months(n: int, start: dt.date) -> list[dt.date]:
    return [dt.date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1) for i in range(n)]


def proportions(before: list[int], after: list[int], den: int = 1000) -> pl.DataFrame:
    per = months(len(before) + len(after), dt.date(2023, 4, 1))
    return pl.DataFrame({"period": per, "numerator": [float(x) for x in before + after],
                         "denominator": [float(den)] * len(per)})


def test_equal_figures_read_about_the_same_not_down_zero_points() -> None:
    # 88.61% against 88.58%: both shown as 88.6%
    before = [886] * 11 + [887]
    after = [886] * 10 + [884, 884]
    row = compare.compare_periods(proportions(before, after), ("2024-04-01", "2025-03-31")).row(0, named=True)
    assert row["change"] != 0
    assert row["sentence"].startswith("About the same (88.6% in both periods)")
    assert "0.0 percentage points" not in row["sentence"]


def test_a_difference_too_small_to_show_says_less_than() -> None:
    data = pl.DataFrame({"period": [dt.date(2023, 1, 1), dt.date(2024, 1, 1)],
                         "numerator": [88_640.0, 88_660.0], "denominator": [100_000.0, 100_000.0]})
    row = compare.compare_periods(data, ("2024-01-01", "2024-01-31"),
                                  ("2023-01-01", "2023-01-31")).row(0, named=True)
    # 88.64% and 88.66% show as 88.6% and 88.7%: the size is not "0.0 percentage points"
    assert row["sentence"].startswith("Up less than 0.1 percentage points (88.6% to 88.7%)")


def test_sentences_carry_no_p_values_or_test_names_the_detail_does() -> None:
    rng = np.random.default_rng(7)
    per = months(24, dt.date(2022, 4, 1))
    # a strongly autocorrelated count series (a slow wave), so the caution is given
    wave = 100 + 30 * np.sin(np.arange(24) / 4) + rng.normal(0, 2, 24)
    data = pl.DataFrame({"period": per, "value": np.round(wave)})
    row = compare.compare_periods(data, ("2023-04-01", "2024-03-31"), frequency="month").row(0, named=True)
    assert not JARGON.search(row["sentence"]), row["sentence"]
    assert re.search(r"(within|beyond) what chance alone gives", row["sentence"])
    assert "Caution: each month tends to follow the one before" in row["sentence"]
    assert re.search(r"p [=<] 0\.\d+", row["detail"]) and "lag-1 autocorrelation" in row["detail"]


def test_quarterly_counts_are_described_in_quarters() -> None:
    quarters = [dt.date(2023, m, 1) for m in (1, 4, 7, 10)] + [dt.date(2024, m, 1) for m in (1, 4, 7)]
    data = pl.DataFrame({"period": quarters, "value": [30.0, 30, 30, 30, 60, 60, 60]})
    row = compare.compare_periods(data, ("2024-01-01", "2024-12-31"), frequency="quarter").row(0, named=True)
    assert "30.0 a quarter over 4 to 60.0 a quarter over 3" in row["sentence"]
    assert "different numbers of quarters (4 and 3)" in row["sentence"]
    assert "period" not in row["sentence"]


def test_funnel_tooltips_say_what_the_band_means() -> None:
    data = pl.DataFrame({"unit": ["a", "b", "c", "d", "e"], "numerator": [10.0, 12, 11, 40, 9],
                         "denominator": [100.0, 100, 100, 100, 100]})
    fig = compare.funnel_figure(compare.funnel(data, overdispersion="none"))
    (units,) = [t for t in fig.data if t.name == "units"]
    assert "well above what chance gives (beyond the 99.8% limit)" in units.customdata
    assert not any("_" in str(c) for c in units.customdata)


def test_funnel_title_says_in_plain_words_whether_the_limits_were_widened() -> None:
    rng = np.random.default_rng(3)
    den = rng.uniform(1_000, 20_000, 25)
    plain = pl.DataFrame({"unit": [f"a{i}" for i in range(25)], "numerator": rng.poisson(0.01 * den),
                          "denominator": den})
    spread = plain.with_columns(numerator=(pl.col("numerator") * rng.uniform(0.3, 2.5, 25)).round())
    for data, words in ((spread, "limits widened: the areas vary more than chance alone gives"),
                        (plain, "limits from chance alone")):
        f = compare.funnel(data, kind="rate", per=1000)
        title = compare.funnel_figure(f, title="ASB").layout.title.text
        assert words in title and "overdispersion" not in title
