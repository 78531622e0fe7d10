"""The Making Data Count rules in NumPy (spc.rules.classify_numpy, the engine's pass for frames
of one rule set) give the same rule codes, directions, point types and labels as the polars
rule expressions (spc.rules.classify), on random frames with ties, points on the centre line,
gaps, rebases, exclusions, baselines, limits per calendar month, legacy 2 of 3, EWMA rows and
shift and trend lengths that differ between series."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from spc import engine
from spc.engine import SeriesSpec
from spc.engine_input import check, prepare, subgroups
from spc.rules import classify_numpy, point_types, rule_labels

CHARTS = ["xmr", "xmr", "xmr", "c", "p", "u", "run", "ewma", "t"]


def _frame_and_specs(seed: int, n_series: int) -> tuple[pl.DataFrame, dict[str, SeriesSpec]]:
    rng = np.random.default_rng(seed)
    frames, specs = [], {}
    for i in range(n_series):
        n = int(rng.integers(2, 80))
        chart = str(rng.choice(CHARTS))
        months = np.sort(rng.choice(n + int(rng.integers(0, 5)), n, replace=False))
        dates = [dt.date(2015 + int(m) // 12, int(m) % 12 + 1, 1) for m in months]
        if rng.random() < 0.3:  # a shift up part-way: runs, trends and 2 of 3 to find
            step = (np.arange(n) > n // 2) * float(rng.integers(2, 6))
        else:
            step = np.zeros(n)
        num = np.round(rng.normal(10, 2, n) + step).clip(0, None)  # ties, points on the mean
        if rng.random() < 0.2:  # long trends, up or down
            num = np.sort(num) + np.arange(n) * 0.25
            num = num[::-1].copy() if rng.random() < 0.5 else num
        den = rng.integers(60, 90, n).astype(float)
        value = num + (1.0 if chart == "t" else 0.0)
        name = f"s{i:03d}"
        frames.append(pl.DataFrame({"series": name, "period": dates, "value": value,
                                    "numerator": num, "denominator": den}))
        pick = rng.random(n)
        seasonal = chart in ("xmr", "c", "p", "u") and rng.random() < 0.15
        specs[name] = SeriesSpec(
            chart=chart, improvement=str(rng.choice(["increase", "decrease", "neutral"])),
            rebase=tuple(d for d, r in zip(dates, pick) if r < 0.03),
            exclude=tuple(d for d, r in zip(dates, pick) if r > 0.95),
            baseline_points=None if rng.random() < 0.7 else int(rng.integers(2, 20)),
            screen_outliers=bool(rng.random() < 0.8),
            two_sigma=str(rng.choice(["current", "legacy"])),
            shift=int(rng.integers(5, 10)), trend=int(rng.integers(5, 10)),
            break_at_gaps=bool(rng.random() < 0.8), seasonal_limits=seasonal)
    return pl.concat(frames), specs


def _limited(data: pl.DataFrame, specs: dict[str, SeriesSpec]) -> pl.DataFrame:
    """The engine's frame as the rules receive it (limits and outside_limits added)."""
    frame, rebase, exclude = engine._spec_frames(specs, prepare(data))
    frame = engine._limits(engine._phases_and_base(check(subgroups(frame)), rebase, exclude))
    v = pl.col("value")
    return frame.with_columns(
        outside_limits=((v > pl.col("upper")) | (v < pl.col("lower"))).fill_null(False))


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("same_spec", [False, True])
def test_numpy_rules_equal_the_polars_rules(seed: int, same_spec: bool) -> None:
    data, specs = _frame_and_specs(seed, 40)
    if same_spec:  # one spec for every series: the spec values are read once, not per row
        one = SeriesSpec(improvement="increase", exclude=(dt.date(2016, 3, 1),),
                         two_sigma="legacy" if seed % 2 else "current",
                         shift=(6, 2, 9, 7)[seed % 4], trend=(8, 2, 3, 7)[seed % 4])
        specs = dict.fromkeys(specs, one)
    frame = _limited(data, specs)
    want = engine._classify_lazy(frame, ["mdc"])
    code, direction = classify_numpy(frame)
    assert (code == want["_rule_code"].to_numpy()).all()
    assert (direction == want["_dir"].to_numpy()).all()
    codes = pl.Series("_rule_code", code, dtype=pl.Int16)
    assert rule_labels(codes).equals(want["rule"])
    assert point_types(direction, want["_improve"].to_numpy()).equals(want["point_type"])
    # and the frames contain the patterns this is about
    kinds = {c // 100 for c in code.tolist()}
    assert 0 in kinds and kinds & {3, 4} and kinds & {7, 8}
    # (2 of 3 ranks below a trend: with trends of 2 or 3 points it is seldom left to show)
    assert kinds & {5, 6} or (same_spec and seed % 4 in (1, 2))


def test_analyse_points_equal_with_either_rules_pass() -> None:
    data, specs = _frame_and_specs(99, 30)
    fast = engine.analyse(data, specs)
    # any second rule set sends every row through the polars expressions
    mixed = {**specs, "s000": SeriesSpec(**{**specs["s000"].__dict__, "rule_set": "nelson"})}
    slow = engine.analyse(data, mixed)
    keep = pl.col("series") != "s000"
    assert fast.points.filter(keep).equals(slow.points.filter(keep))
    assert fast.summary.filter(keep).equals(slow.summary.filter(keep))
    assert fast.phases.filter(keep).equals(slow.phases.filter(keep))
