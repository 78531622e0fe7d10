"""How many latest-point signals chance alone gives (spc.chance), checked by simulation."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from spc import chance
from spc.chance import about, chance_figure, latest_point_rate


def _independent_mdc_signals(x: np.ndarray) -> np.ndarray:
    """Whether each row's latest point breaks a Making Data Count rule, written from the rules'
    definitions (not the engine): XmR limits mean ± 2.66 MR̄ after dropping moving ranges
    ≥ 3.267 MR̄; beyond a limit; 7 on one side; 7 rising or falling; 2 of 3 beyond 2σ (points
    beyond 3σ count; all three on one side; the latest one beyond)."""
    mr = np.abs(np.diff(x, axis=1))
    mr_bar = mr.mean(axis=1, keepdims=True)
    mr_bar = np.nanmean(np.where(mr < 3.267 * mr_bar, mr, np.nan), axis=1, keepdims=True)
    centre = x.mean(axis=1, keepdims=True)
    upper, lower = centre + 2.66 * mr_bar, centre - 2.66 * mr_bar
    upper2, lower2 = centre + 1.7733 * mr_bar, centre - 1.7733 * mr_bar
    last = x[:, -1:]
    beyond = ((last > upper) | (last < lower))[:, 0]
    side = np.sign(x - centre)
    shift = np.all(side[:, -7:] == 1, axis=1) | np.all(side[:, -7:] == -1, axis=1)
    step = np.sign(np.diff(x, axis=1))
    trend = np.all(step[:, -6:] == 1, axis=1) | np.all(step[:, -6:] == -1, axis=1)
    hi, lo = x[:, -3:] > upper2[:, :1], x[:, -3:] < lower2[:, :1]
    two_hi = np.all(side[:, -3:] == 1, axis=1) & (hi.sum(axis=1) >= 2) & hi[:, -1]
    two_lo = np.all(side[:, -3:] == -1, axis=1) & (lo.sum(axis=1) >= 2) & lo[:, -1]
    return beyond | shift | trend | two_hi | two_lo


def _independent_mdc_rate(n_series: int, n_points: int, seed: int) -> tuple[float, float]:
    """The share of `n_series` in-control iid normal series whose latest point signals, and its
    standard error (simulated in chunks to keep memory small)."""
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, n_series, 50_000):
        hits += int(_independent_mdc_signals(rng.standard_normal((min(50_000, n_series - start), n_points))).sum())
    rate = hits / n_series
    return rate, (rate * (1 - rate) / n_series) ** 0.5


@pytest.mark.parametrize("n_points", [36, 48, 60])
def test_about_two_percent_of_in_control_latest_points_signal_under_mdc_rules(n_points):
    rate = latest_point_rate(n_points)
    assert 0.014 <= rate.signal <= 0.026, rate
    # by chance, high and low are equally likely
    assert abs(rate.high - rate.low) < 0.005, rate
    assert rate.n_series == chance.N_SERIES


@pytest.mark.parametrize("n_points", [36, 60])
def test_the_simulated_rate_agrees_with_a_five_times_larger_independent_simulation(n_points):
    ours = latest_point_rate(n_points)
    theirs, se_theirs = _independent_mdc_rate(5 * chance.N_SERIES, n_points, seed=99)
    se_ours = (ours.signal * (1 - ours.signal) / ours.n_series) ** 0.5
    assert abs(ours.signal - theirs) < 4 * (se_ours ** 2 + se_theirs ** 2) ** 0.5, (ours.signal, theirs)


def test_long_series_are_simulated_at_the_longest_length():
    assert latest_point_rate(103) is latest_point_rate(chance.MAX_POINTS)


def test_rule_options_change_the_rate():
    # longer runs and trends are harder to reach by chance; shorter ones easier
    assert latest_point_rate(48, shift=8, trend=8).signal < latest_point_rate(48).signal
    assert latest_point_rate(48, shift=6, trend=6).signal > latest_point_rate(48).signal


def test_one_engine_call_per_option_set_and_cached(monkeypatch):
    calls = []
    real = chance.analyse

    def counting(data, spec):
        calls.append(data["series"].n_unique())
        return real(data, spec)

    monkeypatch.setattr(chance, "analyse", counting)
    first = latest_point_rate(29, n_series=500, seed=5)
    again = latest_point_rate(29, n_series=500, seed=5)
    assert again is first
    assert calls == [500]  # every simulated series in one analyse call, once


def test_chance_figure_adds_up_each_option_set():
    mdc = {"rule_set": "mdc", "shift": 7, "trend": 7, "two_sigma": "current", "screen_outliers": True}
    rows = ([{"variation": "special_cause_concern", "improvement": "decrease", "chart": "xmr", "n_points": 48, **mdc}] * 3
            + [{"variation": "common_cause", "improvement": "neutral", "chart": "xmr", "n_points": 48, **mdc}] * 57
            + [{"variation": "special_cause_improvement", "improvement": "increase", "chart": "xmr", "n_points": 48,
                **mdc, "shift": 8, "trend": 8}] * 10)
    figure = chance_figure(pl.DataFrame(rows))
    base, longer = latest_point_rate(48), latest_point_rate(48, shift=8, trend=8)
    assert (figure.n_series, figure.signals, figure.concerns) == (70, 13, 3)
    assert figure.expected_signals == pytest.approx(60 * base.signal + 10 * longer.signal)
    # concerns are one direction of the directional series only
    assert figure.expected_concerns == pytest.approx(3 * base.signal / 2 + 10 * longer.signal / 2)
    assert figure.rule_options == ("Making Data Count rules (runs of 7, trends of 7)",
                                   "Making Data Count rules (runs of 8, trends of 8)")


def test_missing_options_take_the_engine_defaults():
    figure = chance_figure(pl.DataFrame({"variation": ["common_cause"] * 10, "improvement": ["increase"] * 10,
                                         "chart": ["xmr"] * 10, "n_points": [48] * 10}))
    assert figure.expected_signals == pytest.approx(10 * latest_point_rate(48).signal)


@pytest.mark.parametrize("x, text", [(0.0, "0"), (0.034, "0.034"), (0.24, "0.24"), (1.26, "1.3"), (12.4, "12")])
def test_expected_counts_read_naturally(x, text):
    assert about(x) == text
