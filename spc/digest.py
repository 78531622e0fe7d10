"""The refresh digest: what changed, in a few lines (Markdown for people, JSON for scripts).

Sections: new concerns, new improvements, other new signals (neutral indicators), signals that
ended, signals withdrawn (a revised figure or a changed setting removed them), data that was
expected and did not arrive, files imported and rows rejected, errors. `build_digest` makes
the JSON-ready dict, `render_markdown` the text piped to `--notify-command`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import polars as pl

from spc.narrative.episodes import episode_sentence
from spc.store.areas import area_forces
from spc.store.queries import frame
from spc.text import markdown_file as md
from spc.timeliness import DEFAULT_LAG, data_age, periods_between, publication_lag, shift_periods

#: How many rejected rows the digest lists (all are kept in `rejected_row`).
REJECTED_SHOWN = 10


def area_labels(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """area_code, area: how the digest names each area. In a store of many forces a local area
    carries its force's name ('Gedling (Nottinghamshire Police)'), since a digest lists every
    force's series; otherwise the area's own name."""
    areas = frame(con, "SELECT code AS area_code, name AS area, type FROM area")
    forces = areas.filter(pl.col("type") == "force")
    if forces.height <= 1:
        return areas.select("area_code", "area")
    owner = area_forces(con).join(
        forces.select(force_code="area_code", force_name="area"), on="force_code", how="inner")
    return (areas.join(owner, on="area_code", how="left")
            .with_columns(area=pl.when(pl.col("force_name").is_not_null() & (pl.col("type") != "force"))
                          .then(pl.format("{} ({})", "area", "force_name")).otherwise("area"))
            .select("area_code", "area"))


def _labelled(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame) -> pl.DataFrame:
    """`rows` with their `area` column named as `area_labels` names it."""
    if rows.is_empty() or "area" not in rows.columns:
        return rows
    labels = area_labels(con).rename({"area": "_label"})
    return (rows.join(labels, on="area_code", how="left", maintain_order="left")
            .with_columns(area=pl.coalesce("_label", "area")).drop("_label"))


def overdue_series(con: duckdb.DuckDBPyConnection, today: dt.date, *, default_lag: int | None = None,
                   lag: dict[str, int] | None = None, indicator_ids: list[str] | None = None) -> pl.DataFrame:
    """Series whose latest period is older than their frequency allows on `today`.

    A period's figure is due once the period has ended plus `lag` whole periods (per indicator,
    else `default_lag`): a monthly series with lag 1 should have October by the end of
    November. Overdue when any period after the latest one is due. With neither `lag` nor
    `default_lag`, each indicator's `spc.timeliness.publication_lag` (the default sources file).
    Returns indicator_id, indicator, area_code, area, frequency, latest_period, lag (the one
    used) and expected_period (the newest period that should be there).
    """
    latest = frame(con, """
        SELECT o.indicator_id, i.name AS indicator, o.area_code, a.name AS area, i.frequency,
               max(o.period_start) AS latest_period
        FROM observation o JOIN indicator i ON i.id = o.indicator_id JOIN area a ON a.code = o.area_code
        WHERE o.value IS NOT NULL OR o.numerator IS NOT NULL
        GROUP BY ALL ORDER BY any_value(i.sort_order), o.indicator_id, o.area_code
    """)
    if indicator_ids is not None:
        latest = latest.filter(pl.col("indicator_id").is_in(indicator_ids))
    if latest.is_empty():
        return latest.with_columns(expected_period=pl.col("latest_period"))
    if lag is None and default_lag is None:
        lag = {i: publication_lag(i) for i in latest["indicator_id"].unique().to_list()}
    lags = pl.DataFrame({"indicator_id": list((lag or {}).keys()), "lag": list((lag or {}).values())},
                        schema={"indicator_id": pl.String, "lag": pl.Int64})
    steps = latest.join(lags, on="indicator_id", how="left").with_columns(
        lag=pl.col("lag").fill_null(DEFAULT_LAG if default_lag is None else default_lag))

    # periods after the latest one that are already due (the rule of spc.timeliness)
    due = periods_between(pl.col("latest_period"), pl.lit(today), pl.col("frequency")) - 1 - pl.col("lag")
    return (steps.with_columns(_due=due).filter(pl.col("_due") >= 1)
            .with_columns(expected_period=shift_periods(pl.col("latest_period"), pl.col("_due"), pl.col("frequency")))
            .drop("_due"))


def dependence(con: duckdb.DuckDBPyConnection, points: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per series: whether each figure tends to be close to the one before (`autocorrelated`)
    and the chart, from the stored results, with the refresh's freshly computed `points`
    measured again (spc.autocorrelation.lag1, the rule results use)."""
    from spc.autocorrelation import lag1

    stored = frame(con, "SELECT indicator_id, area_code, chart, autocorrelated FROM result_summary")
    if points is None or points.is_empty():
        return stored
    keyed = points.with_columns(series=pl.concat_str("indicator_id", "area_code", separator="|"))
    grains = frame(con, "SELECT id AS indicator_id, frequency FROM indicator")
    freq = keyed.select("series", "indicator_id").unique().join(grains, on="indicator_id", how="left")
    observed = frame(con, "SELECT indicator_id || '|' || area_code AS series, period_start AS period, value "
                          "FROM observation")
    fresh = lag1(keyed, dict(zip(freq["series"], freq["frequency"])), observed=observed).with_columns(
        pl.col("series").str.split_exact("|", 1).struct.rename_fields(["indicator_id", "area_code"])
    ).unnest("series").select("indicator_id", "area_code", pl.col("autocorrelated").alias("_fresh"))
    return (stored.join(fresh, on=["indicator_id", "area_code"], how="full", coalesce=True)
            .with_columns(autocorrelated=pl.coalesce("_fresh", "autocorrelated").fill_null(False))
            .select("indicator_id", "area_code", "chart", "autocorrelated"))


def _signal_rows(changes: pl.DataFrame, names: pl.DataFrame, kinds: list[str],
                 point_types: list[str] | None = None, memory: pl.DataFrame | None = None) -> list[dict[str, Any]]:
    from spc.autocorrelation import sentence

    chosen = changes.filter(pl.col("change").is_in(kinds))
    if point_types is not None:
        chosen = chosen.filter(pl.col("point_type").is_in(point_types))
    if chosen.is_empty():
        return []
    if memory is None:
        memory = pl.DataFrame(schema={"indicator_id": pl.String, "area_code": pl.String, "chart": pl.String,
                                      "autocorrelated": pl.Boolean})
    chosen = chosen.join(memory, on=["indicator_id", "area_code"], how="left")
    rows = chosen.join(names, on=["indicator_id", "area_code"], how="left").sort(
        "indicator_id", "area_code", "first_period").with_columns(
        # a stored signal is one rule's run of consecutive points
        _n=(periods_between(pl.col("first_period"), pl.col("last_period"),
                            pl.col("frequency").fill_null("month")) + 1).cast(pl.Int64))
    return [{"indicator_id": r["indicator_id"], "indicator": r["indicator"] or r["indicator_id"],
             "area_code": r["area_code"], "area": r["area"] or r["area_code"], "rule": r["rule"],
             "first_period": r["first_period"].isoformat(), "last_period": r["last_period"].isoformat(),
             "direction": r["direction"], "point_type": r["point_type"], "status": r["status"],
             # the narrative's own words for an episode (spc.narrative.episodes)
             "text": episode_sentence(r["first_period"], r["last_period"], r["_n"], r["point_type"],
                                      r["direction"] or "", [r["rule"]] * r["_n"], r["frequency"] or "month"),
             # never silent: a series with memory has limits too narrow for it (spc.autocorrelation)
             "caution": sentence(r["frequency"] or "month", r["chart"])
             if r["autocorrelated"] else None,
             "autocorrelated": bool(r["autocorrelated"])}
            for r in rows.iter_rows(named=True)]


def recalculation_rows(con: duckdb.DuckDBPyConnection, changes: pl.DataFrame,
                       points: pl.DataFrame | None = None) -> list[dict[str, Any]]:
    """Series with a new or continuing signal whose current limits average two levels
    (spc.narrative.levels), each with the narrative's sentence. `points` are the refresh's
    freshly computed points; without them the indicators concerned are computed from `con`."""
    from spc.narrative.levels import current_suggestions, suggestion_sentence

    live = changes.filter(pl.col("change").is_in(["new", "continuing", "updated"])).select(
        "indicator_id", "area_code").unique()
    if live.is_empty():
        return []
    if points is None:
        from spc.results import compute

        points = compute(con, sorted(live["indicator_id"].unique().to_list())).points
    if points.is_empty():
        return []
    found = current_suggestions(points.join(live, on=["indicator_id", "area_code"], how="semi"))
    if found.is_empty():
        return []
    meta = _labelled(con, frame(con, "SELECT i.id AS indicator_id, i.name AS indicator, i.unit, i.frequency, "
                                     "a.code AS area_code, a.name AS area FROM indicator i CROSS JOIN area a"))
    rows = found.join(meta, on=["indicator_id", "area_code"], how="left").sort("indicator_id", "area_code")
    return [{"indicator_id": r["indicator_id"], "indicator": r["indicator"] or r["indicator_id"],
             "area_code": r["area_code"], "area": r["area"] or r["area_code"],
             "suggested_start": r["suggested_start"].isoformat(),
             "text": suggestion_sentence(r, r["unit"], r["frequency"] or "month")}
            for r in rows.iter_rows(named=True)]


def build_digest(con: duckdb.DuckDBPyConnection, *, run_id: int | None, started_at: dt.datetime,
                 status: str, changes: pl.DataFrame, imports: list[dict[str, Any]], since_batch: int,
                 series_computed: int, series_changed: int, overdue: pl.DataFrame,
                 errors: list[str], dry_run: bool = False, points: pl.DataFrame | None = None,
                 series_reworded: int = 0) -> dict[str, Any]:
    """The digest as a JSON-ready dict. `con` is the store (or the refresh's copy of it) after
    the imports, for names and the rejected rows of load batches above `since_batch`. Signals
    are described in the narrative's words; `points` (the refresh's computed points, optional)
    give the recalculation suggestions, which are otherwise computed for the series concerned.
    `series_reworded`: of the `series_changed`, those whose figures are unchanged and only their
    stored words and tests differ (the first refresh after updating spc)."""
    names = _labelled(con, frame(con, "SELECT i.id AS indicator_id, i.name AS indicator, i.frequency, "
                                      "a.code AS area_code, a.name AS area FROM indicator i CROSS JOIN area a"))
    overdue = _labelled(con, overdue)
    today = started_at.date()
    rejected = frame(con, "SELECT r.file, r.line, r.column_name, r.value, r.reason FROM rejected_row r "
                          "WHERE r.load_batch_id > ? ORDER BY r.load_batch_id, r.line NULLS FIRST, r.id",
                     [since_batch])
    concern, improvement = ["special_cause_concern"], ["special_cause_improvement"]
    neutral = ["special_cause_neutral_high", "special_cause_neutral_low"]
    memory = dependence(con, points)
    return {
        "run_id": run_id,
        "started_at": started_at.isoformat(timespec="seconds"),
        "status": status,
        "dry_run": dry_run,
        "files_imported": len(imports),
        "rows_loaded": sum(f.get("loaded", 0) for f in imports),
        "rows_revised": sum(f.get("revised", 0) for f in imports),
        "rows_rejected": sum(f.get("rejected", 0) for f in imports),
        "series_computed": series_computed,
        "series_changed": series_changed,
        "series_reworded": series_reworded,
        "new_concerns": _signal_rows(changes, names, ["new"], concern, memory=memory),
        "new_improvements": _signal_rows(changes, names, ["new"], improvement, memory=memory),
        "new_neutral": _signal_rows(changes, names, ["new"], neutral, memory=memory),
        "ended": _signal_rows(changes, names, ["ended"], memory=memory),
        "withdrawn": _signal_rows(changes, names, ["withdrawn"], memory=memory),
        "continuing": len(changes.filter(pl.col("change").is_in(["continuing", "updated"]))),
        "history_recorded": len(changes.filter(pl.col("change") == "found_ended")),
        "recalculation_suggested": recalculation_rows(con, changes, points),
        "missing_data": [
            {"indicator_id": r["indicator_id"], "indicator": r["indicator"], "area_code": r["area_code"],
             "area": r["area"], "frequency": r["frequency"], "latest_period": r["latest_period"].isoformat(),
             "expected_period": r["expected_period"].isoformat(),
             "text": data_age(r["latest_period"], r["frequency"], today, r["lag"]).text()}
            for r in overdue.iter_rows(named=True)],
        "imports": imports,
        "rejected_rows": [
            {k: (v if v is None or isinstance(v, (int, str)) else str(v)) for k, v in r.items()}
            for r in rejected.head(REJECTED_SHOWN).iter_rows(named=True)],
        "errors": errors,
    }


def _reworded(digest: dict[str, Any]) -> str:
    """The headline's note on series whose figures did not change, only their stored words."""
    n = digest.get("series_reworded") or 0
    if not n:
        return ""
    which = "all of them" if n == digest["series_changed"] else f"{n} of them"
    return (f" ({which} in words and tests only, not in their figures: narratives, trends and "
            "comparisons made afresh, as after updating spc)")


def _when(first: str, last: str) -> str:
    return first if first == last else f"{first} to {last}"


def render_markdown(digest: dict[str, Any]) -> str:
    """The digest as short Markdown: headline counts, then one bullet per item. Names, file
    names, reasons and errors come from files and the store: escaped, so they read literally."""
    run = f"run {digest['run_id']}" if digest.get("run_id") is not None else "dry run"
    lines = [f"# SPC refresh digest ({run}, {digest['started_at'].replace('T', ' ')} UTC)", ""]
    headline = (f"Status: **{digest['status']}**. {digest['files_imported']} new file(s) imported "
                f"({digest['rows_loaded']} new rows, {digest['rows_revised']} revised, "
                f"{digest['rows_rejected']} rejected); {digest['series_changed']} of "
                f"{digest['series_computed']} series changed{_reworded(digest)}.")
    lines += [headline, ""]
    if digest.get("dry_run"):
        lines += ["_Dry run: nothing was written to the store._", ""]

    def section(title: str, items: list[dict[str, Any]], empty: str | None = None) -> None:
        if not items and empty is None:
            return
        lines.append(f"## {title} ({len(items)})")
        if not items:
            lines.append(empty or "")
        for s in items:
            lines.append(f"- **{md(s['indicator'])}**, {md(s['area'])}: "
                         + md(s.get("text") or f"{s['rule']} ({_when(s['first_period'][:7], s['last_period'][:7])})")
                         + (f" {md(s['caution'])}" if s.get("caution") else ""))
        lines.append("")

    section("New concerns", digest["new_concerns"], "None.")
    section("New improvements", digest["new_improvements"], "None.")
    section("Other new signals (neutral indicators)", digest["new_neutral"])
    section("Signals that ended", digest["ended"])
    section("Signals withdrawn (a revised figure or setting removed them)", digest["withdrawn"])
    suggested = digest.get("recalculation_suggested") or []
    if suggested:
        lines.append(f"## Limits that average two levels ({len(suggested)})")
        lines += [f"- **{md(r['indicator'])}**, {md(r['area'])}: {md(r['text'])}" for r in suggested]
        lines.append("")
    if digest.get("history_recorded"):
        lines += [f"{digest['history_recorded']} earlier signal(s), already over, were recorded for the "
                  "first time.", ""]
    missing = digest["missing_data"]
    if missing:
        lines.append(f"## Expected data that did not arrive ({len(missing)})")
        for m in missing:
            lines.append(f"- {md(m['indicator'])}, {md(m['area'])}: " + md(
                m.get("text") or f"latest {m['frequency']} is {m['latest_period'][:7]}, "
                                 f"data up to {m['expected_period'][:7]} was due"))
        lines.append("")
    if digest["imports"]:
        lines.append("## Files imported")
        for f in digest["imports"]:
            lines.append(f"- {md(f['file'])} ({md(f['source'])}): {md(f['status'])}, {f['loaded']} new, {f['revised']} revised, "
                         f"{f['rejected']} rejected")
        lines.append("")
    if digest["rejected_rows"]:
        lines.append(f"## Rejected rows ({digest['rows_rejected']}; first {len(digest['rejected_rows'])} shown)")
        for r in digest["rejected_rows"]:
            where = ", ".join(x for x in (r["file"], f"line {r['line']}" if r["line"] else None,
                                          f"column {r['column_name']}" if r["column_name"] else None) if x)
            lines.append(f"- {md(where)}: {md(r['reason'])}")
        lines.append("")
    if digest["errors"]:
        lines.append("## Errors")
        lines += [f"- {md(e)}" for e in digest["errors"]]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
