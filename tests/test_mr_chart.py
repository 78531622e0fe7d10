"""The moving range chart under every XmR chart (MR̄ and the 3.267 × MR̄ upper range limit).

Published case: the XmR software-verification data set (The Broken Quality Initiative's
"Software Verification Quick Guide", Shewhart's resistance measurements; tests/data/published/
xmr_software_verification.csv, also in tests/test_published_cases.py): average moving range
355.93, upper range limit 1163.19 with Wheeler's 3.268, and sample 16's moving range of 1737
above it.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import polars as pl
import pytest

from spc import plots
from spc.charts.xmr import moving_ranges
from spc.engine import SeriesSpec, analyse

sys.path.insert(0, str(Path(__file__).parent))
from test_published_cases import xmr_verification  # noqa: E402


def test_software_verification_moving_range_chart() -> None:
    data = xmr_verification()
    points = analyse(data.select("period", "value"), SeriesSpec(screen_outliers=False)).points
    mr = moving_ranges(points)
    assert mr["moving_range"].to_list()[1:] == data["mr"].cast(pl.Float64).to_list()[1:]
    assert mr["moving_range"][0] is None
    assert mr["mr_bar"][0] == pytest.approx(355.93, abs=0.005)
    assert mr["mr_bar"][0] * 3.268 == pytest.approx(1163.19, abs=0.005)
    assert mr["mr_upper"][0] == pytest.approx(3.267 * 355.9333, abs=0.01)
    above = mr.with_row_index("k", offset=1).filter("mr_above")
    assert above["k"].to_list() == [16]
    assert above["moving_range"].to_list() == [1737.0]
    fig = plots.moving_range_chart(points)
    names = [t.name for t in fig.data]
    assert "Range above the upper range limit" in names
    assert list(fig.data[names.index("Range above the upper range limit")].y) == [1737.0]


def test_with_screening_the_line_is_the_average_the_limits_used() -> None:
    data = xmr_verification()
    points = analyse(data.select("period", "value"), SeriesSpec()).points
    kept = data.filter(pl.col("mr").is_not_null() & (pl.col("mr") <= 1163.1))["mr"]
    assert moving_ranges(points)["mr_bar"][0] == pytest.approx(kept.mean())


def test_no_range_across_a_gap_an_excluded_point_or_a_phase() -> None:
    periods = [dt.date(2020, m, 1) for m in range(1, 13)] + [dt.date(2022, m, 1) for m in range(1, 13)]
    values = [10.0, 12, 11, 13, 10, 12, 11, 30, 12, 11, 10, 12] + [50.0, 52, 51, 53, 50, 52, 51, 53,
                                                                      50, 52, 51, 53]
    data = pl.DataFrame({"period": periods, "value": values})
    spec = SeriesSpec(exclude=(dt.date(2020, 8, 1),), rebase=(dt.date(2022, 7, 1),))
    points = analyse(data, spec).points
    mr = moving_ranges(points)
    by = dict(zip(mr["period"].to_list(), mr["moving_range"].to_list(), strict=True))
    assert by[dt.date(2020, 8, 1)] is None          # excluded point
    assert by[dt.date(2020, 9, 1)] == 1.0           # next to the point before the excluded one
    assert by[dt.date(2022, 1, 1)] is None          # after 12 missing months
    assert by[dt.date(2022, 7, 1)] is None          # first point of a new phase
    # the engine leaves the same ranges out of MR̄: phase 1's MR̄ is the mean of these ranges
    phase1 = mr.filter(pl.col("phase") == 1)
    assert phase1["mr_bar"][0] == pytest.approx(phase1["moving_range"].drop_nulls().mean())
