"""Indicator page: the control chart and everything behind one indicator."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any, NamedTuple

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from spc import autocorrelation, narrative, plots
from spc.text import literal
from spc.ui import common
from spc.timeliness import data_age
from spc.ui.data import Overview, series_data, series_views, setting_scopes, stamp, store_forces


def choose_indicator(ov: Overview, *, key_prefix: str = "sel", with_area: bool = True,
                     local_only: bool = False) -> tuple[str, str]:
    """The indicator (and area) pickers shared by the indicator, compare and analyst pages.

    The choice lives in session state (`sel_indicator`, `sel_area`) so it follows the user from
    page to page, and it can be set from the address (?indicator=...&area=...). A choice that
    is not on offer (a mistyped address, an area with no figures for the indicator) is replaced
    by the first one with a notice saying so and what there is to choose from, never silently.
    """
    inds = ov.indicators.filter(pl.col("local")) if local_only else ov.indicators
    ids = inds["id"].to_list()
    names = dict(zip(ids, inds["name"].to_list()))
    wanted = st.session_state.get(f"{key_prefix}_indicator")
    if wanted not in ids:
        if wanted is not None:
            not_offered("indicator", str(wanted), ov.indicators, "id", [names[i] for i in ids],
                         "is not reported by area, so it cannot be compared here")
        st.session_state[f"{key_prefix}_indicator"] = ids[0]
    cols = st.columns([3, 2]) if with_area else [st.container()]
    with cols[0]:
        ind = st.selectbox("Indicator", ids, format_func=lambda i: names.get(i, i), key=f"{key_prefix}_indicator")
    area = ""
    if with_area:
        have = ov.summary.filter(pl.col("indicator_id") == ind)
        codes = have["area_code"].to_list() or ov.areas["code"].head(1).to_list()
        area_names = dict(zip(have["area_code"].to_list(), have["area_name"].to_list()))
        wanted_area = st.session_state.get(f"{key_prefix}_area")
        if wanted_area not in codes:
            if wanted_area is not None:
                not_offered("area", str(wanted_area), ov.areas, "code", [area_names.get(c, c) for c in codes],
                             f"has no figures for {names.get(ind, ind)}")
            st.session_state[f"{key_prefix}_area"] = codes[0]
        with cols[1]:
            area = st.selectbox("Area", codes, format_func=lambda c: area_names.get(c, c), key=f"{key_prefix}_area")
    st.query_params["indicator"] = ind
    if area:
        st.query_params["area"] = area
    return ind, area


def not_offered(what: str, wanted: str, known: pl.DataFrame, key: str, choices: list[str], why: str) -> None:
    """The notice for an indicator or area (from the address, or another page) not on offer here:
    unknown altogether, or known but not offered (`why`), with the list to choose from."""
    match = known.filter(pl.col(key) == wanted)
    listed = ", ".join(literal(c) for c in choices)
    if match.is_empty():
        st.warning(f"No {what} '{literal(wanted)}'. Choose one of: {listed}.", icon="⚠️")
    else:
        st.info(f"{literal(match['name'][0])} {literal(why)}. Choose one of: {listed}.", icon="ℹ️")


@st.cache_data(show_spinner=False, max_entries=4)
def area_populations(path: str, key: Any) -> pl.DataFrame:
    """Every area's mid-year population estimates as stored (area_population, schema 9; empty
    for an older store), read once per data version."""
    from spc.population import load_populations
    from spc.ui.data import reading

    with reading(path) as con:
        return load_populations(con)


#: the unit a count chart is drawn in when shown per 1,000 residents
PER_1000 = "per 1,000 residents"


def _series_frame(points: pl.DataFrame) -> pl.DataFrame:
    return points.select(pl.col("area_code").alias("series"), "period", "value", "numerator", "denominator")


@st.cache_data(show_spinner=False, max_entries=64)
def expected_panel(path: str, key: Any, indicator_id: str, area_code: str, _points: pl.DataFrame) -> dict[str, Any]:
    """The expected range of the latest point given the trend and season (spc.trend): a model fit
    that takes seconds, so made only on request, once per data version."""
    from spc import trend

    try:
        return trend.expected_range(_series_frame(_points)).row(0, named=True)
    except Exception as exc:  # a panel that cannot be computed says why; the page still works
        return {"error": str(exc)}


def stored_view(path: str, key: Any, indicator_id: str, area_code: str, latest_period: dt.date | None,
                frequency: str, today: dt.date) -> dict[str, Any]:
    """The stored view of one series (spc.ui.data.series_views), with the narrative's data age
    made for `today` (the one part that changes with the date, not the data)."""
    view = series_views(path, key, indicator_id).get(area_code) or {}
    told = dict(view.get("narrative") or {})
    if latest_period is not None:
        age = data_age(latest_period, frequency or "month", today, indicator_id=indicator_id)
        told["age"], told["late"] = age.text() or None, age.late
        if told["age"]:  # as spc.narrative.describe(today=...) ends its sentences
            told["sentences"] = [*(told.get("sentences") or []), told["age"][0].upper() + told["age"][1:] + "."]
    return {**view, "narrative": told}


def same_force_areas(path: str, key: Any, points: pl.DataFrame, area: str) -> pl.DataFrame:
    """The partnership areas' points of the force `area` belongs to: in a store of many forces,
    "across the areas" means this force's areas, never every force's."""
    local = points.filter(pl.col("area_type") == "community safety partnership area")
    forces = store_forces(path, key)
    if not forces.many:
        return local
    force = forces.force_of(area)
    mine = forces.area_force.filter(pl.col("force_code") == force)["area_code"]
    return local.filter(pl.col("area_code").is_in(mine.implode()))


class Look(NamedTuple):
    """What a chart of the Indicator page is drawn with, beside the data."""

    unit: str
    frequency: str
    target: float | None
    chart: str | None
    chart_label: str | None


@st.cache_resource(show_spinner=False, max_entries=64)
def figure(path: str, key: Any, indicator_id: str, area: str, kind: str, look: Look, two_sigma: bool = False,
           show_target: bool = False, per_1000: bool = False) -> go.Figure:
    """One chart of the Indicator page ('control': the control chart, with the moving range chart
    under it in the same figure for an XmR chart; 'areas': the partnership areas side by side;
    'brief': Briefing mode's), built once per data version and option: a view, a toggle back or
    another visitor draws it again without building it (a figure is only read once built).
    `per_1000`: a count chart as rates per 1,000 residents (spc.population.rate_points: the
    stored chart scaled by each period's population; see the caption in `render`)."""
    sd = series_data(path, key, indicator_id)
    points = sd.points.filter(pl.col("area_code") == area)
    if per_1000:
        from spc.population import rate_points

        points = rate_points(points, area_populations(path, key))
    if kind == "areas":
        local = same_force_areas(path, key, sd.points, area)
        return plots.small_multiples(local, unit=look.unit, frequency=look.frequency)
    anns = store_forces(path, key).covering(sd.annotations, area)
    if kind == "brief":  # Briefing mode's chart: smaller, nothing to toggle
        return plots.control_chart(points, unit=look.unit, annotations=anns, height=420)
    return plots.control_chart(points, unit=look.unit, annotations=anns, two_sigma=two_sigma, target=look.target,
                               show_target=show_target, frequency=look.frequency,
                               limits_note=plots.limits_note(look.chart, look.frequency),
                               statistic=plots.statistic_title(look.chart_label, look.unit),
                               # the moving range chart under every XmR chart, as Making Data Count shows it
                               moving_range=look.chart == "xmr")


def per_1000_caption(pops: pl.DataFrame, area: str, points: pl.DataFrame) -> str:
    """What the per 1,000 residents chart is, and why it is the counts' chart scaled."""
    from spc.population import with_population, yearly_change

    used = with_population(points.select("area_code", "period"), pops)
    first, last = used["period"].dt.year().min(), used["period"].dt.year().max()
    est = used["population_year"].drop_nulls()
    years = (f"the mid-year population estimates for {est.min()} to {est.max()}" if est.min() != est.max()
             else f"the mid-year population estimate for {est.min()}")
    missing = sorted(set(range(first, last + 1)) - set(est.unique().to_list()))
    nearest = (f"; for {', '.join(map(str, missing))}, which {'has' if len(missing) == 1 else 'have'} no estimate, "
               "the nearest year's" if missing else "")
    change = yearly_change(pops, area)
    size = (f"changes by at most {100 * change:.1f}% a year" if change is not None else "is one estimate throughout")
    return (f"Per 1,000 residents: each period's count divided by the area's population ({years}{nearest}) and "
            f"multiplied by 1,000. The chart is the counts' chart scaled by the population. The population {size}, "
            "so this is the chart of the rates to within that change: it marks the same points as unusual, and "
            "its average and limits move by no more than the population does.")


#: How the page's words are drawn: a few `st.html` blocks (no markdown parse, one element each)
#: styled as Streamlit draws markdown, captions and expanders (issue 14: the browser's time).
CSS = """<style>
.spc-ind { overflow-wrap: break-word; }
.spc-ind p, .spc-ind ul { margin: 0 0 1rem 0; }
.spc-ind > :last-child { margin-bottom: 0; }
.spc-ind ul { padding-left: 1.5rem; }
.spc-ind li { margin: 0.2em 0; padding-left: 0; }
.spc-ind strong { font-weight: 600; }
.spc-ind h3 { font-size: 1.75rem; font-weight: 600; line-height: 1.2; margin: 0 0 1rem 0; padding: 0.4rem 0 0 0; }
.spc-ind .spc-small { margin: 0 0 1rem 0; }
.spc-ind-head { display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 3fr) minmax(0, 3fr); column-gap: 1rem;
  row-gap: 1rem; align-items: start; margin: 0 0 1rem 0; }
@media (max-width: 640px) { .spc-ind-head { grid-template-columns: minmax(0, 1fr); } }
.spc-ind-metric-label { font-size: 0.875rem; line-height: 1.6; }
.spc-ind-metric { font-size: 2.25rem; line-height: 1.4; padding-bottom: 0.25rem; }
.spc-ind-icon { display: inline-block; flex-shrink: 0; width: 48px; height: 48px; background-repeat: no-repeat;
  background-size: contain; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.spc-ind .spc-cap { font-size: 0.875rem; color: rgba(49, 51, 63, 0.6); }
.spc-ind details { margin: 0 0 1rem 0; }
.spc-ind details:last-child { margin-bottom: 0; }
</style>"""


def _icon(svg: str, label: str) -> str:
    """`plots.icon_with_label` for `st.html`, which draws no inline SVG: the icon is the same SVG
    as a picture (its accessible name kept), followed by its words."""
    return (f'<span class="spc-icon" style="display:inline-flex;align-items:center;gap:0.4em">'
            f'{common.svg_image(svg, "spc-ind-icon")}<span>{html.escape(label)}</span></span>')


def _heading(text: str) -> str:
    """A heading of the page's parts (as `st.subheader` draws one)."""
    return f"<h3>{text}</h3>"


def _para(inner: str) -> str:
    """A paragraph of the page (`inner`: HTML, data in it through `literal`)."""
    return f"<p>{inner}</p>"


def _caption(inner: str) -> str:
    """A paragraph drawn as `st.caption` draws one."""
    return f"<p class='spc-cap'>{inner}</p>"


def _text(*parts: str) -> list[str]:
    """Draw `parts` as one block (nothing when there are none); returns an empty list to gather
    the next block in."""
    if parts:
        st.html("<div class='spc-ind'>" + "\n".join(parts) + "</div>")
    return []


@st.fragment
def chart_panel(path: str, key: Any, ind_id: str, area: str, look: Look, target_source: str | None,
                has_pop: bool, drawn_per_1000: bool) -> None:
    """The control chart (with the moving range chart under an XmR chart, one figure) and its
    options (2-sigma lines, target, per 1,000 residents): a fragment, so ticking an option redraws these alone,
    not the whole page. 'Per 1,000 residents' changes the data table too: turning it redraws the
    page (`drawn_per_1000` is the value the page was drawn with)."""
    # one row of options: a flex row is one element where columns are five (each costs the browser)
    options = st.container(horizontal=True, gap="large")
    two_sigma = options.checkbox("Show 2-sigma lines", key="opt_two_sigma",
                                 help="Inner lines two-thirds of the way to the process limits, used by the '2 of 3' "
                                      "rule.")
    # the toggle's value this run (a click is in session state before the widget is drawn): no
    # target is offered on the rates, and the target's box comes before the toggle in the row
    per_1000 = has_pop and bool(st.session_state.get("opt_per_1000", False))
    show_target = False
    if look.target is not None and not per_1000:
        show_target = options.checkbox(f"Show target ({plots.format_value(look.target, look.unit)})",
                                       key="opt_target", help=f"Source: {literal(target_source or 'catalogue')}. "
                                                              "A reference, not the judgement.")
    per_1000 = has_pop and options.toggle("Per 1,000 residents", key="opt_per_1000",
                                          help="The counts divided by the area's resident population, times 1,000.")
    if per_1000 != drawn_per_1000:
        st.rerun()  # the whole page: the data table and its download have the rates too
    if per_1000:
        look = Look(PER_1000, look.frequency, None, look.chart, None)
    st.plotly_chart(figure(path, key, ind_id, area, "control", look, two_sigma, show_target, per_1000),
                    width="stretch", key="control_chart")
    if per_1000:
        points = series_data(path, key, ind_id).points.filter(pl.col("area_code") == area)
        st.caption(per_1000_caption(area_populations(path, key), area, points))


def render(ov: Overview, path: str) -> None:
    """The indicator page."""
    st.html(CSS)  # a style-only block: laid out nowhere
    common.notices(ov)
    ind_id, area = choose_indicator(ov)
    meta = ov.indicators.filter(pl.col("id") == ind_id).row(0, named=True)
    key = stamp(path)
    sd = series_data(path, key, ind_id)
    points = sd.points.filter(pl.col("area_code") == area)
    summ = ov.summary.filter((pl.col("indicator_id") == ind_id) & (pl.col("area_code") == area))
    st.title(literal(meta["name"]))
    if summ.is_empty() or points.is_empty():
        st.warning("No results are stored for this indicator and area yet.")
        return
    s = summ.row(0, named=True)
    unit, freq = meta["unit"], meta["frequency"]
    improvement = s["improvement"] or meta["improvement"]
    direction = {"increase": "higher is better", "decrease": "lower is better",
                 "neutral": "no better direction (a rise may mean more reporting)"}[improvement]
    if improvement != meta["improvement"]:
        # the catalogue's description may say the opposite: the chart follows the analyst
        direction += " (an analyst's setting for this chart)"
    elif re.search(r"\b(higher|lower) is better\b", meta["description"] or "", re.I):
        direction = ""  # the description has just said it
    # what it is, the latest figure and the two icons (as three columns: a metric and two icons),
    # then the status: one block with the words that follow, up to the first notice
    head = [f"<div class='spc-small'>{literal(meta['description'])} "
            f"{literal(s['area_name'])}; {literal(direction) + '; ' if direction else ''}"
            f"{literal(meta['frequency'])}ly data from {literal(meta['source'])}.</div>",
            "<div class='spc-ind-head'>"
            f"<div><div class='spc-ind-metric-label'>Latest ({plots.format_period(s['latest_period'], freq)})</div>"
            f"<div class='spc-ind-metric'>{html.escape(plots.format_value(s['latest_value'], unit))}</div></div>"
            f"<div>{_icon(plots.variation_icon_svg(s['variation'], s['improvement'], 48), plots.variation_label(s['variation']))}</div>"
            f"<div>{_icon(plots.assurance_icon_svg(s['assurance'], 48), plots.assurance_label(s['assurance']))}</div>"
            "</div>"]
    phases = sd.phases.filter(pl.col("area_code") == area)
    view = stored_view(path, key, ind_id, area, s["latest_period"], freq, dt.date.today())
    told = view["narrative"]
    # narrative sentences name the indicator and area: data, so shown literally
    top = [*head, f"<h3>{literal(told.get('status') or s.get('status') or '')}</h3>"]
    if told.get("age"):
        age = told["age"][0].upper() + told["age"][1:] + "."
        if told.get("late"):
            top = _text(*top)
            st.warning(literal(age))
        else:
            top.append(_caption(literal(age)))
    # the latest point and its limits, in words (the episodes follow under "What the rules found")
    said = set(told.get("episodes") or []) | {told.get("suggestion"), told.get("gaps")}
    # each figure close to the one before: said on its own, where it cannot be missed
    dependence = autocorrelation.sentence(freq, s.get("chart")) if s.get("autocorrelated") else None
    lead = [x for x in (told.get("sentences") or [])[1:]
            if x not in said and x != dependence and not x.startswith("Latest data:")]
    if lead:
        top.append(_para(" ".join(literal(x) for x in lead)))
    if dependence:
        top = _text(*top)
        (st.info if s.get("chart") == "xmr_ar1" else st.warning)(literal(dependence), icon="ℹ️")
    if "special cause" in (s.get("status") or "").lower() or told.get("episodes"):
        top.append(_caption("<em>Special cause</em> means a change beyond normal variation: a statistical rule says "
                            "it is unlikely to be chance."))
    _text(*top)
    if told.get("suggestion"):
        st.info(f"{literal(told['suggestion'])} (Analyst controls offers this date; nothing changes until an analyst "
                "confirms it.)")

    pops = area_populations(path, key) if unit == "count" else None
    has_pop = pops is not None and not pops.filter(pl.col("area_code") == area).is_empty()
    # the toggle's value as the whole page is drawn with it (the data table's columns follow it)
    per_1000 = has_pop and bool(st.session_state.get("opt_per_1000", False))
    look = Look(unit, freq, s["target"], s.get("chart"), s.get("chart_label"))
    chart_panel(path, key, ind_id, area, look, meta.get("target_source"), has_pop, per_1000)
    anns = store_forces(path, key).covering(sd.annotations, area)
    if per_1000:
        look = Look(PER_1000, freq, None, s.get("chart"), None)
    if plots.statistic_note(s["chart"]):  # EWMA and CUSUM: the numbers quoted are the statistic
        st.info(plots.statistic_note(s["chart"]))
    under = []  # the words under the chart, one block
    listed = plots.annotation_list(anns, freq)
    if listed:
        under.append(_para("<br>".join(literal(x) for x in listed)))
    chart_name = {"xmr": "XmR (individuals)", "run": "run chart", "p": "p chart", "pp": "p′ chart (Laney)",
                  "u": "u chart", "up": "u′ chart (Laney)", "c": "c chart", "g": "g chart", "t": "t chart",
                  "xmr_ar1": "XmR allowing for month-to-month dependence (an analyst's choice)"}
    trial = (" Limits are <strong>trial limits</strong> (fewer than 12 points in the latest phase)."
             if s["trial_limits"] else "")
    # the engine's label where it says more than the chart's name (EWMA's λ, per 1,000, limits per month)
    chart_text = s.get("chart_label") if plots.statistic_title(s.get("chart_label")) else \
        chart_name.get(s["chart"], s["chart"])
    under.append(_caption(f"Chart: {literal(chart_text)}. Results computed "
                          f"{common.fmt_time(s['computed_at'])}.{trial}"))
    scopes = setting_scopes(ov, path, area)
    overrides = sd.settings.filter(pl.col("area_code").is_in(list(scopes)))
    for o in overrides.iter_rows(named=True):
        scope = scopes[o["area_code"]]
        under.append(_caption(f"Chart settings for {scope} were changed by {literal(o['author'])} on "
                              f"{common.fmt_time(o['updated_at'])} (see Analyst controls)."))
    warnings = [w for w in (s.get("warnings") or []) if w]
    if warnings:
        under.append(_caption("Notes: " + "; ".join(literal(w) for w in warnings) + "."))
    if s.get("acf1") is not None:
        under.append(common.details_html(
            "Month-to-month dependence (analyst detail)",
            _para(f"{literal(autocorrelation.detail(s['acf1'], s.get('acf1_basis')))} (latest phase). Where it is "
                  "material, the Analyst controls offer an XmR chart allowing for it (residuals from an AR(1) "
                  "fit, drawn around each point's prediction from the one before); it is never the default.")))
    _text(*under)

    left, right = st.columns(2)
    with left:
        found = [_heading("What the rules found")]
        lines = told.get("episodes") or []
        if not lines:
            found.append(_para("No point is beyond normal variation: every change is within the range this "
                               "measure normally moves in."))
        else:
            found.append(_para(literal(lines[0])))
            if lines[1:]:  # most recent first
                found.append("<ul>" + "".join(f"<li>{literal(line)}</li>" for line in reversed(lines[1:])) + "</ul>")
        if told.get("gaps"):
            found.append(_para(literal(told["gaps"])))
        if phases.height:
            latest = phases.row(-1, named=True)
            if latest.get("runs_signal"):
                found.append(_para(f"The runs analysis also finds non-random variation in the latest phase "
                                   f"(longest run {latest['longest_run']}, more than {latest['longest_run_max']} "
                                   f"would be unusual; {narrative.plural(latest['crossings'], 'crossing')} of the "
                                   "average)."))
            if phases.height > 1:
                found.append(_caption(f"{phases.height} phases: the limits were recalculated "
                                      + ", ".join(plots.format_period(d, freq) for d in phases["start"].to_list()[1:])
                                      + "."))
        _text(*found)
    with right:
        t = view.get("trend") or {"error": "not computed"}
        se = view.get("season") or {"error": "not computed"}
        shape = [_heading("Trend and seasonality")]
        if "error" in t:
            shape.append(_para(f"Long-term trend: not available ({literal(t['error'])})."))
        else:
            pct = t.get("pct_change")
            size = f", about {abs(pct):.0f}% over the period" if pct is not None and t["direction"] in ("rising", "falling") else ""
            if t["direction"] == "step" and t.get("step_start") is not None:
                # one shift in level fits better than a steady trend (spc.trend.step_or_line)
                shape.append(_para(f"<strong>Long-term trend</strong> (last {t.get('n')} points): <strong>a step "
                                   f"{'up' if (t.get('step_change') or 0) > 0 else 'down'} in "
                                   f"{plots.format_period(t['step_start'], freq)}</strong>, not a steady trend."))
            else:
                shape.append(_para(f"<strong>Long-term trend</strong> (last {t.get('n')} points): "
                                   f"<strong>{literal(t['direction'])}</strong>{size}."))
            detail = narrative.trend_detail(t)
            if detail:
                seasonal = str(t.get("trend_test") or "").startswith("Seasonal")
                how = ("Theil-Sen slope within each calendar month with the seasonal Kendall test (each month "
                       "compared with the same month in other years, as the months differ)" if seasonal else
                       "Theil-Sen slope with the Mann-Kendall test")
                shape.append(common.details_html(
                    "Analyst detail: the trend tests",
                    _para(f"{literal(detail)}. {how}, its variance widened for how each value follows the "
                          "last; a step in level is named instead when one step fits better than a line.")))
        if "error" not in se:
            if se.get("seasonal") is None:
                shape.append(_para(f"<strong>Seasonality</strong>: cannot tell "
                                   f"({literal(se.get('note') or 'not enough data')})."))
            else:
                if se["seasonal"]:
                    word = (f"a clear seasonal pattern, highest in {literal(se.get('peak_month'))} and lowest in "
                            f"{literal(se.get('trough_month'))}")
                else:
                    word = "no strong seasonal pattern"
                strength = se.get("seasonal_strength") or 0.0
                shape.append(_para(f"<strong>Seasonality</strong>: {word} (strength {strength:.2f} on a 0 to 1 "
                                   "scale). The control chart is not seasonally adjusted."))
        _text(*shape)
        # a model fit that takes seconds: offered under what it adds to, made only when asked for
        after = []
        if st.checkbox("Show the expected range (a few seconds)", key="opt_expected"):
            ex = expected_panel(path, key, ind_id, area, points)
            if "error" in ex:
                after.append(_para(f"Expected range: not available ({literal(ex['error'])})."))
            elif ex.get("lower") is not None:
                inside = "inside" if ex.get("within") else "outside"
                after.append(_para(f"<strong>Expected range</strong> for the latest point, given the trend and season: "
                                   f"{plots.format_value(ex['lower'], unit)} to "
                                   f"{plots.format_value(ex['upper'], unit)}; the latest value is {inside} it."))
        yoy = view.get("year_on_year") or {"error": "not computed"}
        after.append(_heading("This year against last year"))
        if "error" in yoy:
            after.append(_para(f"Not available ({literal(yoy['error'])})."))
        else:
            after += [_para(literal(yoy["sentence"])),
                      _caption(f"{yoy['current_start']:%b %Y} to {yoy['current_end']:%b %Y} against "
                               f"{yoy['previous_start']:%b %Y} to {yoy['previous_end']:%b %Y}. "
                               "'Beyond what chance gives' means the difference is larger than normal "
                               "year-to-year variation.")]
        _text(*after)

    interventions = view.get("interventions") or []
    judged = []  # gathered with the next heading into one block
    if interventions:
        judged.append(_heading("Did the intervention work?"))
        for item in interventions:
            judged.append(_para(f"<strong>{literal(item['heading'])}.</strong> {literal(item['verdict'])}"))
            if item["year_on_year"]:
                judged.append(_para(f"Against the same period the year before: {literal(item['year_on_year'])}"))
            if item["detail"]:
                judged.append(common.details_html(
                    "How this was judged (analyst detail)",
                    _para(literal(item["detail"]) + ". The prediction is the trend and season of the "
                          "three years before the intervention carried forward; the difference is judged "
                          "against what chance gives for a series that moves like this one.")))

    all_points = sd.points
    # the partnership areas side by side: not the force, and never national context
    local = same_force_areas(path, key, all_points, area)
    if local["area_code"].n_unique() > 1:
        judged = _text(*judged, _heading("Across the areas"))
        # below the fold and the page's largest chart: drawn when asked for, not on every view
        if st.toggle(f"Show the {local['area_code'].n_unique()} partnership areas side by side", key="opt_areas"):
            st.plotly_chart(figure(path, key, ind_id, area, "areas", look), width="stretch", key="small_multiples")

    _text(*judged, _heading("Data"))
    table = points.select(
        pl.col("period").alias("Period"), pl.col("value").alias("Value"),
        pl.col("numerator").alias("Numerator"), pl.col("denominator").alias("Denominator"),
        pl.col("phase").alias("Phase"), pl.col("centre").alias("Average"),
        pl.col("lower").alias("Lower limit"), pl.col("upper").alias("Upper limit"),
        pl.col("rule").alias("Rule"), pl.col("excluded").alias("Excluded"))
    if per_1000:
        from spc.population import with_rates

        rated = with_rates(points.select("area_code", "period", "value"), pops)
        table = table.insert_column(2, rated["rate"].round(3).alias("Per 1,000 residents")).insert_column(
            3, rated["population"].alias("Residents"))
    # a data grid is the heaviest element a browser draws here: drawn when asked for, not on every view
    if st.toggle("Show the data table", key="opt_table"):
        st.dataframe(table, hide_index=True, width="stretch")
    st.download_button("Download this series (CSV)", table.write_csv(), file_name=f"{ind_id}_{area}.csv",
                       mime="text/csv", key="download_series")
