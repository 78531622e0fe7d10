"""From stored observations to stored results: every (indicator, area) series through the engine.

Two steps, so a refresh can do the slow part without holding the write lock:
`compute(con)` reads observations, the catalogue, analysts' settings and annotations and runs
the engine over every series in one pass; `write_results(con, results)` replaces those
series' rows in `result_point`, `result_phase` and `result_summary` (inside the caller's
transaction). `compute_results` does both, for `spc db init` and the app's analyst controls.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import polars as pl

from spc.autocorrelation import lag1
from spc.charts import SEASONAL_CHARTS
from spc.engine import SeriesSpec, analyse
from spc.store import transaction
from spc.store.observations import now
from spc.store.queries import frame, load_annotations, load_indicators, load_observations

#: Joins indicator id and area code into the engine's series name (neither contains it).
SEPARATOR = "|"
RATIO_CHARTS = ("p", "pp", "u", "up")
#: analyst settings for the charts of issue 13 (series_setting columns, schema 7)
CHART_OPTIONS = ("ewma_lambda", "cusum_h", "multiplier", "seasonal_limits")


@dataclass(frozen=True)
class Results:
    """Engine output for a set of series, keyed by indicator_id and area_code."""

    series: pl.DataFrame   # indicator_id, area_code: every series computed (and so replaced)
    points: pl.DataFrame
    phases: pl.DataFrame
    summary: pl.DataFrame
    computed_at: dt.datetime


def _series_key(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(series=pl.concat_str("indicator_id", "area_code", separator=SEPARATOR))


def _split_key(frame: pl.DataFrame) -> pl.DataFrame:
    parts = pl.col("series").str.split_exact(SEPARATOR, 1)
    return frame.with_columns(indicator_id=parts.struct.field("field_0"),
                              area_code=parts.struct.field("field_1")).drop("series")


def _settings(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return frame(con, "SELECT * FROM series_setting")


def _dates_by_series(annotations: pl.DataFrame, kind: str, keys: pl.DataFrame) -> dict[str, tuple[dt.date, ...]]:
    """Annotation dates of one kind per series; a NULL indicator or area applies to all."""
    marks = annotations.filter(pl.col("kind") == kind).select("indicator_id", "area_code", "date")
    if marks.is_empty():
        return {}
    matched = keys.join(marks, how="cross", suffix="_mark").filter(
        (pl.col("indicator_id_mark").is_null() | (pl.col("indicator_id_mark") == pl.col("indicator_id")))
        & (pl.col("area_code_mark").is_null() | (pl.col("area_code_mark") == pl.col("area_code")))
    )
    grouped = matched.group_by("series").agg(pl.col("date").unique().sort())
    return {row["series"]: tuple(row["date"]) for row in grouped.iter_rows(named=True)}


def series_specs(keys: pl.DataFrame, indicators: pl.DataFrame, settings: pl.DataFrame,
                 annotations: pl.DataFrame) -> tuple[dict[str, SeriesSpec], dict[str, str]]:
    """The engine spec of each series: the catalogue's choice, overridden by the analyst's
    settings (area-specific before '*'), with recalculation and exclusion dates from annotations.

    Returns the specs and, per series, a note when the chart had to change (a p or u chart
    needs a denominator for every point; survey proportions without one go on an XmR chart).
    """
    frame = keys.join(indicators.select("id", "chart", "improvement", "target", "frequency"),
                      left_on="indicator_id", right_on="id", how="left")
    tunables = ["chart", "improvement", "two_sigma", "screen_outliers", "shift", "trend", "rule_set",
                "baseline_points", *CHART_OPTIONS]
    for scope in ("area", "all"):
        chosen = settings.filter(pl.col("area_code") != "*") if scope == "area" else \
            settings.filter(pl.col("area_code") == "*").drop("area_code")
        on = ["indicator_id", "area_code"] if scope == "area" else ["indicator_id"]
        frame = frame.join(chosen.select(*on, *[pl.col(t).alias(f"{t}_{scope}") for t in tunables]),
                           on=on, how="left")
    frame = frame.with_columns(
        [pl.coalesce(f"{t}_area", f"{t}_all", *([t] if t in ("chart", "improvement") else [])).alias(t)
         for t in tunables])
    rebase = _dates_by_series(annotations, "recalculate", keys)
    exclude = _dates_by_series(annotations, "exclude", keys)
    specs: dict[str, SeriesSpec] = {}
    notes: dict[str, str] = {}
    # One small dataclass per series: building the specs, not analysing (the engine is one pass).
    for row in frame.iter_rows(named=True):
        chart = row["chart"]
        if chart in RATIO_CHARTS and not row["has_denominator"]:
            notes[row["series"]] = f"no denominator for every point, so an XmR chart is used instead of {chart}"
            chart = "xmr"
        options = {k: row[k] for k in ("two_sigma", "screen_outliers", "shift", "trend", "rule_set",
                                        "baseline_points", "ewma_lambda", "cusum_h") if row[k] is not None}
        # options of some charts only: kept when the chart in use takes them (a chart that fell
        # back to XmR for want of a denominator is shown in plain units)
        if row["multiplier"] is not None and chart in RATIO_CHARTS:
            options["multiplier"] = row["multiplier"]
        if row["seasonal_limits"] and chart in SEASONAL_CHARTS:
            options["seasonal_limits"] = True
        specs[row["series"]] = SeriesSpec(
            chart=chart, improvement=row["improvement"], target=row["target"], frequency=row["frequency"],
            rebase=rebase.get(row["series"], ()), exclude=exclude.get(row["series"], ()), **options)
    return specs, notes


def compute(con: duckdb.DuckDBPyConnection, indicator_ids: Sequence[str] | None = None) -> Results:
    """Run the engine over every series of the given indicators (default: all). Reads only."""
    obs = _series_key(load_observations(con, indicator_ids))
    indicators = load_indicators(con)
    computed_at = now()
    keys = obs.group_by("series", "indicator_id", "area_code").agg(
        has_denominator=pl.col("denominator").is_not_null().all(),
        n=pl.col("value").is_not_null().sum(),
        data_loaded_at=pl.col("loaded_at").max(),
    )
    # Every series of these indicators is in scope (so stale results of a series that lost its
    # points are replaced by none); a series needs two points to have a chart at all.
    scope = keys.select("indicator_id", "area_code").sort("indicator_id", "area_code")
    keys = keys.filter(pl.col("n") >= 2).sort("series")
    if keys.is_empty():
        return Results(series=scope, points=pl.DataFrame(), phases=pl.DataFrame(), summary=pl.DataFrame(),
                       computed_at=computed_at)
    specs, notes = series_specs(keys, indicators, _settings(con), load_annotations(con, indicator_ids))
    data = obs.join(keys.select("series"), on="series").with_columns(
        # p and u charts take numerator and denominator; every other chart the value itself
        pl.when(pl.col("series").is_in([s for s, spec in specs.items() if spec.chart in RATIO_CHARTS]))
        .then(pl.col("numerator")).otherwise(None).alias("numerator"),
        pl.when(pl.col("series").is_in([s for s, spec in specs.items() if spec.chart in RATIO_CHARTS]))
        .then(pl.col("denominator")).otherwise(None).alias("denominator"),
    ).select("series", "period", "value", "numerator", "denominator")
    analysis = analyse(data, specs)
    # whether each figure tends to be close to the one before: the limits are then too narrow,
    # and every reader says so (spc.autocorrelation)
    acf = lag1(analysis.points, {name: spec.frequency for name, spec in specs.items()},
               observed=obs.select("series", "period", "value"))
    summary = (analysis.summary.join(keys.select("series", "data_loaded_at"), on="series", how="left")
               .join(acf, on="series", how="left")
               .with_columns(pl.col("autocorrelated").fill_null(False)))
    if notes:
        note_frame = pl.DataFrame({"series": list(notes), "_note": list(notes.values())})
        summary = summary.join(note_frame, on="series", how="left").with_columns(
            warnings=pl.when(pl.col("_note").is_not_null())
            .then(pl.col("warnings").list.concat(pl.concat_list("_note"))).otherwise(pl.col("warnings"))
        ).drop("_note")
    return Results(series=scope, points=_split_key(analysis.points),
                   phases=_split_key(analysis.phases), summary=_split_key(summary), computed_at=computed_at)


def _status(summary: pl.DataFrame, indicators: pl.DataFrame, points: pl.DataFrame | None = None) -> pl.Series:
    """The one-line plain-English status of each summary row (from spc.narrative); with the
    points, a latest point within normal variation after earlier special cause says so rather
    than 'no change'."""
    from spc.narrative import status_lines

    return status_lines(summary, indicators, points)


def write_results(con: duckdb.DuckDBPyConnection, results: Results, refresh_run_id: int | None = None) -> int:
    """Replace the stored results of every series in `results` (run inside a transaction).

    Returns the number of series written.
    """
    con.register("_keys", results.series.to_arrow())
    try:
        for table in ("result_point", "result_phase", "result_summary"):
            con.execute(f"DELETE FROM {table} t USING _keys k "  # table names are constants
                        "WHERE t.indicator_id = k.indicator_id AND t.area_code = k.area_code")
    finally:
        con.unregister("_keys")
    if results.summary.is_empty():
        return 0
    indicators = load_indicators(con)
    summary = results.summary.with_columns(
        status=_status(results.summary, indicators, results.points),
        computed_at=pl.lit(results.computed_at),
        refresh_run_id=pl.lit(refresh_run_id, pl.Int64),
    )
    for table, frame in (("result_point", results.points), ("result_phase", results.phases),
                         ("result_summary", summary)):
        columns = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            [table]).fetchall()]
        present = [c for c in columns if c in frame.columns]
        con.register("_frame", frame.select(present).to_arrow())
        try:
            quoted = ", ".join(f'"{c}"' for c in present)
            con.execute(f"INSERT INTO {table} ({quoted}) SELECT {quoted} FROM _frame")
        finally:
            con.unregister("_frame")
    return results.summary.height


def compute_results(con: duckdb.DuckDBPyConnection, indicator_ids: Sequence[str] | None = None, *,
                    trigger: str = "app", refresh_run_id: int | None = None) -> int:
    """Compute and store results for the given indicators (default: all) in one transaction.

    `trigger` says who asked (recorded by the refresh pipeline); returns the series written.
    """
    results = compute(con, indicator_ids)
    with transaction(con):
        return write_results(con, results, refresh_run_id)
