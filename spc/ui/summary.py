"""Summary: every indicator on one screen, grouped by plan priority."""

from __future__ import annotations

import html
from urllib.parse import urlencode

import polars as pl
import streamlit as st

from spc import plots
from spc.ui import common
from spc.ui.data import Overview


def summary_rows(ov: Overview, area_code: str, priorities: list[str] | None = None,
                 attention_first: bool = False) -> pl.DataFrame:
    """The summary rows for one area: one per indicator, with sparkline values and change markers."""
    rows = ov.summary.filter(pl.col("area_code") == area_code)
    if priorities:
        rows = rows.filter(pl.col("priority").is_in(priorities))
    spark = ov.spark.group_by("indicator_id", "area_code").agg(
        spark_values=pl.col("value"), spark_types=pl.col("point_type"))
    rows = rows.join(spark, on=["indicator_id", "area_code"], how="left")
    if ov.changes.height:
        # one marker per row: a new signal matters most, then an ended one, then a withdrawn one
        rank = pl.col("change").replace_strict({"new": 0, "ended": 1, "withdrawn": 2}, default=3)
        change = ov.changes.sort(rank).group_by("indicator_id", "area_code").agg(
            change=pl.col("change").first(), change_rule=pl.col("rule").first(),
            change_type=pl.col("point_type").first())
        rows = rows.join(change, on=["indicator_id", "area_code"], how="left")
    else:
        rows = rows.with_columns(change=pl.lit(None, pl.String), change_rule=pl.lit(None, pl.String),
                                 change_type=pl.lit(None, pl.String))
    # priorities keep catalogue order; within each, plan order or "needs attention" (concern first)
    order = ov.indicators.group_by("priority", maintain_order=True).agg(p_order=pl.col("sort_order").min())
    rows = rows.join(order, on="priority", how="left").with_columns(
        attention=pl.col("variation").replace_strict(plots.ATTENTION_ORDER, default=4, return_dtype=pl.Int32),
        assurance_rank=pl.col("assurance").replace_strict(
            {"consistent_fail": 0, "inconsistent": 1}, default=2, return_dtype=pl.Int32))
    keys = ["p_order", "attention", "assurance_rank", "sort_order"] if attention_first else ["p_order", "sort_order"]
    return rows.sort(keys)


def _link(indicator_id: str, area_code: str, text: str) -> str:
    query = urlencode({"page": "indicator", "indicator": indicator_id, "area": area_code})
    return f'<a href="?{query}" target="_self">{html.escape(text)}</a>'


def summary_table_html(rows: pl.DataFrame, *, links: bool = True, sparklines: bool = True) -> str:
    """The summary as one HTML table grouped by priority (icons are inline SVG with words)."""
    head = ["Indicator", "Latest"] + (["Last 24 points"] if sparklines else []) + \
        ["Variation", "Assurance", "Status"]
    widths = ["23%", "10%"] + (["14%"] if sparklines else []) + ["14%", "14%", "25%"]
    out = ['<table class="spc-summary"><colgroup>' + "".join(f'<col style="width:{w}">' for w in widths)
           + '</colgroup><thead><tr>' + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"]
    current = None
    for r in rows.iter_rows(named=True):
        if r["priority"] != current:
            current = r["priority"]
            out.append(f'<tr class="spc-priority"><td colspan="{len(head)}">{html.escape(current)}</td></tr>')
        name = _link(r["indicator_id"], r["area_code"], r["name"]) if links else html.escape(r["name"])
        marker = ""
        if r.get("change") == "new":
            what = plots.VARIATION_LABELS.get(r.get("change_type") or "", "signal").lower()
            marker = (f' <span class="spc-new" title="{html.escape(r.get("change_rule") or "")}">'
                      f"NEW since last refresh: {html.escape(what)}</span>")
        elif r.get("change") == "ended":
            marker = ' <span class="spc-ended">signal ended since last refresh</span>'
        elif r.get("change") == "withdrawn":
            marker = ' <span class="spc-ended">signal withdrawn (data or settings changed)</span>'
        cells = [
            f"{name}{marker}",
            f'{plots.format_value(r["latest_value"], r["unit"])}<br><span class="spc-small">'
            f'{plots.format_period(r["latest_period"], r["frequency"])}</span>',
        ]
        if sparklines:
            cells.append(plots.sparkline_svg(r.get("spark_values") or [], r.get("spark_types"), width=140))
        cells += [
            plots.icon_with_label(plots.variation_icon_svg(r["variation"], r["improvement"], 32),
                                  plots.variation_label(r["variation"])),
            plots.icon_with_label(plots.assurance_icon_svg(r["assurance"], 32), plots.assurance_label(r["assurance"])),
            f'<span class="spc-status">{html.escape(r.get("status") or "")}</span>',
        ]
        classes = ["", "num", "", "", "", ""] if sparklines else ["", "num", "", "", ""]
        out.append("<tr>" + "".join(f'<td class="{c}">{v}</td>' for c, v in zip(classes, cells)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def render(ov: Overview, path: str) -> None:
    """The summary page."""
    st.title("Indicator summary")
    common.notices(ov)
    areas = ov.areas
    codes = areas["code"].to_list()
    names = dict(zip(codes, areas["name"].to_list()))
    priorities = ov.indicators["priority"].unique(maintain_order=True).to_list()
    c1, c2, c3 = st.columns([2, 3, 2])
    with c1:
        area = st.selectbox("Area", codes, format_func=names.get, key="summary_area")
    with c2:
        chosen = st.multiselect("Plan priorities", priorities, default=[], key="summary_priorities",
                                placeholder="All priorities")
    with c3:
        sort = st.radio("Order", ["Plan order", "Needs attention first"], key="summary_sort", horizontal=False)
    rows = summary_rows(ov, area, chosen or None, attention_first=sort == "Needs attention first")
    last = ov.last_refresh
    new = ov.changes.filter(pl.col("change") == "new") if ov.changes.height else ov.changes
    n_new, n_here = new.height, (new.filter(pl.col("area_code") == area).height if new.height else 0)
    when = common.fmt_time(last.get("finished_at") or last.get("started_at")) if last else None
    if last and ov.compared:
        st.markdown(
            f"Last refresh **{when}** ({last.get('trigger')}, {last.get('status')}). Since the refresh before it: "
            f"**{n_new}** new signal{'s' if n_new != 1 else ''} beyond normal variation across all areas, "
            f"**{n_here}** for {html.escape(names.get(area, area))}, marked **NEW** below.")
    elif last:
        st.markdown(f"Results computed **{when}** ({last.get('trigger')}). This is the first run, so there is "
                    "no earlier refresh to compare with and nothing is marked as changed.")
    else:
        st.markdown(f"Results computed **{common.fmt_time(ov.freshness.get('newest_result'))}**. "
                    "No refresh has run yet, so nothing is marked as changed.")
    if rows.is_empty():
        st.info(f"No indicators are reported for {names.get(area, area)} with these filters.")
    else:
        counts = rows["variation"].value_counts()
        n = dict(zip(counts["variation"].to_list(), counts["count"].to_list()))
        st.markdown(
            f"**{rows.height} indicators** for {html.escape(names.get(area, area))}: "
            f"{n.get('special_cause_concern', 0)} of concern, "
            f"{n.get('special_cause_improvement', 0)} improving, "
            f"{n.get('special_cause_neutral_high', 0) + n.get('special_cause_neutral_low', 0)} changed "
            f"(no better direction), {n.get('common_cause', 0)} within normal variation.")
        st.caption("Click an indicator for its chart. **Special cause** = a change beyond normal "
                   "variation (unlikely to be chance). See 'How to read this page' at the bottom.")
        st.markdown(summary_table_html(rows), unsafe_allow_html=True)
    no_results = ov.indicators.filter(~pl.col("id").is_in(ov.summary["indicator_id"].unique().to_list()))
    if no_results.height:
        st.caption(f"{no_results.height} indicators in the catalogue have no data loaded yet: "
                   + ", ".join(no_results["name"].to_list()) + ". See the Data page.")
    local_only = ov.indicators.filter(~pl.col("local")).height
    if area != codes[0] and local_only:
        st.caption(f"{local_only} indicators are reported force-wide only and are not shown for a single area.")
    with st.expander("How to read this page", expanded=False):
        st.markdown(common.SPECIAL_CAUSE_HELP)
        st.markdown(common.ASSURANCE_HELP)
