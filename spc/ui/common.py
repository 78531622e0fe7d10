"""Shared pieces of the app's pages: styling for projectors, notices and plain-English help."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import re

import polars as pl
import streamlit as st

from spc.ui.data import Overview

#: Large type and high contrast, so a room can read it off a projector.
CSS = """
<style>
html, body, [class*="css"] { font-size: 19px; }
.block-container { padding-top: 2.2rem; padding-left: 2.5rem; padding-right: 2.5rem; max-width: 1600px; }
h1 { font-size: 2.1rem !important; }
h2 { font-size: 1.6rem !important; }
/* st.html blocks drawn as Streamlit draws markdown (the Summary: spc.ui.summary) */
.spc-md { overflow-wrap: break-word; text-align: left; }
.spc-md b, .spc-md strong { font-weight: 600; }
.spc-md p, .spc-md ul, .spc-md ol, .spc-md li { font-size: inherit; }
.spc-md p { margin: 0 0 1rem 0; word-break: break-word; }
.spc-md li { margin: 0.2em 0 0.2em 1.15em; padding: 0 0 0 0.3em; }
.spc-md th, .spc-md td { padding: 0.375rem 0.75rem; border: 1px solid rgb(232, 229, 226); }
.spc-md table { border-collapse: collapse; margin: 0; }
/* a small table drawn as HTML (frame_html): it prints, and costs the browser less than a data grid */
table.spc-frame { border-collapse: collapse; width: 100%; font-size: 0.95rem; }
table.spc-frame th { text-align: left; font-weight: 600; background: rgb(246, 246, 248); }
table.spc-frame td.spc-num, table.spc-frame th.spc-num { text-align: right; font-variant-numeric: tabular-nums; }
.spc-md h4 { font-size: 1.25rem; font-weight: 600; line-height: 1.2; margin: 0; padding: 0.75rem 0 0 0; }
.spc-md > :last-child, .spc-md p:last-child { margin-bottom: 0; }
.spc-md .spc-attention ul, .spc-md .spc-late-list ul { padding-left: 0; }
/* an icon or sparkline: its picture is a background image (svg_as_images), printed too */
.spc-i { display: inline-block; vertical-align: middle; background-repeat: no-repeat; background-size: contain;
         -webkit-print-color-adjust: exact; print-color-adjust: exact; }
table.spc-summary { border-collapse: collapse; width: 100%; font-size: 1.0rem; table-layout: fixed; }
table.spc-summary th { text-align: left; border-bottom: 2px solid #444; padding: 6px 8px; font-size: 0.95rem; }
table.spc-summary td { border-bottom: 1px solid #ddd; padding: 6px 8px; vertical-align: middle; }
table.spc-summary td.num { text-align: right; white-space: nowrap; font-weight: 600; }
table.spc-summary a { color: #005EB8; text-decoration: none; font-weight: 600; }
tr.spc-priority td { background: #F0F4F5; font-weight: 700; font-size: 1.05rem; border-bottom: 2px solid #999; }
.spc-new { background: #FFF3CD; color: #5C4400; border: 1px solid #E0B000; border-radius: 4px;
           padding: 1px 6px; font-size: 0.8rem; font-weight: 700; white-space: nowrap; }
.spc-ended { background: #E8F4FB; color: #0B4F71; border: 1px solid #6BB0D6; border-radius: 4px;
             padding: 1px 6px; font-size: 0.8rem; font-weight: 700; white-space: nowrap; }
.spc-late { background: #FDE2D2; color: #7A2E00; border: 1px solid #D9822B; border-radius: 4px;
             padding: 0 5px; font-size: 0.8rem; font-weight: 700; white-space: nowrap; }
.spc-h { font-size: 1.2rem; font-weight: 700; margin: 0 0 0.35rem 0; }
.spc-attention ul, .spc-late-list ul { list-style: none; padding-left: 0; margin: 0; }
.spc-attention li { margin: 0 0 0.4rem 0; line-height: 1.25; }
.spc-attention li svg, .spc-attention li .spc-i { vertical-align: -4px; }
.spc-attention a, .spc-late-list a { color: #005EB8; font-weight: 700; text-decoration: none; }
.spc-kind { font-size: 0.8rem; font-weight: 700; color: #5C4400; white-space: nowrap; }
.spc-why { font-size: 0.82rem; color: #333; display: block; padding-left: 28px; }
.spc-chance { font-size: 0.85rem; background: #F0F4F5; border-left: 4px solid #7B7D7D; padding: 4px 8px;
              margin: 0.3rem 0 0 0; }
.spc-calm { font-size: 0.95rem; }
.spc-late-list { font-size: 0.8rem; margin-top: 0.3rem; }
.spc-late-list li { margin: 0.1rem 0; }
table.spc-matrix { border-collapse: collapse; font-size: 0.8rem; width: 100%; }
table.spc-matrix th, table.spc-matrix td { border-bottom: 1px solid #ddd; padding: 1px 4px; text-align: center; }
table.spc-matrix thead th { font-weight: 600; font-size: 0.68rem; line-height: 1.05; vertical-align: bottom; }
table.spc-matrix th[scope=row] { text-align: left; font-weight: 600; white-space: nowrap; }
table.spc-matrix th[scope=row] svg, table.spc-matrix th[scope=row] .spc-i { vertical-align: middle; margin-right: 4px; }
table.spc-matrix td a { color: #005EB8; font-weight: 700; font-size: 0.95rem; text-decoration: underline; }
table.spc-matrix td.spc-zero { color: #999; }
.spc-status { font-size: 0.95rem; }
.spc-il { display: inline-flex; align-items: center; gap: 0.4em; }
.spc-il > :first-child { flex-shrink: 0; }
.spc-care { background: #FFF4CE; color: #5C4400; border: 1px solid #C9A227; border-radius: 4px; padding: 0 4px;
            font-size: 0.75rem; font-weight: 600; }
.spc-small { font-size: 0.85rem; color: #444; }
.spc-md .spc-caption { font-size: 0.875rem; }
.spc-first { display: grid; grid-template-columns: minmax(0, 11fr) minmax(0, 9fr); column-gap: 2rem; row-gap: 1rem; margin: 0; }
.spc-first .spc-chance { margin-top: 0.7rem; }
.spc-first > div:last-child { padding-bottom: 1rem; }
.spc-first table.spc-matrix { margin-bottom: 1rem; }
@media (max-width: 640px) { .spc-first { grid-template-columns: minmax(0, 1fr); } }
.spc-md.spc-body > * { margin-top: 0; margin-bottom: 0; }
.spc-md.spc-body > * + * { margin-top: 1rem; }
details.spc-expander { border: 1px solid rgb(220, 216, 212); border-radius: 0.5rem; }
details.spc-expander > summary { list-style: none; display: flex; align-items: center; gap: 0.5rem; cursor: pointer;
  padding: 0.25rem 0.75rem; min-height: 2.4rem; border-radius: 0.5rem; font-size: 0.875rem; }
details.spc-expander > summary::-webkit-details-marker { display: none; }
details.spc-expander > summary::before { content: ""; flex-shrink: 0; width: 0.42em; height: 0.42em; margin: 0 0.3em;
  border-right: 2px solid currentColor; border-bottom: 2px solid currentColor; transform: rotate(-45deg); }
details.spc-expander[open] > summary::before { transform: rotate(45deg); }
details.spc-expander[open] > summary { background: rgb(252, 252, 251); border-radius: 0.5rem 0.5rem 0 0; }
details.spc-expander[open] > div { border-top: 1px solid rgb(220, 216, 212); }
details.spc-expander > summary:hover { color: rgb(255, 75, 75); }
details.spc-expander > div { padding: 1rem; }
details.spc-expander > div > * + * { margin-top: 1rem; }
@media print {
  [data-testid="stSidebar"], header, [data-testid="stToolbar"], .stDownloadButton, .spc-noprint { display: none !important; }
  .block-container { padding: 0 !important; max-width: 100% !important; }
  .spc-page-break { page-break-after: always; }
}
</style>
"""

SPECIAL_CAUSE_HELP = (
    "**How to read this.** Every measure goes up and down a little from month to month: that is "
    "*normal variation* (grey). A point is coloured only when a statistical rule says the change is "
    "**beyond normal variation** (sometimes called *special cause*): **blue** when it is an improvement, "
    "**orange** when it is a concern, **purple** when the measure has no better direction "
    "(for example more reports may mean more confidence to report). The dashed lines are the "
    "*process limits*: the range the measure normally stays in."
)

ASSURANCE_HELP = (
    "**Targets.** Where a target exists, the assurance icon says whether the process, as it runs "
    "now, will meet it: **P** will consistently meet it, **F** will consistently miss it, **?** may "
    "or may not. The target is a reference point, never the judgement."
)


def markdown_html(text: str) -> str:
    """One of the help paragraphs above (bold and italic only) as an HTML paragraph, for `st.html`."""
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return "<p>" + re.sub(r"\*(.+?)\*", r"<em>\1</em>", text) + "</p>"

def details_html(summary: str, inside: str) -> str:
    """A closed block a reader can open (an analyst's detail, the help), drawn as Streamlit's
    expander is, for `st.html` (common.CSS's details.spc-expander)."""
    return f'<details class="spc-expander"><summary>{summary}</summary><div>{inside}</div></details>'


def setup_page() -> None:
    """Styles shared by every page: through `st.html` (a style-only block, laid out nowhere), not
    `st.markdown`, whose renderer parses the 4 kB of CSS as markdown and HTML on every view."""
    st.html(CSS)


def missing_database(path: str, problem: str) -> None:
    """The helpful message for a missing or empty database: what is wrong and the command to fix it."""
    st.title("Indicator monitoring")
    st.error(problem)  # Markdown: spc.ui.data writes the file's path as code
    st.markdown(
        "The app shows indicators from a DuckDB database that has to be built first. "
        "To build the illustrative demo database, run this in the project folder:")
    st.code(f"spc db init --db {path}", language="bash")
    st.markdown("Or build one for your own force (its name as police.uk writes it; several separated by "
                "commas, or `all`), then import its police.uk files:")
    st.code(f"spc db init --db {path} --force city-of-london\nspc import police-uk FOLDER --db {path}",
            language="bash")
    if "not a DuckDB" in problem or "empty file" in problem:
        st.markdown("That file is not a database the app can use: move it aside (or choose another path) first.")
    st.markdown(
        "Or run `make run`, which builds it and starts the app. To show a different database, "
        "set `SPC_DB` to its path before `streamlit run app.py`.")


def fmt_time(value: dt.datetime | None) -> str:
    """A timestamp as people read it: '3 Mar 2025 14:05 UTC'."""
    if value is None:
        return "never"
    return f"{value.day} {value:%b %Y %H:%M} UTC"


def notices(ov: Overview) -> None:
    """The illustrative-data notice and the 'results are older than the data' warning."""
    if ov.demo:
        st.info("**Illustrative demo data**: generated by the project and calibrated to published figures; "
                "not official statistics.", icon="ℹ️")
    fresh = ov.freshness
    if fresh.get("stale_series"):
        st.warning(
            f"**Results are older than the data** for {fresh['stale_series']} of {fresh['series']} series: "
            f"data was last loaded {fmt_time(fresh.get('newest_data'))}, results were computed "
            f"{fmt_time(fresh.get('oldest_result'))}. Run `spc refresh` (or recompute on the Analyst page) "
            "to bring the charts up to date.", icon="⚠️")


_SVG = re.compile(r"<svg\b[^>]*>.*?</svg>", re.S)
_ATTR = re.compile(r'\b(width|height|aria-label)="([^"]*)"')


def svg_as_images(parts: dict[str, str]) -> tuple[dict[str, str], str]:
    """Every inline SVG in `parts` (name -> HTML) as a labelled box drawn by a CSS background
    image, and the CSS rules that draw them (one per distinct picture).

    `st.html` draws HTML without the markdown renderer (far cheaper for the Summary's tables), but
    its sanitiser keeps HTML elements only: inline SVG would vanish. A picture used many times
    (the icons) is decoded once, and only where it is shown. The SVG's label becomes the box's
    aria-label and tooltip."""
    rules: dict[str, str] = {}

    def box(match: re.Match[str]) -> str:
        svg = match.group(0)
        attrs = svg_attributes(svg)
        name = "spc-i-" + hashlib.sha1(svg.encode()).hexdigest()[:12]
        if name not in rules:
            data = base64.b64encode(svg.encode()).decode()
            rules[name] = (f'.{name}{{width:{attrs.get("width", "0")}px;height:{attrs.get("height", "0")}px;'
                           f'background-image:url("data:image/svg+xml;base64,{data}")}}')
        label = attrs.get("aria-label", "")
        return f'<span class="spc-i {name}" role="img" aria-label="{label}" title="{label}"></span>'

    return {k: _SVG.sub(box, v) for k, v in parts.items()}, "".join(rules.values())


def svg_attributes(svg: str) -> dict[str, str]:
    """The width, height and aria-label of an inline SVG's root element."""
    return dict(_ATTR.findall(svg[:svg.index(">")]))


def svg_image(svg: str, css_class: str = "") -> str:
    """One inline SVG as a labelled box painted by the picture itself (`svg_as_images` for a
    picture used once; `css_class` sizes the box)."""
    attrs = svg_attributes(svg)
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    label = attrs.get("aria-label", "")
    return (f'<span class="spc-i {css_class}" role="img" aria-label="{label}" title="{label}" '
            f'style="background-image:url(\'{uri}\')"></span>')


def _cell(value: object, decimals: int) -> str:
    """One table cell's text: thousands separated, `decimals` places for a float, '–' for none;
    text escaped, shown as it is."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{decimals}f}"
    return html.escape(str(value))


def frame_html(frame: pl.DataFrame) -> str:
    """A small frame (a ranked table: tens of rows) as an HTML table for `st.html`, numbers right
    aligned; a float column of whole numbers (counts) without decimals, any other with two. A
    data grid costs the browser far more for a few rows, and does not print."""
    numeric = [frame.schema[c].is_numeric() for c in frame.columns]
    decimals = [0 if frame.schema[c].is_float() and (frame[c].drop_nulls() % 1 == 0).all() else 2
                for c in frame.columns]
    num = ' class="spc-num"'
    head = "".join(f"<th{num if n else ''}>{html.escape(c)}</th>" for c, n in zip(frame.columns, numeric))
    body = "".join("<tr>" + "".join(f"<td{num if n else ''}>{_cell(v, d)}</td>"
                                    for v, n, d in zip(row, numeric, decimals)) + "</tr>"
                   for row in frame.iter_rows())
    return f'<div class="spc-md"><table class="spc-frame"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
