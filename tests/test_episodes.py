"""spc.narrative.episodes: one sustained change is one episode, whatever rules fired along the way."""

from __future__ import annotations

import datetime as dt

import polars as pl

from spc import signals
from spc.narrative.episodes import episode_sentence, episodes

IMP, CON, CC = "special_cause_improvement", "special_cause_concern", "common_cause"


def _points(labels: list[tuple[str, str]], phases: list[int] | None = None, series: str = "s",
            start: dt.date = dt.date(2024, 1, 1)) -> pl.DataFrame:
    n = len(labels)
    return pl.DataFrame({
        "series": [series] * n,
        "period": [dt.date(start.year + (start.month - 1 + k) // 12, (start.month - 1 + k) % 12 + 1, 1) for k in range(n)],
        "phase": phases or [1] * n,
        "rule": [r for r, _ in labels], "point_type": [t for _, t in labels],
    })


def test_a_sustained_shift_whose_rule_label_changes_is_one_episode_naming_every_rule():
    shift = [("2 in 3 Above CL", IMP)] * 2 + [("7 Points Above CL", IMP)] * 5 + [("Above UCL", IMP)] * 2 \
        + [("7 Points Above CL", IMP)]
    pts = _points([("Common Cause", CC)] + shift + [("Common Cause", CC)])
    found = episodes(pts)
    assert found.height == 1
    e = found.row(0, named=True)
    assert (e["first_period"], e["last_period"], e["n_points"], e["direction"]) == (
        dt.date(2024, 2, 1), dt.date(2024, 11, 1), 10, "high")
    text = episode_sentence(e["first_period"], e["last_period"], e["n_points"], e["point_type"], e["direction"],
                            e["rules"], "month")
    assert text == ("From February 2024 to November 2024, 10 points were higher than usual, an improvement: "
                    "two of three points close to or beyond the upper limit, a run of 7 points above the average "
                    "(a shift) and 2 points above the upper process limit.")
    # the stored signal history keeps one pattern per rule label (its key is rule + first period)
    stored = signals.find_patterns(pts.rename({"series": "indicator_id"}).with_columns(area_code=pl.lit("x")))
    assert stored["rule"].to_list() == ["2 in 3 Above CL", "7 Points Above CL", "Above UCL", "7 Points Above CL"]


def test_episodes_end_at_a_phase_a_change_of_type_or_of_direction():
    labels = [("Above UCL", CON), ("Above UCL", CON), ("Below LCL", IMP), ("Above UCL", CON), ("Above UCL", CON),
              ("Common Cause", CC), ("Above UCL", CON)]
    found = episodes(_points(labels, phases=[1, 1, 1, 1, 2, 2, 2]))
    assert found.select("phase", "first_period", "n_points", "point_type", "ongoing").rows() == [
        (1, dt.date(2024, 1, 1), 2, CON, False),
        (1, dt.date(2024, 3, 1), 1, IMP, False),
        (1, dt.date(2024, 4, 1), 1, CON, False),    # phase 1 ends here
        (2, dt.date(2024, 5, 1), 1, CON, False),
        (2, dt.date(2024, 7, 1), 1, CON, True),     # reaches the latest point
    ]


def test_many_series_at_once_do_not_mix_and_quarters_read_as_quarters():
    a = _points([("Above UCL", CON), ("Common Cause", CC)], series="a")
    b = _points([("Common Cause", CC), ("7 Point Trend (Decreasing)", IMP)], series="b")
    found = episodes(pl.concat([a, b]))
    assert found.select("series", "first_period", "direction").rows() == [
        ("a", dt.date(2024, 1, 1), "high"), ("b", dt.date(2024, 2, 1), "low")]
    assert episodes(_points([("Common Cause", CC)] * 3)).is_empty()
    text = episode_sentence(dt.date(2014, 1, 1), dt.date(2014, 7, 1), 3, CON, "high", ["Above UCL"] * 3, "quarter")
    assert text.startswith("From the quarter starting January 2014 to the quarter starting July 2014, 3 points")
    assert "3 points in a row above the upper process limit" in text


def test_an_episode_ends_at_missing_periods():
    pts = _points([("Above UCL", CON)] * 4).with_columns(
        period=pl.Series([dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 6, 1), dt.date(2024, 7, 1)]))
    assert episodes(pts).select("first_period", "last_period").rows() == [
        (dt.date(2024, 1, 1), dt.date(2024, 2, 1)), (dt.date(2024, 6, 1), dt.date(2024, 7, 1))]


def test_an_undirected_rule_is_one_episode_however_its_points_alternate():
    # Nelson's '14 Points Alternating': the engine types each point neutral high or low by its side
    labels = [("14 Points Alternating", "special_cause_neutral_high" if k % 2 else "special_cause_neutral_low")
              for k in range(14)]
    found = episodes(_points([("Common Cause", CC)] + labels))
    assert found.select("first_period", "n_points", "direction").rows() == [(dt.date(2024, 2, 1), 14, "")]
    e = found.row(0, named=True)
    assert episode_sentence(e["first_period"], e["last_period"], e["n_points"], e["point_type"], e["direction"],
                            e["rules"]) == ("From February 2024 to March 2025, 14 points were unusual, neither better "
                                            "nor worse: 14 points in a row alternating up and down.")
