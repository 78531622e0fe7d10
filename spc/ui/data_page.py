"""Data page: what is loaded, the last refresh and its log, late or missing data, rejected rows."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import streamlit as st

from spc import plots
from spc.text import literal
from spc.timeliness import data_age, gaps
from spc.ui import common
from spc.ui.data import Overview, data_status, stamp
from spc.ui.summary import today


def _area_kinds(areas: pl.DataFrame, most_first: bool = False) -> str:
    """'1 force, 9 community safety partnership areas, 1 national' (in the areas' order, or the
    most numerous kind first)."""
    counts = areas.group_by("type", maintain_order=True).len()
    if most_first:
        counts = counts.sort("len", descending=True, maintain_order=True)
    return ", ".join(f"{n} {kind}" + ("s" if n != 1 and kind != "national" else "")
                     for kind, n in counts.iter_rows())


def store_description(areas: pl.DataFrame) -> str:
    """A store of many forces in a few words: '44 forces, 331 local areas, 1 national' (local
    areas: partnership areas and districts, with the kinds in brackets when there are both)."""
    forces = areas.filter(pl.col("type") == "force").height
    national = areas.filter(pl.col("type") == "national").height
    local = areas.filter(~pl.col("type").is_in(["force", "national"]))
    parts = [f"{forces} force{'s' if forces != 1 else ''}",
             f"{local.height} local area{'s' if local.height != 1 else ''}"
             + (f" ({_area_kinds(local, most_first=True)})" if local["type"].n_unique() > 1 else "")]
    if national:
        parts.append(f"{national} national")
    return ", ".join(parts)


def late_or_missing(series: pl.DataFrame, periods: pl.DataFrame, on: dt.date) -> pl.DataFrame:
    """Series that are late on `on` or have gaps (spc.timeliness), one row each, in words."""
    ages = [data_age(p, f, on, indicator_id=i) for p, f, i in
            zip(series["latest_period"].to_list(), series["frequency"].to_list(), series["indicator_id"].to_list())]
    frame = series.with_columns(
        latest=pl.Series([a.text() for a in ages], dtype=pl.String),
        overdue=pl.Series([a.periods_overdue for a in ages], dtype=pl.Int64))
    holes = pl.concat([gaps(part, freq) for (freq,), part in periods.group_by("frequency")],
                      how="vertical_relaxed") if periods.height else pl.DataFrame()
    if holes.height:
        freq = dict(zip(series["indicator_id"].to_list(), series["frequency"].to_list()))
        words = [plots.format_period(a, freq[i]) + ("" if a == b else f" to {plots.format_period(b, freq[i])}")
                 for i, a, b in holes.select("indicator_id", "first_missing", "last_missing").iter_rows()]
        missing = holes.with_columns(where=pl.Series(words, dtype=pl.String)).group_by(
            "indicator_id", "area_code", maintain_order=True).agg(
            missing_periods=pl.col("n_missing").sum(), gaps=pl.col("where").str.join("; "))
    else:
        missing = pl.DataFrame(schema={"indicator_id": pl.String, "area_code": pl.String,
                                       "missing_periods": pl.Int64, "gaps": pl.String})
    frame = frame.join(missing, on=["indicator_id", "area_code"], how="left").with_columns(
        pl.col("missing_periods").fill_null(0))
    return frame.filter((pl.col("overdue") > 0) | (pl.col("missing_periods") > 0)).select(
        Indicator="indicator", Area="area", Frequency="frequency", **{
            "Latest data": "latest", "Periods overdue": "overdue", "Missing periods": "missing_periods",
            "Where": "gaps"})


def render(ov: Overview, path: str) -> None:
    """The data page."""
    st.title("Data")
    common.notices(ov)
    status = data_status(path, stamp(path))
    cov = status["coverage"]
    fresh = ov.freshness
    if ov.many_forces:
        st.markdown(
            f"**{cov.height} indicators**, **{ov.store_areas.height} areas** ({store_description(ov.store_areas)}), "
            f"**{int(cov['observations'].sum()):,} observations**. Newest data loaded "
            f"{common.fmt_time(fresh.get('newest_data'))}; results computed "
            f"{common.fmt_time(fresh.get('newest_result'))}.")
        local = ov.areas.filter(~pl.col("type").is_in(["force", "national"])).height
        st.markdown(f"Late or missing data below is for **{literal(ov.force_name or '')}**: the force, its "
                    f"{local} local area{'s' if local != 1 else ''} and the national figures "
                    "(choose the force in the sidebar).")
    else:
        st.markdown(
            f"**{cov.height} indicators**, **{ov.areas.height} areas** ({_area_kinds(ov.areas)}), "
            f"**{int(cov['observations'].sum()):,} observations**. Newest data loaded "
            f"{common.fmt_time(fresh.get('newest_data'))}; results computed "
            f"{common.fmt_time(fresh.get('newest_result'))}.")

    st.subheader("Last refresh")
    runs = status["runs"]
    if runs.is_empty():
        st.info("No refresh has run yet.")
    else:
        r = runs.row(0, named=True)
        ok = r["status"] == "success"
        (st.success if ok else st.error)(
            f"{literal(r['trigger'])} run #{r['id']}: **{literal(r['status'])}**, started {common.fmt_time(r['started_at'])}, "
            f"finished {common.fmt_time(r['finished_at'])}; {r['files_imported']} files imported, "
            f"{r['rows_loaded']} rows loaded, {r['rows_rejected']} rejected, {r['series_computed']} series "
            f"computed, {r['new_signals']} new signals.")
        if r.get("errors"):
            st.code(r["errors"])
        if r.get("digest_json"):
            with st.expander("Refresh log (digest)"):
                try:
                    st.json(json.loads(r["digest_json"]))
                except ValueError:
                    st.code(r["digest_json"])
        with st.expander("Earlier refreshes"):
            st.dataframe(runs.drop("digest_json"), hide_index=True, width="stretch")

    st.subheader("What is loaded")
    st.dataframe(cov.drop("indicator_id").with_columns(pl.col("last_loaded").dt.strftime("%Y-%m-%d %H:%M")).rename({
        "priority": "Priority", "indicator": "Indicator", "frequency": "Frequency", "areas": "Areas",
        "observations": "Observations", "first_period": "First period", "latest_period": "Latest period",
        "last_loaded": "Last loaded"}), hide_index=True, width="stretch")

    st.subheader("Late or missing data")
    series, periods = status["series"], status["periods"]
    if ov.many_forces:  # the chosen force's series and the national ones, not every force's
        shown = ov.areas["code"].to_list()
        series = series.filter(pl.col("area_code").is_in(shown))
        periods = periods.filter(pl.col("area_code").is_in(shown))
    problems = late_or_missing(series, periods, today())
    if problems.is_empty():
        st.success("Every series is as recent as its frequency allows, with no missing periods.")
    else:
        st.markdown("Series whose next figure is overdue (a period's figure is due one period after it "
                    "ends), or with periods missing between their first and latest figure:")
        st.dataframe(problems, hide_index=True, width="stretch")

    st.subheader("Rejected rows")
    n_rej = int(status["n_rejected"]["n"][0])
    rej = status["rejected"]
    if n_rej == 0:
        st.success("No rows have been rejected.")
    else:
        st.markdown(f"**{n_rej:,} rows** were rejected on loading and kept with the reason"
                    + (f" (showing the newest {rej.height})" if rej.height < n_rej else "") + ":")
        st.dataframe(rej.rename({"load_batch_id": "load", "column_name": "column"}), hide_index=True,
                     width="stretch")
        st.download_button("Download rejected rows (CSV)", rej.write_csv(), file_name="rejected_rows.csv",
                           mime="text/csv", key="download_rejected")

    st.subheader("Loads")
    batches = status["batches"]
    keep = [c for c in ("id", "source", "path", "finished_at", "status", "rows_read", "rows_loaded", "rows_unchanged",
                        "rows_revised", "rows_rejected", "message") if c in batches.columns]
    st.dataframe(batches.select(keep), hide_index=True, width="stretch")
    if cov.filter(pl.col("observations") == 0).height:
        st.caption("Indicators with no observations are in the catalogue but have no data loaded yet.")
