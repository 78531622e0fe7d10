"""Signal history: every special-cause pattern the engine finds, remembered across refreshes.

A *pattern* is a maximal run of consecutive points of one series (indicator, area) that carry
the same rule label and point type within one phase (an episode of `spc.narrative.episodes`
split on the rule label), for example three months "Above UCL" or
the seven points of "7 Points Above CL". Each refresh finds the patterns in the freshly
computed points (`find_patterns`) and reconciles them with the stored `signal` rows
(`reconcile`), matching on (indicator, area, rule, first_period):

- a pattern never seen before is inserted as ``new`` when it reaches the latest point of its
  series, or as ``ended`` when it is already over (history found for the first time, which a
  first refresh of a long series is full of: recorded, not announced);
- a stored ``new`` or ``continuing`` signal that has grown becomes ``continuing``; one whose
  series has moved on past it becomes ``ended``;
- a stored signal that is no longer found (a revised figure, a new recalculation point or a
  changed setting removed it) becomes ``withdrawn``; rows are never deleted.

Nothing is written when nothing changed, so a refresh with no new data leaves the table as it
was. Everything here is frame-in, frame-out (polars) except `load_signals` and `apply`.
"""

from __future__ import annotations

import contextlib
import datetime as dt

import duckdb
import polars as pl

from spc.narrative.episodes import episodes, rule_direction
from spc.store.queries import frame

KEY = ["indicator_id", "area_code", "rule", "first_period"]
SERIES = ["indicator_id", "area_code"]
#: columns of a pattern, as `find_patterns` returns them
PATTERN_COLUMNS = [*SERIES, "rule", "first_period", "last_period", "n_points", "direction",
                   "point_type", "ongoing"]
#: columns of a change, as `reconcile` returns them
CHANGE_COLUMNS = ["id", *SERIES, "rule", "first_period", "last_period", "direction", "point_type",
                  "status", "change", "first_seen_run"]


def find_patterns(points: pl.DataFrame) -> pl.DataFrame:
    """Every special-cause pattern in `points` (result_point columns; at least indicator_id,
    area_code, period, phase, rule, point_type), one row each with `ongoing` set when the
    pattern includes its series' latest point. A pattern is an episode of
    `spc.narrative.episodes.episodes` that also ends where the rule label changes, so a stored
    signal keeps its (rule, first_period) key."""
    if points.is_empty():  # e.g. a refresh where no series has two points yet
        points = pl.DataFrame(schema={**{k: pl.String for k in SERIES}, "period": pl.Date, "phase": pl.Int64,
                                      "rule": pl.String, "point_type": pl.String})
    found = episodes(points.select(*SERIES, "period", "phase", "rule", "point_type"), split_on_rule=True)
    # a pattern's direction is its rule label's (stored signals have always been keyed so)
    return (found.with_columns(direction=rule_direction(pl.col("rule")))
            .select(PATTERN_COLUMNS).sort(*SERIES, "first_period", "rule"))


def load_signals(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every stored signal row (withdrawn ones included)."""
    return frame(
        con, "SELECT id, indicator_id, area_code, rule, first_period, last_period, direction, point_type, "
        "status, first_seen_run, last_seen_run, updated_at FROM signal ORDER BY id")


def reconcile(stored: pl.DataFrame, patterns: pl.DataFrame, scope: pl.DataFrame) -> pl.DataFrame:
    """What the refresh changes in the signal history.

    `stored` is `load_signals`, `patterns` is `find_patterns` of the new results, `scope` the
    (indicator_id, area_code) series that were recomputed: only their signals can be withdrawn.
    Returns one row per changed signal (`CHANGE_COLUMNS`): `id` null for a row to insert, and
    `change` one of new, found_ended (history seen for the first time), continuing, ended,
    withdrawn, updated (same status, other details changed).
    """
    live = stored.filter(pl.col("status") != "withdrawn").select(
        "id", *KEY, pl.col("last_period").alias("_last"), pl.col("point_type").alias("_type"),
        pl.col("direction").alias("_dir"), pl.col("status").alias("_status"), "first_seen_run")
    # A pattern is matched to the live stored signal with the same key (at most one per key).
    matched = patterns.join(live, on=KEY, how="left", nulls_equal=True)
    status = (pl.when(~pl.col("ongoing")).then(pl.lit("ended"))
              .when(pl.col("_status").is_null()).then(pl.lit("new"))
              .when((pl.col("_last") != pl.col("last_period")) | (pl.col("_status") == "ended"))
              .then(pl.lit("continuing"))
              .otherwise(pl.col("_status")))
    matched = matched.with_columns(status=status).with_columns(
        change=pl.when(pl.col("id").is_null())
        .then(pl.when(pl.col("ongoing")).then(pl.lit("new")).otherwise(pl.lit("found_ended")))
        .when(pl.col("status") != pl.col("_status")).then(pl.col("status"))
        .when((pl.col("_last") != pl.col("last_period")) | (pl.col("_type") != pl.col("point_type"))
              | (pl.col("_dir").ne_missing(pl.col("direction"))))
        .then(pl.lit("updated"))
        .otherwise(None))
    found = matched.filter(pl.col("change").is_not_null()).select(CHANGE_COLUMNS)
    gone = (live.join(scope.select(SERIES).unique(), on=SERIES, how="semi")
            .join(patterns.select(KEY), on=KEY, how="anti")
            .select("id", *SERIES, "rule", "first_period", pl.col("_last").alias("last_period"),
                    pl.col("_dir").alias("direction"), pl.col("_type").alias("point_type"),
                    status=pl.lit("withdrawn"), change=pl.lit("withdrawn"),
                    first_seen_run=pl.col("first_seen_run")))
    return pl.concat([found, gone.select(CHANGE_COLUMNS)], how="vertical_relaxed").sort(
        *SERIES, "first_period", "rule")


def apply(con: duckdb.DuckDBPyConnection, changes: pl.DataFrame, run_id: int,
          at: dt.datetime) -> int:
    """Write `changes` (from `reconcile`) inside the caller's transaction; returns rows touched."""
    if changes.is_empty():
        return 0
    staged = changes.with_columns(pl.lit(run_id, pl.Int64).alias("_run"), pl.lit(at).alias("_at"))
    con.register("_changes", staged.to_arrow())
    try:
        con.execute("""
            INSERT INTO signal (indicator_id, area_code, rule, first_period, last_period, direction,
                                point_type, status, first_seen_run, last_seen_run, updated_at)
            SELECT indicator_id, area_code, rule, first_period, last_period, direction,
                   point_type, status, _run, _run, _at
            FROM _changes WHERE id IS NULL ORDER BY indicator_id, area_code, first_period, rule
        """)
        # A withdrawn signal keeps the run that last saw it; every other change was seen now.
        con.execute("""
            UPDATE signal s SET status = c.status, last_period = c.last_period,
                   point_type = c.point_type, direction = c.direction,
                   last_seen_run = CASE WHEN c.status = 'withdrawn' THEN s.last_seen_run ELSE c._run END,
                   updated_at = c._at
            FROM _changes c WHERE c.id IS NOT NULL AND s.id = c.id
        """)
    finally:
        with contextlib.suppress(duckdb.Error):  # an aborted transaction: keep the first error
            con.unregister("_changes")
    return changes.height


def new_concerns(changes: pl.DataFrame) -> pl.DataFrame:
    """The changes that are new concern signals (these make `spc refresh` exit 3)."""
    return changes.filter((pl.col("change") == "new") & (pl.col("point_type") == "special_cause_concern"))
