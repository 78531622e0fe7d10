"""Figures and icons shared by the app and the briefing pack.

Colours and icons follow NHS England's Making Data Count (MDC): common cause grey, improvement
blue, concern orange, neutral purple. Every icon carries a text label too, so meaning never
rests on colour alone (accessibility, and black-and-white printing).

Inputs are the stored result frames (`result_point`, `result_phase`, `result_summary` columns,
as polars frames); nothing here touches the database.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from spc.text import literal
from spc.timeliness import gaps, infer_frequency, shift_periods

#: MDC colours (as NHSRplotthedots uses them).
GREY = "#7B7D7D"
BLUE = "#289DE0"
ORANGE = "#FAB428"
PURPLE = "#361475"
LIMIT = "#6B6B6B"
TARGET = "#B22222"

POINT_COLOURS: dict[str, str] = {
    "common_cause": GREY,
    "special_cause_improvement": BLUE,
    "special_cause_concern": ORANGE,
    "special_cause_neutral_high": PURPLE,
    "special_cause_neutral_low": PURPLE,
}

#: Plain-English names of the point types (what a commissioner reads in a legend).
POINT_LABELS: dict[str, str] = {
    "common_cause": "Normal variation",
    "special_cause_improvement": "Improvement (beyond normal variation)",
    "special_cause_concern": "Concern (beyond normal variation)",
    "special_cause_neutral_high": "Change upwards (beyond normal variation)",
    "special_cause_neutral_low": "Change downwards (beyond normal variation)",
}

#: Short labels for the variation icon.
VARIATION_LABELS: dict[str, str] = {
    "common_cause": "Normal variation",
    "special_cause_improvement": "Improving",
    "special_cause_concern": "Concern",
    "special_cause_neutral_high": "Higher than usual",
    "special_cause_neutral_low": "Lower than usual",
}

ASSURANCE_LABELS: dict[str | None, str] = {
    "consistent_pass": "Will meet target",
    "consistent_fail": "Will not meet target",
    "inconsistent": "May or may not meet target",
    None: "No target",
}

ASSURANCE_COLOURS: dict[str | None, str] = {
    "consistent_pass": BLUE,
    "consistent_fail": ORANGE,
    "inconsistent": GREY,
    None: "#D0D0D0",
}

#: Order for "needs attention" sorting: concern first, then change, then improvement, then calm.
ATTENTION_ORDER: dict[str | None, int] = {
    "special_cause_concern": 0,
    "special_cause_neutral_high": 1,
    "special_cause_neutral_low": 1,
    "special_cause_improvement": 2,
    "common_cause": 3,
    None: 4,
}

#: Words for the annotation kinds stored by analysts.
ANNOTATION_KINDS: dict[str, str] = {
    "recalculate": "Limits recalculated",
    "exclude": "Point excluded from the limits",
    "intervention": "Intervention",
    "note": "Note",
}

_FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"


# --------------------------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------------------------


def format_value(value: float | None, unit: str) -> str:
    """A value as people read it: 87.3% (proportions are stored as fractions), 1,024, 9.4 min."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if unit == "%":
        return f"{value * 100:.1f}%"
    if unit == "count":
        return f"{value:,.0f}"
    if unit in ("seconds", "s"):
        return f"{value:.1f} s"
    if unit == "minutes":
        return f"{value:.2f} min"
    if abs(value) >= 100:
        return f"{value:,.0f} {unit}".strip()
    return f"{value:.3g} {unit}".strip()


def axis_scale(unit: str) -> float:
    """Multiplier from stored values to the plotted axis (fractions are plotted as percent)."""
    return 100.0 if unit == "%" else 1.0


def format_period(period: dt.date | None, frequency: str = "month") -> str:
    """'Mar 2024' for months, 'Jan–Mar 2024' for quarters (the months it covers, so a
    financial-year quarter reads as plainly as a calendar one), '2023/24' for financial years
    (starting in April), '2024' for calendar years, 'week of 4 Mar 2024' for weeks."""
    if period is None:
        return "–"
    if frequency == "quarter":
        end = dt.date(period.year + (period.month + 1) // 12, (period.month + 1) % 12 + 1, 1)
        return f"{period:%b}–{end:%b %Y}"
    if frequency == "year":
        return f"{period.year}/{(period.year + 1) % 100:02d}" if period.month == 4 else str(period.year)
    if frequency == "week":
        return f"week of {period.day} {period:%b %Y}"
    return f"{period:%b %Y}"


def period_word(frequency: str, n: int = 1) -> str:
    """'month', 'quarters', ...: the word for `n` periods of `frequency` ('period' if unknown)."""
    word = frequency if frequency in ("week", "month", "quarter", "year") else "period"
    return word if n == 1 else word + "s"


def gap_spans(periods: Sequence[dt.date] | pl.Series, frequency: str | None = None) -> pl.DataFrame:
    """The gaps in one series' periods (`spc.timeliness.gaps`, the one rule for gaps), with the
    periods of the figures either side: columns before, first_missing, last_missing, after,
    n_missing and `text` ('58 months missing: Mar 2019 to Dec 2023'). `frequency` None:
    inferred from the periods (see `infer_frequency`)."""
    frequency = frequency or infer_frequency(periods)
    frame = pl.DataFrame({"period": pl.Series(list(periods), dtype=pl.Date)})
    found = gaps(frame, frequency, key=())
    found = found.with_columns(
        before=shift_periods(pl.col("first_missing"), pl.lit(-1), frequency),
        after=shift_periods(pl.col("last_missing"), pl.lit(1), frequency))
    texts = []
    for g in found.iter_rows(named=True):
        n = g["n_missing"]
        span = format_period(g["first_missing"], frequency)
        if n > 1:
            span += f" to {format_period(g['last_missing'], frequency)}"
        texts.append(f"{n} {period_word(frequency, n)} missing: {span}")
    return found.select("before", "first_missing", "last_missing", "after", "n_missing").with_columns(
        pl.Series("text", texts, dtype=pl.String))


def _broken(x: list, y: list, spans: pl.DataFrame) -> tuple[list, list]:
    """`x`, `y` (sorted by x) with a None inserted at each gap, so plotly breaks the line there
    instead of joining the figures either side of missing periods."""
    if spans.is_empty() or not x:
        return x, y
    starts = sorted(spans["first_missing"].to_list())
    out_x: list = []
    out_y: list = []
    k = 0
    for xi, yi in zip(x, y):
        while k < len(starts) and xi is not None and xi > starts[k]:
            if out_x and out_x[-1] is not None:
                out_x.append(starts[k])
                out_y.append(None)
            k += 1
        out_x.append(xi)
        out_y.append(yi)
    return out_x, out_y


def _shade_gaps(fig: go.Figure, spans: pl.DataFrame, font_size: int, *, row: int | None = None,
                col: int | None = None, label: bool = True) -> None:
    """A pale band over each gap, labelled with how many periods are missing and which."""
    kwargs = {"row": row, "col": col} if row is not None else {}
    for g in spans.iter_rows(named=True):
        fig.add_vrect(x0=g["before"], x1=g["after"], fillcolor="#E6E6E6", opacity=0.6, layer="below",
                      line_width=0, **kwargs)
        if label:  # added on its own: plotly cannot place a vrect's own label on date axes
            middle = g["before"] + (g["after"] - g["before"]) / 2
            fig.add_annotation(x=middle, y=0.98, yref="paper", yanchor="top", showarrow=False,
                               text="No data<br>" + g["text"].replace(": ", ":<br>"),
                               font={"size": font_size, "color": "#444444"}, bgcolor="rgba(255,255,255,0.7)")


def hover_rule_text(rule: str | None, point_type: str | None) -> str:
    """What a point's tooltip says about it, in plain words: 'Normal variation', or
    'Concern: a run of 7 points below the average (a shift)' (rule words from spc.narrative)."""
    from spc.narrative import rule_words  # one wording of the rules, shared with the narrative

    if not point_type or point_type == "common_cause" or not rule or rule == "Common Cause":
        return VARIATION_LABELS["common_cause"]
    return f"{VARIATION_LABELS.get(point_type, 'Change')}: {rule_words(rule)}"


# --------------------------------------------------------------------------------------------
# icons (small inline SVGs with a text label)
# --------------------------------------------------------------------------------------------


def _svg_circle(colour: str, inner: str, title: str, size: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 40 40" '
        f'role="img" aria-label="{html.escape(title)}"><title>{html.escape(title)}</title>'
        f'<circle cx="20" cy="20" r="18" fill="white" stroke="{colour}" stroke-width="4"/>{inner}</svg>'
    )


def _letter_and_arrow(colour: str, letter: str, up: bool) -> str:
    arrow = "30,6 36,14 24,14" if up else "30,34 36,26 24,26"
    return (f'<text x="18" y="27" text-anchor="middle" font-family="Arial, sans-serif" font-size="19" '
            f'font-weight="bold" fill="{colour}">{letter}</text><polygon points="{arrow}" fill="{colour}"/>')


def variation_icon_svg(variation: str | None, improvement: str | None = None, size: int = 40) -> str:
    """The MDC variation icon as an SVG.

    A grey wave for normal variation; for a change beyond normal variation, blue (improvement),
    orange (concern) or purple (neutral) with H or L and an arrow saying which way the values
    moved. For a "decrease is better" indicator an improvement is L, a concern is H.
    """
    variation = variation or "common_cause"
    colour = POINT_COLOURS.get(variation, GREY)
    title = VARIATION_LABELS.get(variation, variation)
    if variation == "common_cause" or variation not in POINT_COLOURS:
        inner = (f'<polyline points="8,22 13,16 18,24 23,14 28,22 33,18" fill="none" '
                 f'stroke="{colour}" stroke-width="3" stroke-linejoin="round"/>')
        return _svg_circle(colour, inner, title, size)
    if variation.startswith("special_cause_neutral"):
        high = variation.endswith("_high")
    else:
        good_is_high = improvement != "decrease"
        high = good_is_high if variation == "special_cause_improvement" else not good_is_high
        title += " (higher)" if high else " (lower)"
    return _svg_circle(colour, _letter_and_arrow(colour, "H" if high else "L", high), title, size)


def assurance_icon_svg(assurance: str | None, size: int = 40) -> str:
    """The MDC assurance icon: P (blue) will meet the target, F (orange) will not, ? (grey)
    may or may not; a pale dash when there is no target."""
    colour = ASSURANCE_COLOURS.get(assurance, GREY)
    title = ASSURANCE_LABELS.get(assurance, str(assurance))
    letter = {"consistent_pass": "P", "consistent_fail": "F", "inconsistent": "?"}.get(assurance or "", "–")
    inner = (f'<text x="20" y="27" text-anchor="middle" font-family="Arial, sans-serif" font-size="20" '
             f'font-weight="bold" fill="{colour}">{letter}</text>')
    return _svg_circle(colour, inner, title, size)


def icon_with_label(svg: str, label: str) -> str:
    """An icon followed by its words (never colour alone)."""
    return (f'<span class="spc-icon" style="display:inline-flex;align-items:center;gap:0.4em">'
            f'<span style="flex-shrink:0;display:inline-flex">{svg}</span><span>{html.escape(label)}</span></span>')


def variation_label(variation: str | None, improvement: str | None = None) -> str:
    """Words for the variation icon (`improvement` is accepted for symmetry with the icon; the
    words already say better or worse, and the icon's H or L says which way)."""
    return VARIATION_LABELS.get(variation or "common_cause", str(variation))


def assurance_label(assurance: str | None) -> str:
    """Words for the assurance icon."""
    return ASSURANCE_LABELS.get(assurance, str(assurance))


# --------------------------------------------------------------------------------------------
# sparkline (SVG for tables, plotly for a figure)
# --------------------------------------------------------------------------------------------


def sparkline_svg(values: Sequence[float | None], point_types: Sequence[str] | None = None,
                  width: int = 160, height: int = 40, periods: Sequence[dt.date] | None = None,
                  frequency: str | None = None) -> str:
    """A small line of the recent values with the last point coloured by its type.

    Inline SVG so a summary of many indicators renders at once (no chart library per row).
    The line breaks at a missing value, and, when `periods` are given, at every gap of missing
    periods (placed in time, so a gap shows as space), never joining figures across one.
    """
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if len(vals) < 2:
        return f'<svg width="{width}" height="{height}"></svg>'
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    n = len(values)
    pad = 5
    if periods is not None and len(periods) == n:
        frequency = frequency or infer_frequency(periods)
        # x by time: months since the first period (days / 7 for weeks)
        months = [(p.year - periods[0].year) * 12 + p.month - periods[0].month for p in periods]
        pos = [(p - periods[0]).days / 7 for p in periods] if frequency == "week" else months
        breaks = set(gap_spans(periods, frequency)["first_missing"].to_list())
        after_gap = {i for i in range(1, n) if any(periods[i - 1] < b < periods[i] for b in breaks)}
    else:
        pos, after_gap = list(range(n)), set()
    total = (pos[-1] - pos[0]) or 1
    pieces: list[list[tuple[float, float, int]]] = [[]]
    for i, v in enumerate(values):
        if v is None or not math.isfinite(v) or i in after_gap:
            if pieces[-1]:
                pieces.append([])
            if v is None or not math.isfinite(v):
                continue
        x = pad + (width - 2 * pad) * (pos[i] - pos[0]) / total
        y = pad + (height - 2 * pad) * (1 - (v - lo) / span)
        pieces[-1].append((x, y, i))
    coords = [c for piece in pieces for c in piece]
    lines = "".join(
        f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y, _ in piece)}" fill="none" '
        f'stroke="{GREY}" stroke-width="1.6"/>' for piece in pieces if len(piece) > 1)
    x, y, i = coords[-1]
    last_type = point_types[i] if point_types is not None else "common_cause"
    colour = POINT_COLOURS.get(last_type, GREY)
    dots = ""
    for px, py, j in coords[:-1]:
        # a figure alone between gaps has no line: a small dot keeps it visible
        alone = any(len(piece) == 1 and piece[0][2] == j for piece in pieces)
        if point_types is not None and point_types[j] != "common_cause":
            dots += f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.2" fill="{POINT_COLOURS.get(point_types[j], GREY)}"/>'
        elif alone:
            dots += f'<circle cx="{px:.1f}" cy="{py:.1f}" r="1.6" fill="{GREY}"/>'
    label = "recent values" + (", with missing periods" if len(pieces) > 1 and any(pieces[1:]) else "")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
            f'aria-label="{label}">{lines}{dots}<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/></svg>')


def sparkline(points: pl.DataFrame, unit: str = "", frequency: str | None = None) -> go.Figure:
    """A plotly sparkline of a series' points (period, value, point_type); the line breaks at gaps."""
    scale = axis_scale(unit)
    points = points.sort("period")
    fig = go.Figure()
    x, y = _broken(points["period"].to_list(), (points["value"] * scale).to_list(),
                   gap_spans(points["period"], frequency))
    fig.add_scatter(x=x, y=y, mode="lines", line={"color": GREY, "width": 1.5}, hoverinfo="skip")
    last = points.tail(1)
    fig.add_scatter(x=last["period"].to_list(), y=(last["value"] * scale).to_list(), mode="markers",
                    marker={"color": POINT_COLOURS.get(last["point_type"][0], GREY), "size": 8})
    fig.update_layout(height=60, width=180, margin={"l": 0, "r": 0, "t": 0, "b": 0}, showlegend=False,
                      xaxis={"visible": False}, yaxis={"visible": False}, plot_bgcolor="white")
    return fig


# --------------------------------------------------------------------------------------------
# control chart
# --------------------------------------------------------------------------------------------


#: Axes drawn inside the figure's own margins. Streamlit's chart theme turns on plotly's
#: `automargin`, which lays the chart out, measures its labels and draws it again: about a third
#: of the control chart's drawing time in the browser (issue 14). Its margins fit the labels.
AXES = {"automargin": False}


def _phase_lines(fig: go.Figure, points: pl.DataFrame, column: str, scale: float, *, name: str,
                 dash: str, colour: str, width: float, row: int | None = None, col: int | None = None,
                 showlegend: bool = True, spans: pl.DataFrame | None = None) -> None:
    """One line per phase (a break between phases and at each gap in `spans`), stepped so
    varying limits show as steps."""
    xs: list[object] = []
    ys: list[object] = []
    for phase in points["phase"].unique(maintain_order=True).to_list():
        part = points.filter(pl.col("phase") == phase)
        vals = part[column]
        if vals.null_count() == part.height:
            continue
        x, y = part["period"].to_list(), [None if v is None else v * scale for v in vals.to_list()]
        if spans is not None:
            x, y = _broken(x, y, spans)
        xs += x + [None]
        ys += y + [None]
    if not xs:
        return
    kwargs = {"row": row, "col": col} if row is not None else {}
    fig.add_scatter(x=xs, y=ys, mode="lines", name=name, line={"dash": dash, "color": colour, "width": width,
                    "shape": "hv"}, hoverinfo="skip", showlegend=showlegend, legendgroup=name, **kwargs)


def control_chart(points: pl.DataFrame, *, title: str = "", unit: str = "",
                  annotations: pl.DataFrame | None = None, two_sigma: bool = False,
                  target: float | None = None, show_target: bool = False, height: int = 520,
                  frequency: str | None = None, large: bool = True, limits_note: str | None = None,
                  statistic: str | None = None, moving_range: bool = False) -> go.Figure:
    """The control chart of one series.

    `moving_range`: the moving range chart (`moving_range_chart`'s panel, for an XmR chart) drawn
    under the control chart in the same figure, on the same time axis; `height` is then the
    control chart's, and the figure is taller by the moving range panel.

    `statistic` names what is plotted when it is not the value itself, as the y-axis title (the
    engine's chart label: "EWMA (λ 0.2) of minutes", "u chart per 1,000", see
    `spc.engine.SeriesSpec.label` and `statistic_title`).

    `limits_note` is written on the chart above the plot, for limits that are not the default
    (the analyst option that allows for month-to-month dependence: `limits_note(chart, frequency)`).

    `points`: result_point rows of one series (period, value, phase, excluded, centre, lower,
    upper, lower_2s, upper_2s, rule, point_type). Points are coloured by type; each phase has
    its own centre and limits; excluded points are hollow; `annotations` (date, kind, text)
    become labelled markers; the target is a dashed line only when one exists and
    `show_target` is set (it is an assurance reference, not the judgement).
    """
    points = points.sort("period")
    frequency = frequency or infer_frequency(points["period"])
    scale = axis_scale(unit)
    base = 18 if large else 12
    # no line crosses missing periods: the value line, centre and limits break at each gap
    spans = gap_spans(points["period"], frequency)
    # the moving range panel: about half the control chart's plot height, under it
    mr_px = round(0.45 * (height - 80)) if moving_range else 0
    gap_px = 72 if moving_range else 0  # room for the dates under the control chart and the title
    if moving_range:
        panels = height + mr_px + gap_px - 80  # the plot areas and the gap between them
        fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=gap_px / panels,
                            row_heights=[(panels - gap_px - mr_px) / (panels - gap_px), mr_px / (panels - gap_px)])
        fig.update_xaxes(showticklabels=True, row=1, col=1)  # the dates under the control chart too
    else:
        fig = go.Figure()
    panel1 = {"row": 1, "col": 1} if moving_range else {}  # the control chart's panel
    _shade_gaps(fig, spans, base - 5)
    x, y = _broken(points["period"].to_list(), (points["value"] * scale).to_list(), spans)
    fig.add_scatter(x=x, y=y, mode="lines", line={"color": "#9A9A9A", "width": 1.5}, hoverinfo="skip",
                    showlegend=False, connectgaps=False)
    _phase_lines(fig, points, "centre", scale, name="Average (centre line)", dash="solid", colour="#333333",
                 width=2, spans=spans)
    _phase_lines(fig, points, "upper", scale, name="Upper and lower process limits (normal range)", dash="dash",
                 colour=LIMIT, width=1.6, spans=spans)
    _phase_lines(fig, points, "lower", scale, name="Upper and lower process limits (normal range)", dash="dash",
                 colour=LIMIT, width=1.6, showlegend=False, spans=spans)
    if two_sigma:
        for col, show in (("upper_2s", True), ("lower_2s", False)):
            _phase_lines(fig, points, col, scale, name="Inner warning lines (2 sigma)",
                         dash="dot", colour="#A0A0A0", width=1, showlegend=show, spans=spans)
    for ptype, label in POINT_LABELS.items():
        part = points.filter(pl.col("point_type") == ptype)
        if part.is_empty():
            continue
        colour = POINT_COLOURS[ptype]
        excluded = part["excluded"].to_list()
        # the tooltip in words: the period as people say it, the figure, what it shows
        fig.add_scatter(
            x=part["period"].to_list(), y=(part["value"] * scale).to_list(), mode="markers", name=label,
            # one colour for the trace unless a point is hollow (a colour per point is slower to draw)
            marker={"color": ["white" if e else colour for e in excluded] if any(excluded) else colour,
                    "size": 11 if large else 7,
                    "line": {"color": colour, "width": 2}},
            customdata=[[format_period(p, frequency), format_value(v, unit), hover_rule_text(r, ptype),
                         "<br>Left out of the average and limits" if e else ""]
                        for p, v, r, e in zip(part["period"].to_list(), part["value"].to_list(),
                                              part["rule"].to_list(), excluded)],
            hovertemplate="%{customdata[0]}: %{customdata[1]}<br>%{customdata[2]}%{customdata[3]}<extra></extra>",
        )
    if points["excluded"].any():
        fig.add_scatter(x=[None], y=[None], mode="markers", name="Excluded from the limits (hollow)",
                        marker={"color": "white", "size": 11, "line": {"color": GREY, "width": 2}})
    if target is not None and show_target:
        fig.add_hline(y=target * scale, line={"dash": "dash", "color": TARGET, "width": 2},
                      annotation_text=f"Target {format_value(target, unit)}", annotation_position="top left",
                      annotation_font={"color": TARGET, "size": base - 4}, **panel1)
    values = points["value"].drop_nulls()
    uppers = points["upper"].drop_nulls()
    top = max([v for v in (values.max() if values.len() else None, uppers.max() if uppers.len() else None)
               if v is not None] or [0.0]) * scale
    bottom = min([v for v in (values.min() if values.len() else None,
                              points["lower"].drop_nulls().min() if points["lower"].drop_nulls().len() else None)
                  if v is not None] or [0.0]) * scale
    marker_y = top + 0.06 * ((top - bottom) or abs(top) or 1.0)
    if annotations is not None and not annotations.is_empty():
        # numbered markers on the chart; the numbers are explained in a list under it
        # (annotation_list), because long labels on the chart overlap and get cut off
        anns = annotations.sort("date", "id") if "id" in annotations.columns else annotations.sort("date")
        anns = anns.with_columns(number=pl.int_range(1, pl.len() + 1).cast(pl.String))
        # several dates on one period share one marker labelled "2, 3"
        marks = anns.group_by("date", maintain_order=True).agg(
            label=pl.col("number").str.join(", "),
            # typed text: shown literally, never as plotly's HTML
            hover=pl.format("{}: {}", pl.col("kind").replace(ANNOTATION_KINDS).map_elements(literal, return_dtype=pl.String),
                            pl.col("text").fill_null("").map_elements(literal, return_dtype=pl.String)).str.join("<br>"))
        for d in marks["date"].to_list():
            fig.add_shape(type="line", x0=d, x1=d, y0=0, y1=1, yref="y domain",
                          line={"color": "#555555", "width": 1, "dash": "dot"})
        fig.add_scatter(
            x=marks["date"].to_list(), y=[marker_y] * marks.height, mode="markers+text",
            name="Recorded dates (numbered, listed below the chart)",
            marker={"symbol": "triangle-down", "size": 16 if large else 11, "color": "#333333"},
            text=marks["label"].to_list(), textposition="top center",
            textfont={"size": base - 2, "color": "#111111"},
            customdata=[[format_period(d, frequency), h] for d, h in zip(marks["date"].to_list(),
                                                                         marks["hover"].to_list())],
            hovertemplate="%{customdata[0]}<br>%{customdata[1]}<extra></extra>", cliponaxis=False)
        span = (marker_y - bottom) or 1.0
        fig.update_yaxes(range=[bottom - 0.05 * span, marker_y + 0.12 * span], **panel1)
    first, last = points["period"].min(), points["period"].max()
    if first is not None and last is not None:
        pad = dt.timedelta(days=max(15, (last - first).days // 60))
        fig.update_xaxes(range=[first - pad, last + pad])
    if moving_range:
        _moving_range_panel(fig, points, unit=unit, frequency=frequency, large=large, row=2)
    y_title = literal(statistic) if statistic else ("" if unit in ("%", "count") else unit)
    fig.update_layout(
        title={"text": literal(title), "font": {"size": base + 4}} if title else None,
        height=height + mr_px + gap_px, font={"family": _FONT, "size": base - 2}, plot_bgcolor="white",
        # room for the y-axis titles inside fixed margins (see AXES below)
        paper_bgcolor="white", margin={"l": 72 if y_title or moving_range else 60, "r": 20,
                                       "t": 70 if title else 40, "b": 40},
        # under the chart (both panels' entries when the moving range is drawn too); a narrow
        # screen wraps it into more lines, and the figure grows for them
        legend={"orientation": "h", "yanchor": "top", "y": -0.12 * (height - 80) / (height + mr_px + gap_px - 80),
                "font": {"size": base - 4}},
        hovermode="closest",
    )
    fig.update_xaxes(showgrid=False, linecolor="#999", ticks="outside", **AXES, **_period_ticks(first, last, frequency))
    fig.update_yaxes(**AXES)
    fig.update_yaxes(gridcolor="#EEEEEE", linecolor="#999", ticksuffix="%" if unit == "%" else "",
                     title={"text": y_title}, **panel1)
    if limits_note:
        # a non-default choice of limits is part of what the chart says
        fig.add_annotation(text=literal(limits_note), xref="paper", yref="y domain", x=1, y=1.02, xanchor="right",
                           yanchor="bottom", showarrow=False, font={"size": base - 4, "color": "#555555"})
    return fig


def limits_note(chart: str | None, frequency: str | None = "month") -> str | None:
    """What the chart says about its limits when they are not the default: 'Limits allow for
    month-to-month dependence (centre line predicted from the month before)' for the xmr_ar1
    chart, None otherwise."""
    if chart != "xmr_ar1":
        return None
    period = frequency or "month"
    return f"Limits allow for {period}-to-{period} dependence (centre line predicted from the {period} before)"


def statistic_note(chart: str | None) -> str | None:
    """What an EWMA or CUSUM point is, for the words beside the chart (None for other charts):
    their points, and the figures quoted from them, are a statistic, not each period's figure."""
    if chart == "ewma":
        return ("Each point is an EWMA: a weighted average of the period's figure and the ones before, which "
                "finds small sustained shifts sooner. The figures quoted for this chart are EWMA values, not "
                "the periods' own figures; only a point beyond a limit counts.")
    if chart == "cusum":
        return ("Each point is a CUSUM: the running sum of how far the figures have been above (or, drawn below "
                "zero, below) their average by more than half a standard deviation. The figures quoted for this "
                "chart are those sums, not the periods' own figures, and its centre line is zero; only a point "
                "beyond a limit counts.")
    return None


def statistic_title(chart_label: str | None, unit: str = "") -> str | None:
    """The y-axis title of a chart whose plotted figure is not the plain value: "EWMA (λ 0.2) of
    minutes", "CUSUM (k 0.5σ, h 5σ) of count", "u chart per 1,000"; None for the plain charts
    (`chart_label` is result_summary.chart_label, from `SeriesSpec.label`)."""
    if not chart_label:
        return None
    if chart_label.startswith(("EWMA", "CUSUM")):
        return f"{chart_label} of {unit or 'the values'}"
    if " per " in chart_label or " × " in chart_label or "calendar month" in chart_label:
        return chart_label
    return None


def moving_range_chart(points: pl.DataFrame, *, unit: str = "", height: int = 260,
                       frequency: str | None = None, large: bool = True) -> go.Figure:
    """The moving range chart that goes under an XmR chart (as Making Data Count shows it).

    `points`: one XmR series' result points. The ranges are `spc.charts.xmr.moving_ranges`:
    none across a gap of missing periods, at an excluded point or at a phase's start. Each phase
    has its average moving range (the one its limits used) and the upper range limit 3.267 × MR̄;
    a range above it is marked.
    """
    fig = go.Figure()
    mr = _moving_range_panel(fig, points, unit=unit, frequency=frequency, large=large)
    frequency = frequency or infer_frequency(mr["period"])
    base = 18 if large else 12
    # the legend sits on the right, so a short chart (the briefing pack's) keeps its plot area
    fig.update_layout(height=height, font={"family": _FONT, "size": base - 2}, plot_bgcolor="white",
                      paper_bgcolor="white", margin={"l": 72, "r": 20, "t": 26, "b": 24},
                      legend={"orientation": "v", "x": 1.01, "y": 1, "font": {"size": base - 5}},
                      title={"text": "Moving range chart", "font": {"size": base - 2}})
    fig.update_xaxes(showgrid=False, linecolor="#999", ticks="outside", **AXES,
                     **_period_ticks(mr["period"].min(), mr["period"].max(), frequency))
    fig.update_yaxes(**AXES)
    return fig


def _moving_range_panel(fig: go.Figure, points: pl.DataFrame, *, unit: str, frequency: str | None, large: bool,
                        row: int | None = None) -> pl.DataFrame:
    """The moving range chart's traces and y-axis on `fig` (its own figure, or the panel `row`
    under the control chart, titled there); returns the moving ranges drawn."""
    from spc.charts.xmr import moving_ranges

    mr = moving_ranges(points.sort("period"))
    frequency = frequency or infer_frequency(mr["period"])
    scale = axis_scale(unit)
    base = 18 if large else 12
    spans = gap_spans(mr["period"], frequency)
    at = {"row": row, "col": 1} if row is not None else {}
    if row is None:  # under a control chart, its gap bands already cover this panel
        _shade_gaps(fig, spans, base - 5)
    x, y = _broken(mr["period"].to_list(), (mr["moving_range"] * scale).to_list(), spans)
    fig.add_scatter(x=x, y=y, mode="lines+markers", name="Moving range (difference from the point before)",
                    line={"color": "#9A9A9A", "width": 1.5}, marker={"color": GREY, "size": 7 if large else 5},
                    connectgaps=False, hovertemplate="%{y}<extra></extra>", **at)
    _phase_lines(fig, mr, "mr_bar", scale, name="Average moving range", dash="solid", colour="#333333",
                 width=2, spans=spans, **at)
    _phase_lines(fig, mr, "mr_upper", scale, name="Upper range limit (3.267 × average)", dash="dash",
                 colour=LIMIT, width=1.6, spans=spans, **at)
    above = mr.filter("mr_above")
    if not above.is_empty():
        fig.add_scatter(x=above["period"].to_list(), y=(above["moving_range"] * scale).to_list(), mode="markers",
                        name="Range above the upper range limit",
                        marker={"color": POINT_COLOURS["special_cause_neutral_high"], "size": 11 if large else 7},
                        **at)
    fig.update_yaxes(gridcolor="#EEEEEE", linecolor="#999", rangemode="tozero",
                     ticksuffix="%" if unit == "%" else "", title={"text": "moving range"}, **at)
    if row is not None:  # the panel's title, as the chart of its own has it
        fig.add_annotation(text="Moving range chart", xref="paper", yref=f"y{row} domain", x=0, y=1,
                           xanchor="left", yanchor="bottom", showarrow=False,
                           font={"size": base - 2, "color": "#31333F", "weight": "bold"})
    return mr


def _period_ticks(first: dt.date | None, last: dt.date | None, frequency: str) -> dict:
    """Axis ticks in the data's own periods: quarters read 'Q1 2024' (calendar quarters, the
    axis's short form of 'Jan–Mar 2024'), years '2024'; months and weeks keep plotly's dates."""
    if first is None or last is None or frequency not in ("quarter", "year"):
        return {}
    months = (last.year - first.year) * 12 + last.month - first.month
    size = 3 if frequency == "quarter" else 12
    # at most about 8 labels, on whole years once there are more than a few quarters
    need = months / size / 8
    step = next(k for k in ((1, 2, 4, 8, 12, 20, 40, 80) if size == 3 else (1, 2, 5, 10, 20, 50, 100))
                if k >= need or k in (80, 100))
    return {"tickformat": "Q%q %Y" if frequency == "quarter" else "%Y", "dtick": f"M{size * step}",
            "tick0": first}


def annotation_list(annotations: pl.DataFrame | None, frequency: str = "month") -> list[str]:
    """The numbered list that explains the markers `control_chart` puts on the chart, as plain
    text (the analysts' words in it: escape with `spc.text` where it meets Markdown or HTML)."""
    if annotations is None or annotations.is_empty():
        return []
    anns = annotations.sort("date", "id") if "id" in annotations.columns else annotations.sort("date")
    return [f"{i}. {format_period(a['date'], frequency)} — {ANNOTATION_KINDS.get(a['kind'], a['kind'])}: {a['text']}"
            for i, a in enumerate(anns.iter_rows(named=True), start=1)]


def small_multiples(points: pl.DataFrame, *, unit: str = "", columns: int = 5, height: int = 520,
                    title: str = "", frequency: str | None = None) -> go.Figure:
    """The same indicator across areas: one small control chart per area, in the order given.

    `points`: result_point rows with an `area_name` column. Lines break at gaps (shaded).
    """
    names = points["area_name"].unique(maintain_order=True).to_list()
    freq = frequency or infer_frequency(points["period"])
    rows = max(1, math.ceil(len(names) / columns))
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=[literal(n) for n in names], shared_xaxes=True,
                        horizontal_spacing=0.04, vertical_spacing=0.16)
    scale = axis_scale(unit)
    for k, name in enumerate(names):
        r, c = k // columns + 1, k % columns + 1
        part = points.filter(pl.col("area_name") == name).sort("period")
        spans = gap_spans(part["period"], freq)
        x, y = _broken(part["period"].to_list(), (part["value"] * scale).to_list(), spans)
        fig.add_scatter(x=x, y=y, mode="lines", line={"color": "#9A9A9A", "width": 1}, hoverinfo="skip",
                        showlegend=False, row=r, col=c)
        _phase_lines(fig, part, "centre", scale, name="Average", dash="solid", colour="#333", width=1.2,
                     row=r, col=c, showlegend=False, spans=spans)
        for col in ("upper", "lower"):
            _phase_lines(fig, part, col, scale, name="Limits", dash="dash", colour=LIMIT, width=1,
                         row=r, col=c, showlegend=False, spans=spans)
        fig.add_scatter(x=part["period"].to_list(), y=(part["value"] * scale).to_list(), mode="markers",
                        marker={"color": [POINT_COLOURS.get(t, GREY) for t in part["point_type"].to_list()],
                                "size": 5}, showlegend=False, row=r, col=c,
                        customdata=[[format_period(p, freq), format_value(v, unit), hover_rule_text(rl, t)]
                                    for p, v, rl, t in zip(part["period"].to_list(), part["value"].to_list(),
                                                           part["rule"].to_list() if "rule" in part.columns
                                                           else [None] * part.height,
                                                           part["point_type"].to_list())],
                        hovertemplate=(f"{literal(name)}, %{{customdata[0]}}: %{{customdata[1]}}"
                                       "<br>%{customdata[2]}<extra></extra>"))
        _shade_gaps(fig, spans, 10, row=r, col=c, label=False)  # after the traces: plotly skips empty panels
    fig.update_layout(height=height, font={"family": _FONT, "size": 12}, plot_bgcolor="white",
                      margin={"l": 40, "r": 10, "t": 60 if title else 40, "b": 30},
                      title={"text": literal(title)} if title else None)
    fig.update_annotations(font_size=14)
    fig.update_xaxes(showgrid=False, tickformat="%Y", nticks=4, **AXES)
    fig.update_yaxes(gridcolor="#F0F0F0", nticks=4, **AXES)
    return fig
