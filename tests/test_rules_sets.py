"""Western Electric and Nelson rule sets (rule_set option), on designed series whose
limits are known exactly: a baseline alternating 10, 12 gives centre 11, σ = 1.7733."""

from __future__ import annotations

import datetime as dt

import polars as pl

from spc.engine import SeriesSpec, analyse

BASELINE = [10.0, 12.0] * 6


def analysed(values: list[float], rule_set: str, baseline: int = 12) -> pl.DataFrame:
    periods = [dt.date(2020 + i // 12, i % 12 + 1, 1) for i in range(len(values))]
    spec = SeriesSpec(rule_set=rule_set, baseline_points=baseline, improvement="increase")
    return analyse(pl.DataFrame({"period": periods, "value": values}), spec).points


def test_western_electric_eight_on_one_side_not_seven() -> None:
    base = [12.0, 10.0] * 6  # ends below the centre line
    eight = [11.5, 12.0] * 4
    assert analysed(base + eight, "western_electric")["rule"].to_list()[12:] == \
        ["8 Points Above CL"] * 8
    seven = eight[:7] + [10.0]
    assert set(analysed(base + seven, "western_electric")["rule"]) == {"Common Cause"}
    # the MDC set calls the same seven a shift
    assert analysed(base + seven, "mdc")["rule"].to_list()[12:19] == ["7 Points Above CL"] * 7


def test_western_electric_four_of_five_beyond_one_sigma() -> None:
    points = analysed(BASELINE + [13.0, 13.0, 11.5, 13.0, 13.0, 10.0], "western_electric")
    assert points["rule"].to_list()[12:] == (
        ["4 in 5 Beyond 1 Sigma Above CL"] * 2 + ["Common Cause"]
        + ["4 in 5 Beyond 1 Sigma Above CL"] * 2 + ["Common Cause"])
    assert points["point_type"][12] == "special_cause_improvement"
    # three of five is not enough
    assert set(analysed(BASELINE + [13.0, 13.0, 11.5, 11.5, 13.0, 10.0],
                        "western_electric")["rule"]) == {"Common Cause"}


def test_nelson_fourteen_alternating_has_no_direction() -> None:
    points = analysed([10.0, 12.0] * 7, "nelson")
    assert set(points["rule"]) == {"14 Points Alternating"}
    assert set(points["point_type"]) == {"special_cause_neutral_low", "special_cause_neutral_high"}
    assert set(analysed([10.0, 12.0] * 6 + [10.0], "nelson")["rule"]) == {"Common Cause"}


def test_nelson_six_point_trend_and_nine_on_one_side() -> None:
    rising = [10.5, 11.0, 11.5, 12.0, 12.5, 13.0]
    assert analysed(BASELINE + rising, "nelson")["rule"].to_list()[12:] == \
        ["6 Point Trend (Increasing)"] * 6
    nine = [11.5, 12.0] * 4 + [11.5]
    assert analysed(BASELINE + nine, "nelson")["rule"].to_list()[12:] == ["9 Points Above CL"] * 9


def test_nelson_fifteen_within_one_sigma() -> None:
    hugging = [11.5, 10.5, 10.4] * 5  # within 1σ, never alternating, never 9 on a side
    rules = analysed([5.0, 17.0] * 6 + hugging, "nelson")["rule"].to_list()
    assert rules[12:] == ["15 Points Within 1 Sigma"] * 15
