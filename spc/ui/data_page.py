"""Data page: what is loaded, the last refresh and its log, late or missing data, rejected rows."""

from __future__ import annotations

import json

import polars as pl
import streamlit as st

from spc.ui import common
from spc.ui.data import Overview, data_status, stamp


def render(ov: Overview, path: str) -> None:
    """The data page."""
    st.title("Data")
    common.notices(ov)
    status = data_status(path, stamp(path))
    cov = status["coverage"]
    fresh = ov.freshness
    st.markdown(
        f"**{cov.height} indicators**, **{ov.areas.height} areas** (force-wide and "
        f"{ov.areas.height - 1} community safety partnership areas), "
        f"**{int(cov['observations'].sum()):,} observations**. Newest data loaded "
        f"{common.fmt_time(fresh.get('newest_data'))}; results computed {common.fmt_time(fresh.get('newest_result'))}.")

    st.subheader("Last refresh")
    runs = status["runs"]
    if runs.is_empty():
        st.info("No refresh has run yet.")
    else:
        r = runs.row(0, named=True)
        ok = r["status"] == "success"
        (st.success if ok else st.error)(
            f"{r['trigger']} run #{r['id']}: **{r['status']}**, started {common.fmt_time(r['started_at'])}, "
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
    late = status["late"]
    if late.is_empty():
        st.success("Every series is up to date with its indicator's newest period, with no gaps.")
    else:
        st.markdown("Series whose latest period is behind the newest for the indicator, or with missing periods:")
        st.dataframe(late.rename({
            "indicator": "Indicator", "area": "Area", "frequency": "Frequency", "latest_period": "Latest period",
            "newest_for_indicator": "Newest for the indicator", "periods_behind": "Periods behind",
            "missing_periods": "Missing periods"}), hide_index=True, width="stretch")

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
