"""The engine API: columns, many series with different specs, summaries, bad input."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from spc.engine import SeriesSpec, analyse
from spc.errors import SpcError


def periods(n: int) -> list[dt.date]:
    return [dt.date(2020 + i // 12, i % 12 + 1, 1) for i in range(n)]


def series_frame(name: str, values: list[float], **extra: list) -> pl.DataFrame:
    return pl.DataFrame({"series": [name] * len(values), "period": periods(len(values)),
                         "value": values, **extra})


RNG = np.random.default_rng(7)
WAITS = [float(v) for v in RNG.normal(100, 10, 24).round(1)]
COUNTS = [float(v) for v in RNG.poisson(20, 24)]


def test_columns_follow_the_contract() -> None:
    result = analyse(series_frame("a", WAITS), SeriesSpec())
    assert result.points.columns[:4] == ["series", "period", "value", "numerator"]
    for col in ("phase", "excluded", "centre", "lower", "upper", "lower_2s", "upper_2s",
                "lower_1s", "upper_1s", "outside_limits", "rule", "point_type", "trial_limits"):
        assert col in result.points.columns
    assert result.points.schema["phase"] == pl.Int32
    assert result.points.schema["period"] == pl.Date
    assert result.phases.columns == [
        "series", "phase", "start", "end", "n_points", "n_used", "centre", "lower", "upper",
        "trial_limits", "runs_signal", "longest_run", "longest_run_max", "crossings",
        "crossings_min"]
    for col in ("series", "chart", "improvement", "target", "variation", "assurance",
                "latest_period", "latest_value", "latest_phase", "centre", "lower", "upper",
                "n_points", "n_improvement", "n_concern", "n_neutral", "n_beyond_limits",
                "n_shift", "n_trend", "n_two_of_three", "runs_signal", "trial_limits",
                "warnings"):
        assert col in result.summary.columns


def test_many_series_with_different_specs_in_one_call() -> None:
    data = pl.concat([
        series_frame("waits", WAITS),
        series_frame("crimes", COUNTS),
        pl.DataFrame({"series": ["answered"] * 24, "period": periods(24),
                      "numerator": [900 + i for i in range(24)], "denominator": [1000] * 24}),
    ], how="diagonal_relaxed")
    specs = {"waits": SeriesSpec(chart="xmr", improvement="decrease"),
             "crimes": SeriesSpec(chart="c", improvement="decrease"),
             "answered": SeriesSpec(chart="pp", improvement="increase", target=0.9)}
    result = analyse(data, specs)
    summary = {r["series"]: r for r in result.summary.iter_rows(named=True)}
    assert {s: summary[s]["chart"] for s in summary} == {"waits": "xmr", "crimes": "c",
                                                        "answered": "pp"}
    for name, spec in specs.items():
        alone = analyse(data.filter(pl.col("series") == name), spec)
        assert alone.points.equals(result.points.filter(pl.col("series") == name))
    answered = result.points.filter(pl.col("series") == "answered")
    assert answered["value"][0] == pytest.approx(0.9)


def test_single_series_without_series_column() -> None:
    result = analyse(pl.DataFrame({"period": periods(12), "value": WAITS[:12]}))
    assert result.summary.height == 1
    assert result.points["series"].unique().to_list() == ["all"]


def test_assurance_against_latest_limits() -> None:
    data = series_frame("a", WAITS)
    lower, upper = analyse(data).summary.row(0, named=True)["lower"], \
        analyse(data).summary.row(0, named=True)["upper"]

    def assurance(improvement: str, target: float | None) -> str | None:
        spec = SeriesSpec(improvement=improvement, target=target)
        return analyse(data, spec).summary["assurance"][0]

    assert assurance("increase", lower - 1) == "consistent_pass"
    assert assurance("increase", lower) == "consistent_pass"  # on a limit counts (MDC)
    assert assurance("increase", upper + 1) == "consistent_fail"
    assert assurance("decrease", upper) == "consistent_pass"
    assert assurance("decrease", (lower + upper) / 2) == "inconsistent"
    assert assurance("neutral", upper + 1) is None
    assert assurance("increase", None) is None


def test_summary_counts_and_variation() -> None:
    values = [10.0, 12.0] * 6 + [30.0]
    spec = SeriesSpec(improvement="decrease", baseline_points=12)
    row = analyse(series_frame("a", values), spec).summary.row(0, named=True)
    assert row["variation"] == "special_cause_concern"
    assert (row["n_concern"], row["n_improvement"], row["n_beyond_limits"]) == (1, 0, 1)
    assert row["latest_value"] == 30.0 and row["latest_period"] == periods(13)[-1]


def test_trial_limits_below_twelve_points() -> None:
    short = analyse(series_frame("a", WAITS[:11]))
    assert short.points["trial_limits"].all() and short.summary["trial_limits"][0]
    assert any("trial limits" in w for w in short.summary["warnings"][0])
    assert not analyse(series_frame("a", WAITS[:12])).points["trial_limits"].any()


def test_one_point_phase_has_its_value_as_centre_and_no_limits() -> None:
    data = series_frame("a", WAITS[:13])
    result = analyse(data, SeriesSpec(rebase=(periods(13)[-1],)))
    last = result.points.row(-1, named=True)
    assert last["phase"] == 2 and last["centre"] == WAITS[12]
    assert last["lower"] is None and last["upper"] is None


def test_run_chart_has_a_median_and_no_limits() -> None:
    points = analyse(series_frame("a", WAITS), SeriesSpec(chart="run")).points
    assert points["centre"][0] == pytest.approx(float(np.median(WAITS)))
    assert points["upper"].is_null().all() and not points["outside_limits"].any()


# Laney p′ with large denominators: the published NHS A&E case (p chart 16 of 20 weeks
# outside, p′ none) is in tests/test_published_cases.py.


def test_shift_and_trend_outside_six_to_eight_warn() -> None:
    row = analyse(series_frame("a", WAITS), SeriesSpec(shift=9)).summary.row(0, named=True)
    assert "shift length 9 is outside the usual 6 to 8" in row["warnings"]


# ----------------------------------------------------------------- missing values

def test_missing_values_are_skipped_and_counted() -> None:
    values: list[float | None] = list(WAITS)
    values[3] = None
    values[10] = None
    result = analyse(series_frame("a", values))  # type: ignore[arg-type]
    assert result.points.height == 22
    assert result.summary["warnings"][0][0] == "2 missing values skipped"
    complete = [v for v in values if v is not None]
    kept = [p for p, v in zip(periods(24), values, strict=True) if v is not None]
    alone = analyse(pl.DataFrame({"series": "a", "period": kept, "value": complete}))
    assert alone.points.equals(result.points)


# ----------------------------------------------------------------- bad input

def expect_error(data: pl.DataFrame, spec: SeriesSpec | None = None, *words: str) -> None:
    with pytest.raises(SpcError) as err:
        analyse(data, spec)
    message = str(err.value)
    for word in words:
        assert word in message, message


def test_non_numeric_value_names_series_period_and_column() -> None:
    data = pl.DataFrame({"series": ["a"] * 3, "period": ["2024-01-01", "2024-02-01", "2024-03-01"],
                         "value": ["1", "2", "three"]})
    expect_error(data, None, "series 'a'", "period 2024-03-01", "column value", "three")


def test_bad_period() -> None:
    data = pl.DataFrame({"series": ["a"] * 2, "period": ["2024-01-01", "March"], "value": [1, 2]})
    expect_error(data, None, "column period", "March")


def test_negative_count() -> None:
    expect_error(series_frame("a", [3.0, -1.0, 4.0]), SeriesSpec(chart="c"),
                 "series 'a'", "period 2020-02-01", "column value", "count")


def test_numerator_above_denominator() -> None:
    data = pl.DataFrame({"series": "a", "period": periods(3), "numerator": [1, 9, 2],
                         "denominator": [5, 5, 5]})
    expect_error(data, SeriesSpec(chart="p"), "period 2020-02-01", "column numerator")


def test_zero_or_missing_denominator() -> None:
    data = pl.DataFrame({"series": "a", "period": periods(3), "numerator": [1, 2, 2],
                         "denominator": [5, 0, 5]})
    expect_error(data, SeriesSpec(chart="u"), "period 2020-02-01", "column denominator")
    data = data.with_columns(denominator=pl.Series([5, None, 5]))
    expect_error(data, SeriesSpec(chart="u"), "period 2020-02-01", "column denominator")


def test_duplicate_periods() -> None:
    data = pl.DataFrame({"series": "a", "period": [dt.date(2024, 1, 1)] * 2 + [dt.date(2024, 2, 1)],
                         "value": [1.0, 2.0, 3.0]})
    expect_error(data, None, "series 'a'", "period 2024-01-01", "duplicate")


def test_unknown_chart_type() -> None:
    with pytest.raises(SpcError, match="unknown chart type 'np'"):
        SeriesSpec(chart="np")


def test_fewer_than_two_points() -> None:
    data = pl.concat([series_frame("a", WAITS), series_frame("b", [1.0])])
    expect_error(data, None, "series 'b'", "at least 2")


def test_series_without_spec() -> None:
    data = pl.concat([series_frame("a", WAITS), series_frame("b", WAITS)])
    expect_error(data, {"a": SeriesSpec()}, "series 'b'", "no spec")


def test_phases_and_summary_on_first_use_are_the_same_frames_and_pickle() -> None:
    """analyse makes the phases and summary frames when first asked for (spc chart never asks);
    they do not depend on when that is, and the analysis pickles as its three frames."""
    import pickle

    from polars.testing import assert_frame_equal

    months = pl.date_range(dt.date(2021, 1, 1), dt.date(2023, 12, 1), "1mo", eager=True)
    data = pl.DataFrame({"series": ["a"] * 36 + ["b"] * 36, "period": [*months, *months],
                         "value": [float(10 + i % 5 + (6 if i > 24 else 0)) for i in range(72)]})
    spec = SeriesSpec(improvement="increase", target=12.0)
    first, second = analyse(data, spec), analyse(data, spec)
    copy = pickle.loads(pickle.dumps(second))  # asks for both frames
    for kind in ("points", "phases", "summary"):
        assert_frame_equal(getattr(first, kind), getattr(second, kind))
        assert_frame_equal(getattr(copy, kind), getattr(first, kind))
    assert first.summary["n_points"].to_list() == [36, 36]
