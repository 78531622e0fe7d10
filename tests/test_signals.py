"""Signal history: patterns from points, and their life across refreshes (new, continuing,
ended, withdrawn), written to a real store."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from spc import signals
from spc.engine import SeriesSpec, analyse
from spc.store import connect, migrate, transaction

CONCERN, IMPROVE, COMMON = "special_cause_concern", "special_cause_improvement", "common_cause"


def _points(labels: list[tuple[str, str]], phases: list[int] | None = None, area: str = "x") -> pl.DataFrame:
    """A monthly series from 2024-01 with the given (rule, point_type) per point."""
    n = len(labels)
    return pl.DataFrame({
        "indicator_id": ["ind"] * n, "area_code": [area] * n,
        "period": [dt.date(2024 + k // 12, k % 12 + 1, 1) for k in range(n)],
        "phase": phases or [1] * n,
        "rule": [r for r, _ in labels], "point_type": [t for _, t in labels],
    })


CC = ("Common Cause", COMMON)
UP = ("Above UCL", CONCERN)


def test_patterns_are_maximal_runs_split_by_label_type_and_phase():
    pts = _points([CC, UP, UP, CC, ("7 Points Below CL", IMPROVE)] + [UP, UP], phases=[1, 1, 1, 1, 1, 1, 2])
    found = signals.find_patterns(pts)
    assert found.select("rule", "first_period", "last_period", "n_points", "direction", "ongoing").rows() == [
        ("Above UCL", dt.date(2024, 2, 1), dt.date(2024, 3, 1), 2, "high", False),
        ("7 Points Below CL", dt.date(2024, 5, 1), dt.date(2024, 5, 1), 1, "low", False),
        ("Above UCL", dt.date(2024, 6, 1), dt.date(2024, 6, 1), 1, "high", False),   # phase 1 ends here
        ("Above UCL", dt.date(2024, 7, 1), dt.date(2024, 7, 1), 1, "high", True),    # phase 2: a new pattern
    ]


def test_common_cause_only_has_no_patterns_and_series_do_not_mix():
    a = _points([CC, CC, UP], area="a")
    b = _points([UP, CC, CC], area="b")
    found = signals.find_patterns(pl.concat([a, b]))
    assert found.select("area_code", "first_period", "ongoing").rows() == [
        ("a", dt.date(2024, 3, 1), True), ("b", dt.date(2024, 1, 1), False)]
    assert signals.find_patterns(_points([CC, CC])).is_empty()


@pytest.fixture
def con(tmp_path):
    con = connect(tmp_path / "s.duckdb", create=True)
    migrate(con)
    yield con
    con.close()


def _step(con, pts: pl.DataFrame, run: int, scope: pl.DataFrame | None = None) -> pl.DataFrame:
    """One refresh's worth of signal work against the store; returns the changes."""
    changes = signals.reconcile(signals.load_signals(con), signals.find_patterns(pts),
                                scope if scope is not None else pts.select("indicator_id", "area_code").unique())
    with transaction(con):
        signals.apply(con, changes, run, dt.datetime(2024, 1, 1) + dt.timedelta(days=run))
    return changes


def _stored(con) -> list[tuple]:
    return con.execute("SELECT rule, first_period, last_period, status, first_seen_run, last_seen_run "
                       "FROM signal ORDER BY id").fetchall()


def test_life_of_a_signal_new_continuing_ended_withdrawn(con):
    # run 1: an old pattern already over (recorded quietly) and a new one at the latest point
    pts = _points([CC, UP, CC, CC, CC, UP])
    ch = _step(con, pts, 1)
    assert sorted(ch["change"].to_list()) == ["found_ended", "new"]
    # run 2: nothing new arrived: nothing changes at all
    assert _step(con, pts, 2).is_empty()
    assert [r[3] for r in _stored(con)] == ["ended", "new"]
    # run 3: the concern carries on into the next month
    pts = _points([CC, UP, CC, CC, CC, UP, UP])
    assert _step(con, pts, 3)["change"].to_list() == ["continuing"]
    # run 4: back to normal: it ended
    pts = _points([CC, UP, CC, CC, CC, UP, UP, CC])
    assert _step(con, pts, 4)["change"].to_list() == ["ended"]
    # run 5: a revised figure removes the early pattern: withdrawn, never deleted
    pts = _points([CC] * 5 + [UP, UP, CC])
    ch = _step(con, pts, 5)
    assert ch.select("first_period", "change").rows() == [(dt.date(2024, 2, 1), "withdrawn")]
    assert _stored(con) == [
        ("Above UCL", dt.date(2024, 2, 1), dt.date(2024, 2, 1), "withdrawn", 1, 1),
        ("Above UCL", dt.date(2024, 6, 1), dt.date(2024, 7, 1), "ended", 1, 4),
    ]
    # run 6: the same figures again: nothing changes
    assert _step(con, pts, 6).is_empty()


def test_only_recomputed_series_can_lose_signals(con):
    a, b = _points([CC, UP], area="a"), _points([CC, UP], area="b")
    _step(con, pl.concat([a, b]), 1)
    # run 2 recomputed only area a (refresh --only): b's signal is not withdrawn for being absent
    changes = _step(con, _points([CC, CC], area="a"), 2, scope=pl.DataFrame({"indicator_id": ["ind"],
                                                                             "area_code": ["a"]}))
    assert changes.select("area_code", "change").rows() == [("a", "withdrawn")]
    assert dict(con.execute("SELECT area_code, status FROM signal").fetchall()) == {"a": "withdrawn", "b": "new"}


def test_a_planted_point_from_the_engine_becomes_one_new_concern():
    rng = np.random.default_rng(11)
    values = rng.normal(100, 3, 30)
    values[-1] = 140
    periods = [dt.date(2022 + k // 12, k % 12 + 1, 1) for k in range(30)]
    result = analyse(pl.DataFrame({"period": periods, "value": values}), SeriesSpec(improvement="decrease"))
    pts = result.points.with_columns(indicator_id=pl.lit("ind"), area_code=pl.lit("x"))
    patterns = signals.find_patterns(pts)
    newest = patterns.filter(pl.col("ongoing"))
    assert newest.select("rule", "first_period", "point_type").rows() == [("Above UCL", periods[-1], CONCERN)]
    changes = signals.reconcile(pl.DataFrame(schema={
        "id": pl.Int64, "indicator_id": pl.String, "area_code": pl.String, "rule": pl.String,
        "first_period": pl.Date, "last_period": pl.Date, "direction": pl.String, "point_type": pl.String,
        "status": pl.String, "first_seen_run": pl.Int64, "last_seen_run": pl.Int64,
        "updated_at": pl.Datetime}), patterns, pts.select("indicator_id", "area_code").unique())
    assert signals.new_concerns(changes).select("rule", "first_period").rows() == [("Above UCL", periods[-1])]
