"""Rule edge cases (issue 3): ties and trends, points on the mean and shifts, 2 of 3 on
opposite sides, patterns never crossing phases, current vs legacy 2 of 3 logic."""

from __future__ import annotations

import datetime as dt

import polars as pl

from spc.engine import SeriesSpec, analyse

# A baseline alternating 10, 12: mean 11, every moving range 2, so the limits are exactly
# 11 ± 2.66 × 2 = [5.68, 16.32], 2σ at 11 ± 3.5467, 1σ at 11 ± 1.7733.
BASELINE = [10.0, 12.0] * 6


def frame(values: list[float]) -> pl.DataFrame:
    periods = [dt.date(2020 + i // 12, i % 12 + 1, 1) for i in range(len(values))]
    return pl.DataFrame({"period": periods, "value": values})


def rules(values: list[float], **options: object) -> list[str]:
    spec = SeriesSpec(baseline_points=len(BASELINE), improvement="increase", **options)
    return analyse(frame(values), spec).points["rule"].to_list()


def test_baseline_limits_are_the_designed_ones() -> None:
    points = analyse(frame(BASELINE + [11.0]), SeriesSpec(baseline_points=12)).points
    assert points["centre"][0] == 11.0
    assert abs(points["upper"][0] - 16.32) < 1e-12
    assert abs(points["upper_2s"][0] - (11 + 2 * 2.66 * 2 / 3)) < 1e-12


def test_seven_rising_points_are_a_trend_and_every_point_is_flagged() -> None:
    rising = [10.5, 11.0, 11.5, 12.0, 12.5, 13.0, 13.5]
    got = rules(BASELINE + rising)
    assert got[12:] == ["7 Point Trend (Increasing)"] * 7
    assert set(got[:12]) == {"Common Cause"}


def test_a_tie_breaks_a_trend() -> None:
    tied = [10.5, 11.0, 11.5, 12.0, 12.5, 13.0, 13.0, 13.5]
    assert "Trend" not in " ".join(rules(BASELINE + tied))


def test_trend_length_option() -> None:
    six = [10.5, 11.0, 11.5, 12.0, 12.5, 13.0]
    assert rules(BASELINE + six, trend=6)[12:] == ["6 Point Trend (Increasing)"] * 6
    assert "Trend" not in " ".join(rules(BASELINE + six, trend=7))


def test_a_point_on_the_mean_breaks_a_shift() -> None:
    above = [12.5, 13.0, 12.5, 13.0, 12.5, 13.0, 12.5]
    assert rules(BASELINE + above)[12:] == ["7 Points Above CL"] * 7
    broken = [12.5, 13.0, 12.5, 11.0, 13.0, 12.5, 13.0, 12.5]  # 11 is the mean
    assert set(rules(BASELINE + broken)[12:]) == {"Common Cause"}


def test_two_of_three_on_opposite_sides_is_not_a_signal() -> None:
    # beyond +2σ (14.55) then beyond -2σ (7.45): two of three beyond 2σ, opposite sides
    assert set(rules(BASELINE + [15.0, 7.0, 11.0])) == {"Common Cause"}
    # two beyond +2σ on the same side, but the point between them is below the mean
    assert set(rules(BASELINE + [15.0, 10.0, 15.0, 10.0])) == {"Common Cause"}


def test_two_of_three_same_side_flags_the_two_points() -> None:
    got = rules(BASELINE + [15.0, 12.0, 15.0, 10.0])
    assert got[12:] == ["2 in 3 Above CL", "Common Cause", "2 in 3 Above CL", "Common Cause"]


def test_current_and_legacy_two_of_three_differ_beyond_three_sigma() -> None:
    # 17 is beyond 3σ (16.32), 15 between 2σ and 3σ, 12 before them is above the mean
    values = BASELINE + [17.0, 15.0, 10.0]
    current = rules(values, two_sigma="current")
    legacy = rules(values, two_sigma="legacy")
    assert current[12:] == ["Above UCL", "2 in 3 Above CL", "Common Cause"]
    assert legacy[12:] == ["Above UCL", "Common Cause", "Common Cause"]


def test_patterns_never_cross_a_phase() -> None:
    values = [float(v) for v in range(1, 15)]  # 14 rising points
    periods = frame(values)["period"].to_list()
    whole = analyse(frame(values), SeriesSpec()).points["rule"].to_list()
    assert "7 Point Trend (Increasing)" in whole  # (the ends are beyond the limits)
    # rebased every 5 points: no phase holds 7 points, so no trend and no shift
    split = analyse(frame(values), SeriesSpec(rebase=(periods[5], periods[10]))).points
    assert split["phase"].to_list() == [1] * 5 + [2] * 5 + [3] * 4
    assert not split["rule"].str.contains("Trend|Points").any()


def test_excluded_point_is_judged_against_limits_but_not_in_patterns() -> None:
    # seven points above the mean with an eighth, excluded, far below in the middle
    above = [12.5, 13.0, 12.5, 13.0, 0.0, 12.5, 13.0, 12.5]
    values = BASELINE + above
    periods = frame(values)["period"].to_list()
    points = analyse(frame(values), SeriesSpec(baseline_points=12, improvement="increase",
                                               exclude=(periods[16],))).points
    got = points["rule"].to_list()
    assert got[16] == "Below LCL" and points["excluded"][16]
    # its neighbours are adjacent: the seven used points above the mean make a shift
    assert got[12:16] + got[17:] == ["7 Points Above CL"] * 7


def test_point_types_follow_the_improvement_direction() -> None:
    values = BASELINE + [17.0, 11.0, 5.0]
    for improvement, high, low in (
        ("increase", "special_cause_improvement", "special_cause_concern"),
        ("decrease", "special_cause_concern", "special_cause_improvement"),
        ("neutral", "special_cause_neutral_high", "special_cause_neutral_low"),
    ):
        spec = SeriesSpec(baseline_points=12, improvement=improvement)
        types = analyse(frame(values), spec).points["point_type"].to_list()
        assert types[12:] == [high, "common_cause", low]
