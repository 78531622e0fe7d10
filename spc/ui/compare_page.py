"""Compare areas: funnel plot and ranked table for one indicator and period.

For a count indicator in a store with resident populations the main view is the funnel of
counts per 1,000 residents (spc.compare.rate_funnel): the local areas of the chosen force, and
in a store of many forces also the forces, or the force and its most similar group. Each area's
count against its own a year earlier (spc.compare.change_funnel) is its own view. Everything
is read from the store and made once per data version (no engine or model fits on a view).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from spc import plots
from spc.text import literal
from spc.ui import common
from spc.ui.data import Overview, series_data, stamp, store_forces
from spc.ui.indicator import area_populations, choose_indicator

BAND_WORDS = {
    "within": "Within the expected range",
    "above_95": "Higher than usual (beyond the 95% limit; chance is still possible)",
    "above_99.8": "Higher than chance gives (beyond the 99.8% limit)",
    "below_95": "Lower than usual (beyond the 95% limit; chance is still possible)",
    "below_99.8": "Lower than chance gives (beyond the 99.8% limit)",
}


def area_window(points: pl.DataFrame, end: dt.date, months: int) -> pl.DataFrame:
    """Per area: totals of numerator and denominator (and value) over the `months` ending at `end`."""
    start_m = end.year * 12 + end.month - 1 - (months - 1)
    start = dt.date(start_m // 12, start_m % 12 + 1, 1)
    return (points.filter(pl.col("period").is_between(start, end))
            .group_by("area_code", "area_name", maintain_order=True)
            .agg(periods=pl.len(), numerator=pl.col("numerator").sum(), denominator=pl.col("denominator").sum(),
                 total=pl.col("value").sum(), mean=pl.col("value").mean(),
                 has_den=pl.col("denominator").is_not_null().all()))


@st.cache_resource(show_spinner=False, max_entries=32)
def funnel_view(path: str, key: Any, indicator_id: str, end: dt.date, months: int, kind: str, per: float, axis: str,
                title: str, _funnel_input: pl.DataFrame) -> tuple[go.Figure, list[str], pl.DataFrame] | str:
    """The funnel plot, its notes and each area's band, made once per data version, indicator
    and window (the figure is only read once built); or why it cannot be drawn."""
    from spc import compare

    try:
        f = (compare.funnel_change(_funnel_input, unit="area_name") if kind == "change"
             else compare.funnel(_funnel_input, unit="area_name", kind=kind, per=per))
    except Exception as exc:  # noqa: BLE001 - e.g. too few usable areas: the page says why
        return str(exc)
    fig = compare.funnel_figure(f, title=title, value_label=axis, percent=False)
    fig.update_layout(height=560, font={"size": 16})
    # name the areas on the plot (a projector audience cannot hover)
    # area names are data: plotly would render HTML in them
    fig.for_each_trace(lambda t: t.update(text=[literal(x) for x in t.text]), selector={"name": "units"})
    fig.update_traces(selector={"name": "units"}, mode="markers+text", textposition="top center",
                      name="areas", marker={"size": 12}, textfont={"size": 13}, cliponaxis=False)
    fig.update_xaxes(title=("incidents in both windows (this year and a year earlier)" if kind == "change"
                            else "denominator (size)"))
    bands = f.units.select(pl.col("unit").alias("area_name"), pl.col("value").alias("funnel_value"), "band")
    return fig, list(f.notes), bands


#: the views of a count indicator: the level per 1,000 residents, or change on a year earlier
VIEWS = {"rate": "Per 1,000 residents", "change": "Change on a year earlier"}
#: which areas are compared
SCOPES = {"district": "Local areas of a force", "force": "Forces", "msg": "Most similar group"}


@st.cache_data(show_spinner=False, max_entries=1)
def peer_groups() -> pl.DataFrame | None:
    """The most similar groups of forces (reference data), or None when they cannot be read."""
    try:
        from spc.compare.areas import most_similar_groups

        return most_similar_groups()
    except Exception:  # noqa: BLE001 - no reference file: the page offers no group
        return None


@st.cache_resource(show_spinner=False, max_entries=32)
def area_funnel_view(path: str, key: Any, indicator_id: str, view: str, scope: str, force: str | None,
                     end: dt.date, months: int, title: str, _points: pl.DataFrame, _areas: pl.DataFrame,
                     _area_force: pl.DataFrame, _populations: pl.DataFrame, _peers: pl.DataFrame | None):
    """The funnel of areas (rates per 1,000 residents, or change on a year earlier), its notes
    and table, made once per data version, indicator, view, areas and window; or why it cannot
    be drawn."""
    from spc import compare

    start_m = end.year * 12 + end.month - 1 - (months - 1)
    start = dt.date(start_m // 12, start_m % 12 + 1, 1)
    last = (dt.date(end.year + end.month // 12, end.month % 12 + 1, 1) - dt.timedelta(days=1))
    try:
        units = compare.choose_units(_areas, _area_force, level=None if scope == "msg" else scope, force=force,
                                     group="msg" if scope == "msg" else None, peers=_peers)
        if view == "rate":
            made = compare.rate_funnel(_points, _populations, units, start, last)
        else:
            made = compare.change_funnel(_points, units, start, last)
    except Exception as exc:  # noqa: BLE001 - e.g. too few areas with figures: the page says why
        return str(exc)
    if view == "rate":
        fig = compare.funnel_figure(made.funnel, title=title, value_label="per 1,000 residents", percent=False,
                                    size_label="resident population")
    else:
        fig = compare.funnel_figure(made.funnel, title=title, value_label="ratio to a year earlier", percent=False,
                                    size_label="incidents in both windows (this year and a year earlier)")
    _label_areas(fig)
    return fig, units.description, made


def _label_areas(fig: go.Figure) -> None:
    """Name the areas on the plot (a projector audience cannot hover); names are data, shown literally."""
    fig.update_layout(height=560, font={"size": 16})
    fig.for_each_trace(lambda t: t.update(text=[literal(x) for x in t.text]), selector={"name": "units"})
    fig.update_traces(selector={"name": "units"}, mode="markers+text", textposition="top center",
                      name="areas", marker={"size": 12}, textfont={"size": 13}, cliponaxis=False)


def _scopes(many: bool, force: str | None, peers: pl.DataFrame | None) -> list[str]:
    if not many:
        return ["district"]
    have_group = peers is not None and force is not None and not peers.filter(pl.col("force") == force).is_empty()
    return ["district", "force", *(["msg"] if have_group else [])]


def render(ov: Overview, path: str) -> None:
    """The compare-areas page."""
    st.title("Compare areas")
    common.notices(ov)
    if ov.indicators.filter(pl.col("local")).is_empty():
        st.info("No indicator is reported by area, so there is nothing to compare.")
        return
    ind_id, _ = choose_indicator(ov, with_area=False, local_only=True)
    meta = ov.indicators.filter(pl.col("id") == ind_id).row(0, named=True)
    st.caption("Only indicators reported for each community safety partnership area are listed.")
    key = stamp(path)
    sd = series_data(path, key, ind_id)
    # the partnership areas only: neither the force total nor a national figure is one of them
    points = sd.points.filter(~pl.col("area_type").is_in(["force", "national"]))
    if ov.force is not None:
        forces = store_forces(path, key)
        mine = forces.area_force.filter(pl.col("force_code") == ov.force)["area_code"]
        if forces.many:
            points = points.filter(pl.col("area_code").is_in(mine.implode()))
    else:
        forces = None
    if points.is_empty():
        st.info("This force's local areas have no figures for this indicator.")
        return
    periods = sorted(points["period"].unique().to_list(), reverse=True)
    c1, c2 = st.columns(2)
    end = c1.selectbox("Period ending", periods, format_func=lambda d: plots.format_period(d, meta["frequency"]),
                       key="compare_period")
    months = c2.radio("Window", [1, 3, 12], index=2, horizontal=True, key="compare_window",
                      format_func=lambda m: {1: "that month", 3: "3 months", 12: "12 months"}[m])
    win = area_window(points, end, months)
    st.markdown(
        "A **funnel plot** compares areas fairly: small areas vary more by chance, so the limits are "
        "wider where the numbers are small. An area outside the funnel differs by more than chance gives.")
    latest = ov.summary.filter(pl.col("indicator_id") == ind_id).select("area_code", "variation")
    if not win["has_den"].all():
        pops = area_populations(path, key)
        if not pops.is_empty() and forces is not None:
            _counts_page(ov, path, key, ind_id, meta, sd, forces, pops, end, months, latest)
            return
    _stored_ratio_page(ov, path, ind_id, meta, points, win, end, months, latest)


def _window_words(end: dt.date, months: int, frequency: str) -> str:
    return f"{months} month{'s' if months > 1 else ''} to {plots.format_period(end, frequency)}"


def _counts_page(ov: Overview, path: str, key: Any, ind_id: str, meta: dict, sd, forces, pops: pl.DataFrame,
                 end: dt.date, months: int, latest: pl.DataFrame) -> None:
    """A count indicator in a store with populations: per 1,000 residents (the main view) or
    change on a year earlier, for the local areas, the forces or the most similar group."""
    peers = peer_groups() if forces.many else None
    scopes = _scopes(forces.many, ov.force, peers)
    c1, c2 = st.columns(2)
    view = c1.radio("Show", list(VIEWS), format_func=VIEWS.get, horizontal=True, key="compare_view",
                    help="Per 1,000 residents compares the areas' levels fairly for their size; change on a year "
                         "earlier compares each area with itself.")
    scope = "district"
    if len(scopes) > 1:
        if st.session_state.get("compare_scope") not in scopes:
            st.session_state["compare_scope"] = scopes[0]
        force_name = forces.names.get(ov.force, ov.force)
        scope = c2.radio("Compare", scopes, horizontal=True, key="compare_scope",
                         format_func=lambda s: {"district": f"Local areas of {force_name}", "force": "Forces",
                                                "msg": f"{force_name} and its most similar forces"}[s])
    name = literal(meta["name"])
    what = {"rate": "per 1,000 residents", "change": "against a year earlier"}[view]
    title = f"{name} {what}, {_window_words(end, months, meta['frequency'])}"
    made = area_funnel_view(path, key, ind_id, view, scope, ov.force, end, months, title,
                            sd.points.select("area_code", "period", "value"),
                            forces.areas.select("code", "name", "type"), forces.area_force, pops, peers)
    if isinstance(made, str):
        st.warning(f"The funnel plot could not be drawn: {literal(made)}")
        return
    fig, description, result = made
    st.plotly_chart(fig, width="stretch", key="funnel")
    unit_word = "area" if scope == "district" else "force"
    a_unit = "an area" if unit_word == "area" else "a force"
    if view == "rate":
        st.caption(f"Comparing {literal(description)}. Each dot is {a_unit}: its count over the window for every "
                   "1,000 people living there (the mid-year "
                   "population estimate), drawn against its population. The line is the rate for all of them "
                   f"together; the funnel is how far {a_unit}'s rate can be from it by chance alone, given its "
                   "size. Outside the inner funnel is unusual; outside the outer funnel, chance alone would almost "
                   "never put it there.")
    else:
        st.caption(f"Comparing {literal(description)}. Each dot is {a_unit}, compared with itself a year earlier: "
                   "the ratio of this window's count to the same "
                   "window a year before (1.00 = no change). The line is the ratio for all of them together; the "
                   f"funnel is how far {a_unit}'s change can differ from it by chance, given how many incidents "
                   "it had in the two windows together.")
    for note in result.notes:
        # small counts: chance dominates, said where it cannot be missed
        (st.info if "chance dominates" in note else st.caption)(literal(note))
    if scope == "msg":
        st.caption("The most similar forces are those listed for this force in data/geography/"
                   "most_similar_groups.csv (how the list was made is in data/geography/README.md).")
    if not forces.many and view == "rate":
        st.caption("To compare the force with its most similar group of forces, build a store of all forces "
                   "(`spc db init --force all`, then import the police.uk archive).")
    table = result.table.join(latest, left_on="area", right_on="area_code", how="left")
    own_chart = [] if scope != "district" else [  # the summary holds the chosen force's areas only
        pl.col("variation").replace_strict(plots.VARIATION_LABELS, default="–").alias("Latest point on its own chart")]
    if view == "rate":
        shown = table.select(
            pl.col("area_name").alias(unit_word.title()), pl.col("count").alias("Count"),
            pl.col("population").alias("Residents"), pl.col("rate_per_1000").round(2).alias("Per 1,000 residents"),
            pl.col("band").replace_strict(BAND_WORDS, default="–").alias(f"Compared with the other {unit_word}s"),
            *own_chart)
    else:
        shown = table.select(
            pl.col("area_name").alias(unit_word.title()), pl.col("count").cast(pl.Int64).alias("Total"),
            pl.col("count_a_year_earlier").cast(pl.Int64).alias("A year earlier"),
            pl.col("ratio").round(2).alias("Ratio"),
            pl.col("band").replace_strict(BAND_WORDS, default="–").alias(f"Compared with the other {unit_word}s"),
            *own_chart)
    st.subheader("Ranked table")
    st.html(common.frame_html(shown))


def _stored_ratio_page(ov: Overview, path: str, ind_id: str, meta: dict, points: pl.DataFrame, win: pl.DataFrame,
                       end: dt.date, months: int, latest: pl.DataFrame) -> None:
    """A proportion or rate indicator (numerator over denominator), or counts in a store with no
    populations (each area against itself a year earlier)."""
    unit = meta["unit"]
    if win["has_den"].all():
        # proportions and rates: the usual funnel of numerator over denominator
        funnel_input = win.select("area_name", "numerator", "denominator")
        kind = "proportion" if unit == "%" else "rate"
        per = 100.0 if unit == "%" else 1.0
        axis = "%" if unit == "%" else unit
        explain = ("Each dot is an area; the line is the force-wide figure; the funnel is how far an area "
                   "can be from it by chance, given its size.")
    else:
        # counts have no population here, so compare each area's count with its own count a year
        # earlier; both are Poisson, so the funnel is the conditional binomial one
        # (spc.compare.funnel_change), shown as the ratio to a year earlier (1.00 = no change)
        before = area_window(points, dt.date(end.year - 1, end.month, 1), months).select(
            "area_code", pl.col("total").alias("previous"))
        win = win.join(before, on="area_code", how="left")
        funnel_input = win.filter((pl.col("total") + pl.col("previous").fill_null(0)) > 0).select(
            "area_name", pl.col("total").alias("current"), pl.col("previous").fill_null(0))
        kind, per, axis = "change", 1.0, "ratio to a year earlier"
        explain = ("There is no resident population in this store, so each area is compared with itself a year earlier: "
                   "the ratio of this window's count to the same window a year before (1.00 = no change). "
                   "The line is the force-wide ratio; the funnel is how far an area's change can differ "
                   "from it by chance, given how many incidents it had in the two windows together.")
    title = f"{literal(meta['name'])}, {_window_words(end, months, meta['frequency'])}"
    bands = None
    if funnel_input.height >= 3:
        made = funnel_view(path, stamp(path), ind_id, end, months, kind, per, axis, title, funnel_input)
        if isinstance(made, str):  # e.g. too few usable areas; say why instead of failing
            st.warning(f"The funnel plot could not be drawn: {literal(made)}")
        else:
            fig, notes, bands = made
            st.plotly_chart(fig, width="stretch", key="funnel")
            st.caption(explain)
            for note in notes:
                # small counts: chance dominates, said where it cannot be missed
                (st.info if "chance dominates" in note else st.caption)(literal(note))
    else:
        st.info("Fewer than three areas have data for this window, so there is no funnel plot.")
    ranked = win.join(latest, on="area_code", how="left")
    if bands is not None:
        ranked = ranked.join(bands, on="area_name", how="left")
    else:
        ranked = ranked.with_columns(funnel_value=pl.lit(None, pl.Float64), band=pl.lit(None, pl.String))
    value_col = "total" if unit == "count" else "mean"
    if win["has_den"].all():
        ranked = ranked.with_columns(shown=pl.col("numerator") / pl.col("denominator"))
    else:
        ranked = ranked.with_columns(shown=pl.col(value_col))
    ranked = ranked.sort("shown", descending=True).select(
        pl.col("area_name").alias("Area"),
        pl.col("shown").map_elements(lambda v: plots.format_value(v, unit), return_dtype=pl.String)
        .alias("Total" if value_col == "total" and not win["has_den"].all() else "Value"),
        *([pl.col("previous").cast(pl.Int64).alias("A year earlier"),
           pl.col("funnel_value").round(2).alias("Ratio")] if "previous" in win.columns else []),
        pl.col("band").replace_strict(BAND_WORDS, default="–").alias("Compared with the other areas"),
        pl.col("variation").replace_strict(plots.VARIATION_LABELS, default="–").alias("Latest point on its own chart"))
    st.subheader("Ranked table")
    st.html(common.frame_html(ranked))
