"""Summary: what needs attention first, then every indicator on one screen.

The first screen (1366×768) names the concerns and new signals with one line of why each, the
Making Data Count summary matrix (variation icon × assurance icon, counts that filter the
table), how many latest-point signals chance alone would give, and how many indicators are
late. Below it: the table of every indicator (grouped by plan priority, or by what needs
attention first across all priorities), the police.uk outcome counts in one expandable block,
and, on the force's page, national figures as context of their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape
from urllib.parse import urlencode

import polars as pl
import streamlit as st

from spc import plots
from spc.chance import ChanceFigure, about, chance_figure
from spc.narrative import rule_words
from spc.text import literal
from spc.timeliness import GRAIN_MONTHS, data_age
from spc.ui import common
from spc.ui.data import Overview, overview, stamp
from spc.ui.indicator import not_offered

#: Area type of national figures (England and Wales): context for the force, never its own.
NATIONAL = "national"
#: How many indicators the first screen names before pointing to the table.
MAX_NAMED = 5

#: Variation icons of the matrix, in attention order: (variation, which way the values moved).
MATRIX_ROWS: tuple[tuple[str, str | None], ...] = (
    ("special_cause_concern", "high"), ("special_cause_concern", "low"),
    ("special_cause_neutral_high", "high"), ("special_cause_neutral_low", "low"),
    ("special_cause_improvement", "high"), ("special_cause_improvement", "low"),
    ("common_cause", None),
)
#: Assurance icons of the matrix ('none': no target), with short headings for its narrow columns.
MATRIX_COLUMNS: dict[str, str] = {"consistent_fail": "Will miss target", "inconsistent": "Hit or miss",
                                  "consistent_pass": "Will meet target", "none": "No target"}


def is_outcome(indicator_id: pl.Expr, name: pl.Expr) -> pl.Expr:
    """True for the police.uk outcome indicators (data/indicators.d/police_uk.toml)."""
    return indicator_id.str.starts_with("outcome_") | name.str.starts_with("Outcome:")


def today() -> dt.date:
    """The day late data is judged against (UTC)."""
    return dt.datetime.now(dt.timezone.utc).date()


def _attention() -> pl.Expr:
    # one order across every priority: a concern that will also miss its target, a concern, a
    # target that will be missed, a change with no better direction, a target that may be
    # missed, an improvement, normal variation
    v, a = pl.col("variation"), pl.col("assurance")
    concern, fail = v == "special_cause_concern", a == "consistent_fail"
    return (pl.when(concern & fail).then(0).when(concern).then(1).when(fail).then(2)
            .when(v.str.starts_with("special_cause_neutral")).then(3).when(a == "inconsistent").then(4)
            .when(v == "special_cause_improvement").then(5).otherwise(6).cast(pl.Int32))


def _direction() -> pl.Expr:
    """Which way the latest point moved: 'high', 'low', or null for normal variation."""
    v, better_high = pl.col("variation"), pl.col("improvement") != "decrease"
    return (pl.when(v == "special_cause_neutral_high").then(pl.lit("high"))
            .when(v == "special_cause_neutral_low").then(pl.lit("low"))
            .when(v == "special_cause_improvement").then(pl.when(better_high).then(pl.lit("high")).otherwise(pl.lit("low")))
            .when(v == "special_cause_concern").then(pl.when(better_high).then(pl.lit("low")).otherwise(pl.lit("high")))
            .otherwise(pl.lit(None, pl.String)))


def summary_rows(ov: Overview, area_code: str, priorities: list[str] | None = None,
                 attention_first: bool = False, on: dt.date | None = None) -> pl.DataFrame:
    """The summary rows for one area: one per indicator, with sparkline values, change markers,
    the attention rank, the outcome flag and whether the data is late on `on` (default today).

    `attention_first` orders by what needs attention across every priority (concerns first,
    then a target that will not be met, ...; a new signal, then plan order, breaks ties);
    otherwise priorities keep catalogue order and indicators plan order within each.
    """
    rows = ov.summary.filter(pl.col("area_code") == area_code)
    if priorities:
        rows = rows.filter(pl.col("priority").is_in(priorities))
    spark = ov.spark.group_by("indicator_id", "area_code").agg(
        spark_values=pl.col("value"), spark_types=pl.col("point_type"), spark_periods=pl.col("period"))
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
    order = ov.indicators.group_by("priority", maintain_order=True).agg(p_order=pl.col("sort_order").min())
    day = on or today()
    ages = [data_age(p, f, day, indicator_id=i) if p is not None else None
            for p, f, i in zip(rows["latest_period"].to_list(), rows["frequency"].to_list(),
                               rows["indicator_id"].to_list())]
    rows = rows.join(order, on="priority", how="left").with_columns(
        attention=_attention(), direction=_direction(),
        outcome=is_outcome(pl.col("indicator_id"), pl.col("name")),
        is_new=(pl.col("change") == "new").fill_null(False),
        late=pl.Series([bool(a and a.late) for a in ages], dtype=pl.Boolean),
        age_text=pl.Series([a.text() if a else "" for a in ages], dtype=pl.String))
    keys = (["attention", pl.col("is_new").not_(), "p_order", "sort_order"] if attention_first
            else ["p_order", "sort_order"])
    return rows.sort(keys)


def _link(indicator_id: str, area_code: str, text: str, force: str | None = None) -> str:
    """A link to the Indicator page of one series (with the force, in a store of many)."""
    query = urlencode({"page": "indicator", "indicator": indicator_id, "area": area_code,
                       **({"force": force} if force else {})})
    return f'<a href="?{query}" target="_self">{literal(text)}</a>'


def summary_link(area_code: str, force: str | None = None, **filters: str) -> str:
    """The address of the Summary for an area, filtered to one cell of the matrix (with the
    force, in a store of many)."""
    return "?" + urlencode({"page": "summary", "area": area_code, **({"force": force} if force else {}), **filters})


def _when(r: dict) -> str:
    """When the latest point's kind began: 'in Oct 2026' or 'since May 2026 (6 months)'."""
    freq, start, latest = r["frequency"], r.get("run_start"), r["latest_period"]
    if start is None or start >= latest:
        return f"in {plots.format_period(latest, freq)}"
    # the span in the indicator's own periods (a run may hold a missing period, so not its points)
    if freq == "week":
        n = (latest - start).days // 7 + 1
    else:
        n = ((latest.year - start.year) * 12 + latest.month - start.month) // GRAIN_MONTHS.get(freq, 1) + 1
    word = {"month": "months", "quarter": "quarters", "year": "years", "week": "weeks"}.get(freq, "periods")
    return f"since {plots.format_period(start, freq)} ({n} {word})"


def why_line(r: dict) -> str:
    """One line of why, in plain words: the rule, when it happened and the latest value."""
    parts = []
    if r["variation"] and r["variation"] != "common_cause":
        rule = r.get("latest_rule")
        parts.append(f"{rule_words(rule)}, {_when(r)}" if rule else f"beyond normal variation {_when(r)}")
    if r.get("assurance") == "consistent_fail":
        parts.append("the target will not be met unless the process changes")
    parts.append(f"latest {plots.format_value(r['latest_value'], r['unit'])} "
                 f"({plots.format_period(r['latest_period'], r['frequency'])})")
    return "; ".join(parts)


def _kind(r: dict) -> str:
    """What an attention item is, in two or three words."""
    if r["variation"] and r["variation"] != "common_cause":
        return plots.variation_label(r["variation"]).lower()
    return plots.assurance_label(r["assurance"]).lower()


def attention_items(rows: pl.DataFrame) -> pl.DataFrame:
    """What the first screen names: concerns, new signals and targets that will not be met,
    most pressing first."""
    chosen = rows.filter((pl.col("attention") <= 2) | pl.col("is_new"))
    return chosen.sort("attention", pl.col("is_new").not_(), "p_order", "sort_order")


def attention_html(items: pl.DataFrame, force: str | None = None) -> str:
    """The named list: each indicator a link to its page, with one line of why."""
    out = ['<div class="spc-attention"><div class="spc-h">Needs attention</div>']
    if items.is_empty():
        out.append('<div class="spc-calm">No concerns, no new signals and no target that will not be met.</div>')
    else:
        out.append("<ul>")
        for r in items.head(MAX_NAMED).iter_rows(named=True):
            icon = plots.variation_icon_svg(r["variation"], r["improvement"], 22) if r["variation"] != "common_cause" \
                else plots.assurance_icon_svg(r["assurance"], 22)
            badges = (' <span class="spc-new">NEW</span>' if r["is_new"] else "") + \
                (' <span class="spc-late">late</span>' if r["late"] else "") + \
                (f' <span {_CARE}>read with care</span>'
                 if r.get("autocorrelated") and r.get("chart") != "xmr_ar1" else "")
            out.append(f'<li>{icon} {_link(r["indicator_id"], r["area_code"], r["name"], force)} '
                       f'<span class="spc-kind">{literal(_kind(r))}</span>{badges}'
                       f'<span class="spc-why">{literal(why_line(r))}</span></li>')
        out.append("</ul>")
        if items.height > MAX_NAMED:
            out.append(f'<p class="spc-small">and {items.height - MAX_NAMED} more: choose '
                       "<b>Needs attention first</b> below.</p>")
    out.append("</div>")
    return "".join(out)


def late_html(late: pl.DataFrame, force: str | None = None) -> str:
    """The late indicators, named, each with how old its latest figure is."""
    if late.is_empty():
        return '<p class="spc-small">No late data: every latest figure is as recent as expected.</p>'
    items = "".join(f'<li>{_link(r["indicator_id"], r["area_code"], r["name"], force)}: '
                    f'{literal(r["age_text"])}</li>' for r in late.head(MAX_NAMED).iter_rows(named=True))
    more = f"<li>and {late.height - MAX_NAMED} more, marked Late in the table</li>" if late.height > MAX_NAMED else ""
    return (f'<div class="spc-late-list"><span class="spc-late">{late.height} late</span> '
            f'a newer figure is due:<ul>{items}{more}</ul></div>')


def matrix_counts(rows: pl.DataFrame) -> dict[tuple[str, str | None, str], int]:
    """Indicators per (variation, direction, assurance) cell of the summary matrix."""
    counts = rows.with_columns(assurance=pl.col("assurance").fill_null("none")).group_by(
        "variation", "direction", "assurance").len()
    return {(r["variation"], r["direction"], r["assurance"]): r["len"] for r in counts.iter_rows(named=True)}


def _row_icon(variation: str, direction: str | None) -> str:
    # the icon's H or L follows the direction; an 'increase' improvement points up
    if variation == "special_cause_improvement":
        improvement = "increase" if direction == "high" else "decrease"
    elif variation == "special_cause_concern":
        improvement = "decrease" if direction == "high" else "increase"
    else:
        improvement = None
    return plots.variation_icon_svg(variation, improvement, 20)


def matrix_html(rows: pl.DataFrame, area_code: str, force: str | None = None) -> str:
    """The Making Data Count summary matrix: variation icons down, assurance icons across; each
    count links to the Summary filtered to those indicators. Rows with no indicator are left out
    (normal variation always shows)."""
    counts = matrix_counts(rows)
    head = "".join(
        f'<th title="{literal(plots.assurance_label(None if a == "none" else a))}">'
        f'{plots.assurance_icon_svg(None if a == "none" else a, 20)}<br><span>{literal(words)}</span></th>'
        for a, words in MATRIX_COLUMNS.items())
    out = ['<div class="spc-h">Variation and assurance</div>'
           f'<table class="spc-matrix"><thead><tr><th></th>{head}<th>All</th></tr></thead><tbody>']
    for variation, direction in MATRIX_ROWS:
        cells = [counts.get((variation, direction, a), 0) for a in MATRIX_COLUMNS]
        if not sum(cells) and variation != "common_cause":
            continue
        label = plots.variation_label(variation) + (f" ({'higher' if direction == 'high' else 'lower'})"
                                                    if direction and not variation.startswith("special_cause_neutral") else "")
        filt = {"variation": variation, **({"direction": direction} if direction else {})}
        tds = "".join(
            f'<td><a href="{literal(summary_link(area_code, force, **filt, assurance=a))}" target="_self" '
            f'title="{n} indicator{"s" if n != 1 else ""}: {literal(label)}, '
            f'{literal(plots.assurance_label(None if a == "none" else a).lower())}">{n}</a></td>'
            if n else '<td class="spc-zero">·</td>' for a, n in zip(MATRIX_COLUMNS, cells))
        total = sum(cells)
        out.append(f'<tr><th scope="row">{_row_icon(variation, direction)}<span>{literal(label)}</span></th>'
                   f'{tds}<td class="spc-total"><a href="{literal(summary_link(area_code, force, **filt))}" '
                   f'target="_self">{total}</a></td></tr>')
    out.append("</tbody></table>")
    return "".join(out)


def filter_rows(rows: pl.DataFrame, variation: str | None, direction: str | None,
                assurance: str | None) -> pl.DataFrame:
    """The rows of one matrix cell (or row, when `assurance` is None)."""
    if variation:
        rows = rows.filter(pl.col("variation") == variation)
    if direction:
        rows = rows.filter(pl.col("direction") == direction)
    if assurance:
        rows = rows.filter(pl.col("assurance").fill_null("none") == assurance)
    return rows


#: the "read with care" badge (each figure close to the one before: limits too narrow); drawn by
#: the class spc-care of spc.ui.common.CSS
_CARE = 'class="spc-care"'


def dependence_marker(r: dict) -> str:
    """The Summary's mark on a series whose figures tend to be close to the one before
    (spc.autocorrelation): 'Read with care' with the reason, or, where an analyst chose limits
    that allow for it, says so. '' for every other series."""
    if not r.get("autocorrelated"):
        return ""
    period = r.get("frequency") or "month"
    if r.get("chart") == "xmr_ar1":
        return (f'<br><span class="spc-small">limits allow for {literal(period)}-to-{literal(period)} '
                "dependence</span>")
    return (f'<br><span {_CARE}>Read with care</span> <span class="spc-small">each '
            f"{literal(period)} tends to be close to the one before, so some signals may be the series' own memory</span>")


def _icon_with_label(svg: str, label: str) -> str:
    """An icon and its words side by side (as `plots.icon_with_label`, in fewer elements: the
    class spc-il of spc.ui.common.CSS lays them out)."""
    return f'<span class="spc-il">{svg}{escape(label)}</span>'


def summary_table_html(rows: pl.DataFrame, *, links: bool = True, sparklines: bool = True,
                       grouped: bool = True, force: str | None = None) -> str:
    """The summary as one HTML table (icons are inline SVG with words).

    `grouped`: a heading row per plan priority (plan order); otherwise the priority is shown
    under each name (for an order across priorities).
    """
    head = ["Indicator", "Latest"] + (["Last 24 points"] if sparklines else []) + \
        ["Variation", "Assurance", "Status"]
    widths = ["23%", "10%"] + (["14%"] if sparklines else []) + ["14%", "14%", "25%"]
    out = ['<table class="spc-summary"><colgroup>' + "".join(f'<col style="width:{w}">' for w in widths)
           + '</colgroup><thead><tr>' + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"]
    current = None
    for r in rows.iter_rows(named=True):
        if grouped and r["priority"] != current:
            current = r["priority"]
            out.append(f'<tr class="spc-priority"><td colspan="{len(head)}">{literal(current)}</td></tr>')
        name = _link(r["indicator_id"], r["area_code"], r["name"], force) if links else literal(r["name"])
        marker = ""
        if r.get("change") == "new":
            what = plots.VARIATION_LABELS.get(r.get("change_type") or "", "signal").lower()
            marker = (f' <span class="spc-new" title="{literal(r.get("change_rule") or "")}">'
                      f"NEW since last refresh: {literal(what)}</span>")
        elif r.get("change") == "ended":
            marker = ' <span class="spc-ended">signal ended since last refresh</span>'
        elif r.get("change") == "withdrawn":
            marker = ' <span class="spc-ended">signal withdrawn (data or settings changed)</span>'
        if r.get("late"):
            marker += f'<br><span class="spc-late">Late</span> <span class="spc-small">' \
                      f'{literal(r.get("age_text") or "")}</span>'
        marker += dependence_marker(r)
        if not grouped:
            marker += f'<br><span class="spc-small">{literal(r["priority"])}</span>'
        cells = [
            f"{name}{marker}",
            f'{plots.format_value(r["latest_value"], r["unit"])}<br><span class="spc-small">'
            f'{plots.format_period(r["latest_period"], r["frequency"])}</span>',
        ]
        if sparklines:
            # with the periods, the line breaks at missing periods instead of joining across them
            cells.append(plots.sparkline_svg(r.get("spark_values") or [], r.get("spark_types"), width=140,
                                             periods=r.get("spark_periods"), frequency=r.get("frequency")))
        cells += [
            _icon_with_label(plots.variation_icon_svg(r["variation"], r["improvement"], 32),
                             plots.variation_label(r["variation"])),
            _icon_with_label(plots.assurance_icon_svg(r["assurance"], 32), plots.assurance_label(r["assurance"])),
            f'<span class="spc-status">{literal(r.get("status") or "")}</span>',
        ]
        classes = ["", "num", "", "", "", ""] if sparklines else ["", "num", "", "", ""]
        out.append("<tr>" + "".join(f'<td class="{c}">{v}</td>' if c else f"<td>{v}</td>"
                                    for c, v in zip(classes, cells)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


@dataclass(frozen=True)
class SummaryView:
    """Everything the Summary shows for one area and set of filters."""

    rows: pl.DataFrame         # the area's own indicators (outcomes included), in the chosen order
    main: pl.DataFrame         # the main table: not outcomes, after the matrix filter
    outcomes: pl.DataFrame     # police.uk outcome indicators, after the matrix filter
    attention: pl.DataFrame    # named on the first screen
    late: pl.DataFrame         # the area's indicators whose data is late
    series: pl.DataFrame       # `rows` with each series' rule options, for spc.chance
    national: dict[str, pl.DataFrame]  # national area name -> its rows (force page only)


def summary_view(ov: Overview, area: str, priorities: list[str] | None = None, *, attention_first: bool = False,
                 variation: str | None = None, direction: str | None = None, assurance: str | None = None,
                 on: dt.date | None = None) -> SummaryView:
    """The Summary's content for `area`: own figures, never national ones, and the national
    context when `area` is the force."""
    rows = summary_rows(ov, area, priorities, attention_first, on)
    shown = filter_rows(rows, variation, direction, assurance)
    series = rows.join(ov.options, on=["indicator_id", "area_code"], how="left")
    national: dict[str, pl.DataFrame] = {}
    is_force = ov.areas.filter(pl.col("code") == area)["type"].to_list() == ["force"]
    if is_force:
        for r in ov.areas.filter(pl.col("type") == NATIONAL).iter_rows(named=True):
            context = summary_rows(ov, r["code"], priorities, attention_first, on)
            if context.height:
                national[r["name"]] = context
    return SummaryView(rows=rows, main=shown.filter(~pl.col("outcome")), outcomes=shown.filter(pl.col("outcome")),
                       attention=attention_items(rows), late=rows.filter(pl.col("late")),
                       series=series, national=national)


@st.cache_data(show_spinner=False, max_entries=64)
def summary_parts(path: str, key: tuple[int, int] | None, area: str, priorities: tuple[str, ...] | None,
                  attention_first: bool, variation: str | None, direction: str | None, assurance: str | None,
                  on: dt.date, force: str | None = None) -> tuple[SummaryView, dict]:
    """The Summary's view and its parts as HTML for `st.html` (icons and sparklines as images):
    the tables ('main', 'outcomes', and 'national:NAME' for each national area), the first
    screen's 'attention' list, 'matrix', 'late' list and 'chance' line, and the 'css' that draws
    their icons and sparklines. Made once per data version, force,
    choice and day: the tables' sparklines take a while to draw, and a view (or another visitor)
    only reads them."""
    ov = overview(path, key, force)
    view = summary_view(ov, area, list(priorities) if priorities else None,
                        attention_first=attention_first, variation=variation, direction=direction,
                        assurance=assurance, on=on)
    link = ov.force_param
    parts = {"main": summary_table_html(view.main, grouped=not attention_first, force=link),
             "outcomes": summary_table_html(view.outcomes, grouped=False, force=link),
             "attention": attention_html(view.attention, link),
             "matrix": matrix_html(view.rows, area, link),
             "late": late_html(view.late, link)}
    parts.update({f"national:{name}": summary_table_html(context, grouped=False, sparklines=False, force=link)
                  for name, context in view.national.items()})
    parts, css = common.svg_as_images(parts)
    parts["css"] = f"<style>{css}</style>"
    parts["chance"] = chance_html(chance_figure(view.series))
    return view, parts


def headline(view: SummaryView, area_name: str) -> str:
    """'<b>64 indicators</b> for City of London Police: <b>4 of concern</b>, ...' (HTML)."""
    rows = view.rows
    counts = rows["variation"].value_counts()
    n = dict(zip(counts["variation"].to_list(), counts["count"].to_list()))
    changed = n.get("special_cause_neutral_high", 0) + n.get("special_cause_neutral_low", 0)
    fail = rows.filter(pl.col("assurance") == "consistent_fail").height
    text = (f"<b>{rows.height} indicators</b> for {literal(area_name)}: "
            f"<b>{n.get('special_cause_concern', 0)} of concern</b>, {n.get('special_cause_improvement', 0)} improving, "
            f"{changed} changed (no better direction), {n.get('common_cause', 0)} within normal variation")
    if fail:
        text += f"; <b>{fail} will not meet {'their targets' if fail != 1 else 'its target'}</b>"
    late = view.late.height
    return text + (f"; <b>{late} late</b> (a newer figure is due)." if late else "; none late.")


def _areas(ov: Overview) -> pl.DataFrame:
    """The areas with figures of their own: the force first, never a national area."""
    return ov.areas.filter(pl.col("type") != NATIONAL).sort(
        pl.col("type") != "force", maintain_order=True)


def _matrix_filter() -> tuple[str | None, str | None, str | None]:
    """The matrix cell chosen (from a count's link, via the address), ignoring unknown values."""
    state = st.session_state
    variation = state.get("summary_variation")
    direction = state.get("summary_direction")
    assurance = state.get("summary_assurance")
    return (variation if variation in plots.VARIATION_LABELS else None,
            direction if direction in ("high", "low") else None,
            assurance if assurance in MATRIX_COLUMNS else None)


def _clear_matrix_filter() -> None:
    for key in ("summary_variation", "summary_direction", "summary_assurance"):
        st.session_state.pop(key, None)
    for key in ("variation", "direction", "assurance"):
        st.query_params.pop(key, None)


def render(ov: Overview, path: str) -> None:
    """The summary page.

    Drawn in a few `st.html` blocks (no markdown renderer: the tables are 100 kB of HTML) around
    the widgets: the headline; the first screen (what needs attention, the chance line, the
    matrix, the late list and the refresh line); then the main table; the police.uk outcomes in
    an expander whose table is drawn when it is opened; and the help (a native <details>)."""
    st.title("Indicator summary")
    common.notices(ov)
    areas = _areas(ov)
    codes = areas["code"].to_list()
    names = dict(zip(codes, areas["name"].to_list()))
    wanted = st.session_state.get("summary_area")
    if wanted is not None and wanted not in codes:  # an address naming an unknown area
        not_offered("area", str(wanted), ov.areas, "code", [names[c] for c in codes], "has no summary of its own")
        st.session_state.pop("summary_area", None)
    variation, direction, assurance = _matrix_filter()

    top_left, top_right = st.columns([3, 7])
    with top_left:
        area = st.selectbox("Area", codes, format_func=names.get, key="summary_area")
    sort = st.session_state.get("summary_sort", "Plan order")
    chosen = st.session_state.get("summary_priorities") or None
    view, parts = summary_parts(path, stamp(path), area, tuple(chosen) if chosen else None,
                                sort == "Needs attention first", variation, direction, assurance, today(),
                                ov.force)
    with top_right:
        st.html(f'<div class="spc-md"><p>{headline(view, names.get(area, area))}</p></div>')

    chance = f'<div class="spc-chance">{parts["chance"]}</div>' if parts["chance"] else ""
    st.html(parts["css"] + '<div class="spc-md"><div class="spc-first">'
            f'<div>{parts["attention"]}{chance}</div>'
            f'<div>{parts["matrix"]}{parts["late"]}</div></div>'
            f"<p>{refresh_html(ov, area, names)}</p></div>")

    c2, c3 = st.columns([3, 2])
    with c2:
        priorities = ov.indicators["priority"].unique(maintain_order=True).to_list()
        st.multiselect("Plan priorities", priorities, key="summary_priorities",
                       placeholder="All priorities")
    with c3:
        st.radio("Order", ["Plan order", "Needs attention first"], key="summary_sort", horizontal=True)
    if variation or assurance:
        what = ", ".join(filter(None, [
            plots.variation_label(variation) + (f" ({direction}er)" if direction and variation
                                                and not variation.startswith("special_cause_neutral") else "")
            if variation else None,
            plots.assurance_label(None if assurance == "none" else assurance).lower() if assurance else None]))
        st.markdown(f"Showing **{view.main.height + view.outcomes.height}** indicators: {literal(what)}.")
        st.button("Show every indicator", on_click=_clear_matrix_filter, key="summary_clear")
    if view.rows.is_empty():
        st.info(f"No indicators are reported for {literal(names.get(area, area))} with these filters.")
    tables, rest = body_html(ov, view, parts, area, codes)
    if tables:
        st.html(tables)
    if not view.rows.is_empty() and view.outcomes.height:
        changed = view.outcomes.filter(pl.col("variation") != "common_cause").height
        # drawn when opened (a rerun): 28 rows of table that a first view does not show
        with st.expander(f"Crime outcomes (police.uk): {view.outcomes.height} outcome types, "
                         f"{changed} beyond normal variation", key="summary_outcomes", on_change="rerun") as box:
            if box.open:
                st.html('<div class="spc-md spc-body">' + _caption(
                    "How many crimes had each outcome recorded in the month (police.uk outcomes data, "
                    "force-wide). A rise or fall is neither better nor worse in itself.") + parts["outcomes"] + "</div>")
    st.html(rest)


def _caption(text: str) -> str:
    return f'<p class="spc-caption">{text}</p>'


def body_html(ov: Overview, view: SummaryView, parts: dict, area: str, codes: list[str]) -> tuple[str, str]:
    """Everything below the choices but the police.uk outcomes (an expander of their own between
    the two), as two HTML blocks: the main table; then national context, what has no data and
    'How to read this page' (closed)."""
    tables = ""
    if not view.rows.is_empty():
        tables = _caption("Click an indicator for its chart. <strong>Special cause</strong> = a change beyond normal "
                          "variation (unlikely to be chance). See 'How to read this page' at the bottom.")
        if view.main.height:
            tables += parts["main"]
        tables = f'<div class="spc-md spc-body">{tables}</div>'
    out = []
    for name in view.national:
        out.append(f"<h4>{literal(name)} (national context)</h4>")
        out.append(_caption(f"National figures for {literal(name)}, shown beside the force's own for context. "
                            "They are not the force's figures and are not counted above."))
        out.append(parts[f"national:{name}"])
    no_results = ov.indicators.filter(~pl.col("id").is_in(ov.summary["indicator_id"].unique().to_list()))
    if no_results.height:
        out.append(_caption(f"{no_results.height} indicators in the catalogue have no data loaded yet: "
                            + ", ".join(literal(n) for n in no_results["name"].to_list()) + ". See the Data page."))
    local_only = ov.indicators.filter(~pl.col("local")).height
    if area != codes[0] and local_only:
        out.append(_caption(f"{local_only} indicators are reported force-wide only and are not shown for a single area."))
    out.append(common.details_html("How to read this page", "".join(
        common.markdown_html(text) for text in (common.SPECIAL_CAUSE_HELP, common.ASSURANCE_HELP, CHANCE_HELP))))
    return tables, '<div class="spc-md spc-body">' + "".join(out) + "</div>"


CHANCE_HELP = (
    "**Chance alone.** Each rule has a small chance of flagging a point when nothing has changed. "
    "Across many series a few such signals are expected: with the Making Data Count rules, about 2 "
    "in 100 series show special cause at their latest point by chance alone. So a count of concerns "
    "near the 'expected by chance' figure is a reason to look at each one, not evidence that "
    "performance as a whole has changed."
)


def chance_html(c: ChanceFigure) -> str:
    """The chance sentence as HTML: '4 concerns among 64 series; about 0.2 would be expected by chance alone'."""
    if not c.n_series:
        return ""
    return (f"<b>{c.concerns} concern{'s' if c.concerns != 1 else ''} among {c.n_series} series; about "
            f"{about(c.expected_concerns)} would be expected by chance alone</b> ({c.signals} signal"
            f"{'s' if c.signals != 1 else ''} of any kind against about {about(c.expected_signals)} by chance; "
            f"{literal('; '.join(c.rule_options))}).")


def refresh_html(ov: Overview, area: str, names: dict[str, str]) -> str:
    """When results were computed and how many new signals the last refresh found (HTML)."""
    last = ov.last_refresh
    new = ov.changes.filter(pl.col("change") == "new") if ov.changes.height else ov.changes
    n_new, n_here = new.height, (new.filter(pl.col("area_code") == area).height if new.height else 0)
    when = common.fmt_time(last.get("finished_at") or last.get("started_at")) if last else None
    # in a store of many forces, the counts are the chosen force's (its areas and national context)
    where = f"the areas of {literal(ov.force_name or '')}" if ov.many_forces else "all areas"
    # an import or an analyst's change recomputes results without a run of its own: say so,
    # rather than date the results by the run before it
    newest = ov.freshness.get("newest_result")
    ran = last and (last.get("finished_at") or last.get("started_at"))
    since = (f" Results were recomputed since, <strong>{common.fmt_time(newest)}</strong>, after an import or "
             "an analyst's change; what that changed is not marked." if ran and newest and newest > ran else "")
    if last and ov.compared:
        return (f"Last refresh <strong>{when}</strong> ({literal(str(last.get('trigger')))}, "
                f"{literal(str(last.get('status')))}). Since the refresh before it: "
                f"<strong>{n_new}</strong> new signal{'s' if n_new != 1 else ''} beyond normal variation across {where}, "
                f"<strong>{n_here}</strong> for {literal(names.get(area, area))}, marked <strong>NEW</strong> below."
                + since)
    if last and since:
        return (f"Results computed <strong>{common.fmt_time(newest)}</strong>, after an import or an analyst's "
                f"change; the first run ({literal(str(last.get('trigger')))}) was {when}. There is no earlier "
                "refresh to compare with, so nothing is marked as changed.")
    if last:
        return (f"Results computed <strong>{when}</strong> ({literal(str(last.get('trigger')))}). This is the first run, "
                "so there is no earlier refresh to compare with and nothing is marked as changed.")
    return (f"Results computed <strong>{common.fmt_time(ov.freshness.get('newest_result'))}</strong>. "
            "No refresh has run yet, so nothing is marked as changed.")
