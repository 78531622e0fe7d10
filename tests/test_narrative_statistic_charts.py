"""EWMA and CUSUM charts plot a running statistic, not each period's figure: the narrative says
what the statistic shows and never quotes it as the latest value, its centre as an average, or
its levels as a reason to recalculate."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from spc import narrative
from spc.engine import SeriesSpec, analyse

META = pl.DataFrame({"series": ["s"], "name": ["Anti-social behaviour"], "unit": ["count"], "frequency": ["month"]})


def _describe(values: np.ndarray, chart: str) -> dict:
    periods = [dt.date(2020 + i // 12, i % 12 + 1, 1) for i in range(len(values))]
    a = analyse(pl.DataFrame({"series": "s", "period": periods, "value": values}),
                {"s": SeriesSpec(chart=chart, improvement="decrease")})
    return narrative.describe(a.summary, a.phases, META, points=a.points).row(0, named=True)


@pytest.mark.parametrize("chart", ["ewma", "cusum"])
def test_a_sustained_shift_is_described_as_the_statistic_not_as_a_figure(chart: str) -> None:
    rng = np.random.default_rng(5)
    shifted = np.r_[rng.normal(100, 5, 30), rng.normal(108, 5, 12)]  # a 1.6σ rise, held
    d = _describe(shifted, chart)
    text = " ".join(d["sentences"])
    assert d["headline"].startswith(f"Anti-social behaviour: {'EWMA' if chart == 'ewma' else 'CUSUM'}")
    assert "running statistic, not that period's figure" in text
    assert "around an average of" not in text and "limits average two different levels" not in text
    assert d["suggestion"] is None and d["suggested_start"] is None
    if d["status"].startswith("Special cause"):
        assert "a change for the worse" in text and "above its upper limit" in text


@pytest.mark.parametrize("chart", ["ewma", "cusum"])
def test_an_in_control_series_reads_no_sustained_shift(chart: str) -> None:
    rng = np.random.default_rng(11)
    for _ in range(20):  # the first in-control draw whose chart shows nothing at all
        d = _describe(rng.normal(100, 5, 36), chart)
        if d["episodes"] is None or not d["episodes"]:
            break
    assert d["sentences"][1].startswith("No sustained shift")
