"""From stored observations to stored results: every (indicator, area) series through the engine.

Two steps, so a refresh can do the slow part without holding the write lock:
`compute(con)` reads observations, the catalogue, analysts' settings and annotations and runs
the engine over every series in one pass; `write_results(con, results)` replaces those
series' rows in `result_point`, `result_phase` and `result_summary` (inside the caller's
transaction). `compute_results` does both, for `spc db init` and the app's analyst controls.

Everything a page shows that depends only on the data is made here too, so a page view only
reads and draws (issue 14): each series' narrative, long-term trend, seasonality, this year
against last and intervention verdicts (`result_view`, as JSON), and the share of its latest
points chance alone would flag (`result_summary.chance_rate`). Each series' results carry the
version of the observations they were computed from (`data_version`, a digest of its periods
and values); `stale_series` names the series whose observations have changed since.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from spc.autocorrelation import lag1
from spc.chance import latest_point_rate
from spc.charts import SEASONAL_CHARTS
from spc.engine import SeriesSpec, analyse
from spc.store import transaction
from spc.store.areas import EVERY_AREA, area_forces, covers, scope_force
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
    views: pl.DataFrame | None = None  # result_view rows; None: made by write_results


def _series_key(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(series=pl.concat_str("indicator_id", "area_code", separator=SEPARATOR))


def _split_key(frame: pl.DataFrame) -> pl.DataFrame:
    parts = pl.col("series").str.split_exact(SEPARATOR, 1)
    return frame.with_columns(indicator_id=parts.struct.field("field_0"),
                              area_code=parts.struct.field("field_1")).drop("series")


def data_versions(obs: pl.DataFrame) -> pl.DataFrame:
    """`series` -> `data_version`: a digest of each series' observations (period, value,
    numerator, denominator), so stored results can be told from the data they came from."""
    text = pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in ("period", "value", "numerator",
                                                                           "denominator")], separator=",")
    return (obs.sort("series", "period").group_by("series", maintain_order=True)
            .agg(data_version=text.str.join("|"))
            .with_columns(pl.col("data_version").hash().cast(pl.String)))


def stale_series(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Series (indicator_id, area_code) whose stored results were computed from other
    observations than the store holds now (changed, added or removed), or have none stored."""
    now_versions = _split_key(data_versions(_series_key(load_observations(con))))
    stored = frame(con, "SELECT indicator_id, area_code, data_version AS stored FROM result_summary")
    both = now_versions.join(stored, on=["indicator_id", "area_code"], how="full", coalesce=True)
    return both.filter(pl.col("stored").is_null() | pl.col("data_version").is_null()
                       | (pl.col("stored") != pl.col("data_version"))).select("indicator_id", "area_code").sort(
        "indicator_id", "area_code")


def _chance_rates(specs: dict[str, SeriesSpec], summary: pl.DataFrame) -> pl.DataFrame:
    """`series` -> `chance_rate`: the share of in-control series of its length and rule options
    whose latest point is special cause (spc.chance; simulated once per option set and length)."""
    rates = []
    for name, n in zip(summary["series"].to_list(), summary["n_points"].to_list()):
        spec = specs[name]
        rates.append(latest_point_rate(int(n or 2), run_chart=spec.chart == "run", rule_set=spec.rule_set,
                                       shift=spec.shift, trend=spec.trend, two_sigma=spec.two_sigma,
                                       screen_outliers=spec.screen_outliers).signal)
    return pl.DataFrame({"series": summary["series"], "chance_rate": pl.Series(rates, dtype=pl.Float64)})


def _settings(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Analysts' settings; options a store made before their migration lacks read as unset."""
    settings = frame(con, "SELECT * FROM series_setting")
    return settings.with_columns(pl.lit(None).alias(c) for c in CHART_OPTIONS if c not in settings.columns)


def _dates_by_series(annotations: pl.DataFrame, kind: str, keys: pl.DataFrame) -> dict[str, tuple[dt.date, ...]]:
    """Annotation dates of one kind per series; a NULL indicator or area applies to all, a force
    scope (`force_scope`) to every area of that force (`keys`' force_code)."""
    marks = annotations.filter(pl.col("kind") == kind).select("indicator_id", "area_code", "date",
                                                              scope_force().alias("force_mark"))
    if marks.is_empty():
        return {}
    matched = keys.join(marks, how="cross", suffix="_mark").filter(
        (pl.col("indicator_id_mark").is_null() | (pl.col("indicator_id_mark") == pl.col("indicator_id")))
        & (pl.col("area_code_mark").is_null() | (pl.col("area_code_mark") == pl.col("area_code"))
           | (pl.col("force_mark") == pl.col("force_code")))
    )
    grouped = matched.group_by("series").agg(pl.col("date").unique().sort())
    return {row["series"]: tuple(row["date"]) for row in grouped.iter_rows(named=True)}


def series_specs(keys: pl.DataFrame, indicators: pl.DataFrame, settings: pl.DataFrame,
                 annotations: pl.DataFrame, area_forces: pl.DataFrame | None = None
                 ) -> tuple[dict[str, SeriesSpec], dict[str, str]]:
    """The engine spec of each series: the catalogue's choice, overridden by the analyst's
    settings (the area's own, then its force's (`force_scope`, matched through `area_forces`:
    area_code, force_code), then every area's), with recalculation and exclusion dates from
    annotations.

    Returns the specs and, per series, a note when the chart had to change (a p or u chart
    needs a denominator for every point; survey proportions without one go on an XmR chart).
    """
    frame = keys.join(indicators.select("id", "chart", "improvement", "target", "frequency"),
                      left_on="indicator_id", right_on="id", how="left")
    tunables = ["chart", "improvement", "two_sigma", "screen_outliers", "shift", "trend", "rule_set",
                "baseline_points", *CHART_OPTIONS]
    if area_forces is None:
        area_forces = pl.DataFrame(schema={"area_code": pl.String, "force_code": pl.String})
    frame = frame.join(area_forces.select("area_code", "force_code"), on="area_code", how="left")
    scoped = settings.with_columns(force_code=scope_force())
    levels = {
        "area": (scoped.filter(~pl.col("area_code").str.starts_with(EVERY_AREA)), ["indicator_id", "area_code"]),
        "force": (scoped.filter(pl.col("force_code").is_not_null()), ["indicator_id", "force_code"]),
        "all": (scoped.filter(pl.col("area_code") == EVERY_AREA), ["indicator_id"]),
    }
    for level, (chosen, on) in levels.items():
        frame = frame.join(chosen.select(*on, *[pl.col(t).alias(f"{t}_{level}") for t in tunables]),
                           on=on, how="left")
    frame = frame.with_columns(
        [pl.coalesce(*(f"{t}_{level}" for level in levels), *([t] if t in ("chart", "improvement") else [])).alias(t)
         for t in tunables])
    placed = keys.join(area_forces.select("area_code", "force_code"), on="area_code", how="left")
    rebase = _dates_by_series(annotations, "recalculate", placed)
    exclude = _dates_by_series(annotations, "exclude", placed)
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
    specs, notes = series_specs(keys, indicators, _settings(con), load_annotations(con, indicator_ids),
                                area_forces(con))
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
               .join(data_versions(obs), on="series", how="left")
               .join(_chance_rates(specs, analysis.summary), on="series", how="left")
               .with_columns(pl.col("autocorrelated").fill_null(False)))
    if notes:
        note_frame = pl.DataFrame({"series": list(notes), "_note": list(notes.values())})
        summary = summary.join(note_frame, on="series", how="left").with_columns(
            warnings=pl.when(pl.col("_note").is_not_null())
            .then(pl.col("warnings").list.concat(pl.concat_list("_note"))).otherwise(pl.col("warnings"))
        ).drop("_note")
    results = Results(series=scope, points=_split_key(analysis.points),
                      phases=_split_key(analysis.phases), summary=_split_key(summary), computed_at=computed_at)
    # the slow part of the views (trend tests, comparisons) runs here, before any write lock
    return Results(series=scope, points=results.points, phases=results.phases, summary=results.summary,
                   computed_at=computed_at, views=build_views(con, results))


# --------------------------------------------------------------------------------------------
# stored views: what the pages show that depends only on the data
# --------------------------------------------------------------------------------------------

#: result_view's JSON columns
VIEW_COLUMNS = ("narrative", "trend", "season", "year_on_year", "interventions")


def _encode(value: Any) -> Any:
    # dates survive the round trip through JSON (the pages format them)
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    raise TypeError(f"cannot store {type(value).__name__} in a view")


def _decode(obj: dict[str, Any]) -> Any:
    if obj.keys() == {"$date"}:
        return dt.date.fromisoformat(obj["$date"])
    if obj.keys() == {"$datetime"}:
        return dt.datetime.fromisoformat(obj["$datetime"])
    return obj


def to_json(value: Any) -> str:
    """A view part as stored (dates kept as dates)."""
    return json.dumps(value, default=_encode)


def from_json(text: str | None) -> Any:
    """A stored view part back as Python values (None when absent)."""
    return json.loads(text, object_hook=_decode) if text else None


def _series_data(points: pl.DataFrame) -> pl.DataFrame:
    return _series_key(points).select("series", "period", "value", "numerator", "denominator")


def _rows_by_series(call: Any, data: pl.DataFrame, names: list[str]) -> dict[str, dict[str, Any]]:
    """One vectorised spc.trend call over every series, as a dict per series; a call that
    fails says why for each series (the page shows 'not available (why)')."""
    try:
        return {r["series"]: r for r in call(data).iter_rows(named=True)}
    except Exception as exc:  # noqa: BLE001 - a panel that cannot be computed says why; the rest is stored
        return {n: {"error": str(exc)} for n in names}


def year_on_year(points: pl.DataFrame, frequency: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per series (`indicator|area`), its latest 12 months against the 12 months before, with
    whether the difference is beyond what chance gives (spc.compare); {'error': why} when it
    cannot be said. `frequency` maps indicator ids to their frequency. One comparison call per
    indicator and latest period (the series of an indicator share their kind and, mostly, their
    window), not one per series."""
    from spc import compare

    data = _series_key(points).filter(pl.col("value").is_not_null()).select(
        "series", "indicator_id", "period", "value", "numerator", "denominator").with_columns(
        _end=pl.col("period").max().over("series"))
    out: dict[str, dict[str, Any]] = {}
    for (ind, end), part in data.partition_by("indicator_id", "_end", as_dict=True).items():
        freq = frequency.get(ind, "month")
        step = {"month": 1, "quarter": 3, "year": 12}.get(freq, 1)
        # the window covers 12 months of periods ending with the latest one
        start_month = end.year * 12 + end.month - 1 - (12 - step)
        start = dt.date(start_month // 12, start_month % 12 + 1, 1)
        try:
            found = compare.compare_periods(part.drop("indicator_id", "_end"), (start, end), frequency=freq)
            out.update({r["series"]: r for r in found.iter_rows(named=True)})
        except Exception as exc:  # noqa: BLE001 - said on the page instead of the comparison
            out.update({name: {"error": str(exc)} for name in part["series"].unique().to_list()})
    return out


def build_views(con: duckdb.DuckDBPyConnection, results: Results) -> pl.DataFrame:
    """The result_view rows of every series in `results` (reads the catalogue, areas and
    annotations from `con`; writes nothing)."""
    from spc import trend
    from spc.intervention import evaluations
    from spc.narrative import describe

    schema = {"indicator_id": pl.String, "area_code": pl.String, "data_version": pl.String,
              **{c: pl.String for c in VIEW_COLUMNS}}
    if results.summary.is_empty():
        return pl.DataFrame(schema=schema)
    indicators = load_indicators(con)
    areas = frame(con, "SELECT code AS area_code, name AS area_name FROM area")
    ids = results.summary["indicator_id"].unique().to_list()
    annotations = load_annotations(con, ids)
    force_of = dict(area_forces(con).iter_rows())
    summary = results.summary.join(areas, on="area_code", how="left")
    told = describe(summary.drop("status", strict=False), results.phases, indicators, points=results.points)
    told_by = {(r["indicator_id"], r["area_code"]): r for r in told.iter_rows(named=True)}
    data = _series_data(results.points)
    names = _series_key(results.summary)["series"].to_list()
    trends = _rows_by_series(lambda d: trend.long_term_trend(d, window=36), data, names)
    seasons = _rows_by_series(trend.seasonality, data, names)
    meta = {r["id"]: r for r in indicators.iter_rows(named=True)}
    yoy = year_on_year(results.points, {i: m["frequency"] for i, m in meta.items()})
    points_by = results.points.partition_by("indicator_id", "area_code", as_dict=True)
    rows = []
    for s in results.summary.iter_rows(named=True):
        ind, area = s["indicator_id"], s["area_code"]
        name = f"{ind}{SEPARATOR}{area}"
        freq, unit = meta[ind]["frequency"], meta[ind]["unit"]
        pts = points_by.get((ind, area), pl.DataFrame())
        anns = annotations.filter((pl.col("indicator_id").is_null() | (pl.col("indicator_id") == ind))
                                  & covers(area, force_of.get(area)))
        found = [{k: v for k, v in e.items() if k != "evaluation"} for e in evaluations(pts, anns, freq, unit)] \
            if anns.filter(pl.col("kind") == "intervention").height else []
        rows.append({
            "indicator_id": ind, "area_code": area, "data_version": s.get("data_version"),
            "narrative": to_json(told_by.get((ind, area), {})),
            "trend": to_json(trends.get(name, {"error": "not enough data"})),
            "season": to_json(seasons.get(name, {"error": "not enough data"})),
            "year_on_year": to_json(yoy.get(name, {"error": "no data"})),
            "interventions": to_json(found),
        })
    return pl.DataFrame(rows, schema=schema)


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
    # like columns, tables are written as the store's schema has them: a store at an earlier
    # version (the migration tests build one) keeps working
    existing = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    with_views = "result_view" in existing
    views = (results.views if results.views is not None else build_views(con, results)) if with_views else None
    con.register("_keys", results.series.to_arrow())
    try:
        for table in ("result_point", "result_phase", "result_summary", "result_view"):
            if table not in existing:
                continue
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
                         ("result_summary", summary), ("result_view", views)):
        if frame is None:
            continue
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
