"""The briefing pack: a cover summary of every chosen indicator, then one page per indicator.

Made for a Police, Fire and Crime Panel paper: the cover has a table with each indicator's
latest value and its variation and assurance icons (with words, never colour alone); each
following page has the control chart (the app's own plotly figure, `spc.plots.control_chart`)
and the narrative (`spc.narrative.describe`). Pages are ordered by need for attention
(concerns first, then other special causes, then improvements, then normal variation; within
each, a target that will not be met first). Every page is dated and sourced: the indicator's
source, and "demo data: illustrative" when its figures came from the demo batch.

HTML is self-contained (plotly.js inline) and works offline. PDF is that HTML printed by
headless Chromium (`--print-to-pdf`), so the charts in the paper are the charts in the app.
The figures are computed for the chosen reporting period from a private in-memory copy of the
store (observations after the period are dropped first), so a pack for March 2024 shows what
the data up to March 2024 said, whatever has been loaded since.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path

import polars as pl

from spc.errors import SpcError
from spc.store.areas import area_forces, covers
from spc.store.queries import frame, load_indicators
from spc.text import html_text

#: Chromium binaries tried in order ($SPC_CHROMIUM first).
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_ASSURANCE_ORDER = {"consistent_fail": 0, "inconsistent": 1, "consistent_pass": 2}
#: Chart size on an A4 portrait page with 15 mm margins (CSS pixels).
CHART_WIDTH, CHART_HEIGHT = 700, 430
#: A page whose narrative is longer than LONG_NARRATIVE_WORDS (a long list of episodes, set in
#: two columns, counts half) gets a chart 2 pixels shorter per extra word, down to
#: SHORT_CHART_HEIGHT, so each indicator stays on one page.
SHORT_CHART_HEIGHT, LONG_NARRATIVE_WORDS = 250, 140
#: how much shorter than SHORT_CHART_HEIGHT a page with an intervention verdict or the
#: month-to-month dependence caution may make its chart
EXTRA_ROOM = 120
#: The shortest a control chart is drawn (CSS pixels; the moving range chart under an XmR chart
#: not counted): below it the chart is a strip no one can read. A page with more words than
#: the shortest chart leaves room for sets its words in smaller type instead (`dense`).
MIN_CONTROL_HEIGHT = 220


@dataclass(frozen=True)
class BriefResult:
    """What `build_brief` wrote."""

    path: Path
    pages: int            # indicator pages (the cover comes first)
    indicators: list[str]  # in page order
    period: dt.date


def _parse_period(text: str) -> dt.date:
    try:
        year, month = text.strip().split("-")[:2]
        return dt.date(int(year), int(month), 1)
    except (ValueError, TypeError):
        raise SpcError(f"--period {text!r}: expected a month as YYYY-MM, e.g. 2024-03", exit_code=2) from None


@dataclass
class _Data:
    indicators: pl.DataFrame
    area: dict[str, str]
    area_names: dict[str, str]  # every area in the pack: the chosen one, and national context
    summary: pl.DataFrame
    points: pl.DataFrame
    phases: pl.DataFrame
    annotations: pl.DataFrame
    demo: set[str]
    period: dt.date
    as_of: dt.date | None = None  # the day data ages are measured on (None: the day the pack is made)
    context_area: str | None = None  # national figures shown beside a force's own, never as its own
    force_of: dict[str, str | None] = field(default_factory=dict)  # each area's force (none: national)


def _force_of(mem, areas: pl.DataFrame, area: str) -> str | None:
    """The force an area belongs to (store table area_force, schema 9; in an older store, the
    one force); None for a national area."""
    forces = areas.filter(pl.col("type") == "force")["code"].to_list()
    if area in forces:
        return area
    if areas.filter(pl.col("code") == area)["type"].to_list() == ["national"]:
        return None
    found = area_forces(mem).filter(pl.col("area_code") == area)["force_code"]  # none before schema 9
    if found.len():
        return found[0]
    return forces[0] if len(forces) == 1 else None


def choose_area(mem, areas: pl.DataFrame, area: str | None, force: str | None, db: Path | str) -> str:
    """The area of the pack: `area`, else the force-wide area of `force`, else the store's one
    force. A store of many forces needs --force (or --area); an unknown force or area, or an area
    of another force, names the choices."""
    forces = areas.filter(pl.col("type") == "force").sort("code")
    choices = ", ".join(forces["code"].to_list())
    if force is not None and force not in forces["code"].to_list():
        raise SpcError(f"--force {force!r}: this store has no such force; choose one of: {choices or 'none'}",
                       exit_code=2)
    if area is None:
        if force is not None:
            return force
        if forces.is_empty():
            raise SpcError(f"{db}: no force-wide area; run `spc db init`")
        if forces.height > 1:
            raise SpcError(f"this store holds {forces.height} forces: choose one with --force "
                           f"(one of: {choices})", exit_code=2)
        return forces["code"][0]
    if areas.filter(pl.col("code") == area).is_empty():
        known = [c for c in areas["code"].to_list() if force is None or _force_of(mem, areas, c) in (force, None)]
        raise SpcError(f"--area {area!r}: no such area; known: {', '.join(sorted(known))}", exit_code=2)
    owner = _force_of(mem, areas, area)
    if force is not None and owner not in (force, None):
        raise SpcError(f"--area {area!r} is an area of {owner}, not of --force {force}", exit_code=2)
    return area


def _gather(db: Path, period: str | None, indicator_ids: list[str] | None, area: str | None,
            force: str | None = None) -> _Data:
    """Read the store (one short read-only copy) and compute every chosen series up to `period`."""
    from spc.refresh import snapshot
    from spc.results import compute

    mem = snapshot(db, 30.0)
    try:
        indicators = load_indicators(mem)
        areas = frame(mem, "SELECT code, name, type FROM area")
        area = choose_area(mem, areas, area, force, db)
        chosen = areas.filter(pl.col("code") == area)
        known = set(indicators["id"])
        for ind in indicator_ids or []:
            if ind not in known:
                raise SpcError(f"--indicators {ind!r}: no such indicator (see `spc db status`)", exit_code=2)
        # a force's pack also shows national figures (MoJ England and Wales) as context pages
        national = areas.filter(pl.col("type") == "national")
        context = national["code"][0] if chosen["type"][0] == "force" and national.height else None

        def having_data(code: str | None) -> list[str]:
            found = {r[0] for r in mem.execute(
                "SELECT DISTINCT indicator_id FROM observation WHERE area_code = ?", [code]).fetchall()}
            return [i for i in (indicator_ids or indicators["id"].to_list()) if i in found]

        ids, context_ids = having_data(area), (having_data(context) if context else [])
        if not ids and not context_ids:
            raise SpcError(f"no data for the chosen indicators in area {area!r}")
        if period is None:
            own = ids or context_ids  # the pack is dated by the area's own figures where it has any
            end = mem.execute(
                f"SELECT max(period_start) FROM observation WHERE area_code = ? AND indicator_id IN "
                f"({', '.join('?' for _ in own)})", [area if ids else context, *own]).fetchall()[0][0]
        else:
            end = _parse_period(period)
        # The pack shows what the data up to the reporting period said.
        kept = [area, context or area]
        mem.execute("DELETE FROM observation WHERE period_start > ? OR area_code NOT IN (?, ?)", [end, *kept])
        demo = {r[0] for r in mem.execute(
            "SELECT DISTINCT o.indicator_id FROM observation o JOIN load_batch b ON b.id = o.load_batch_id "
            "WHERE b.source = 'demo'").fetchall()}
        results = compute(mem, sorted(set(ids) | set(context_ids)))
        # the area's own, its force's and every area's (spc.store.areas.covers); the context's
        force_of = {code: _force_of(mem, areas, code) for code in kept}
        annotations = frame(mem, "SELECT * FROM annotation WHERE deleted_at IS NULL AND date <= ?", [end])
        annotations = pl.concat([annotations.filter(covers(code, force)) for code, force in force_of.items()]
                                ).unique("id", keep="first", maintain_order=True)
    finally:
        mem.close()
    if results.summary.is_empty():
        raise SpcError(f"no indicator has two or more points up to {end:%Y-%m} in area {area!r}")
    # A pack for a past period reads as it would have at the end of that period; otherwise ages are today's.
    as_of = None if period is None else dt.date(end.year + end.month // 12, end.month % 12 + 1, 1) - dt.timedelta(days=1)
    return _Data(indicators=indicators, area={"code": area, "name": chosen["name"][0]},
                 area_names=dict(zip(areas["code"].to_list(), areas["name"].to_list())),
                 summary=results.summary, points=results.points, phases=results.phases,
                 annotations=annotations, demo=demo, period=end, as_of=as_of, context_area=context,
                 force_of=force_of)


def _ordered(data: _Data) -> pl.DataFrame:
    """Summary rows joined to the catalogue, in order of need for attention; national context last."""
    from spc.plots import ATTENTION_ORDER

    attention = pl.DataFrame({"variation": [k for k in ATTENTION_ORDER if k is not None],
                              "_attention": [v for k, v in ATTENTION_ORDER.items() if k is not None]})
    assurance = pl.DataFrame({"assurance": list(_ASSURANCE_ORDER), "_assure": list(_ASSURANCE_ORDER.values())})
    meta = data.indicators.select(pl.col("id").alias("indicator_id"), "name", "unit", "frequency", "source",
                                  "target_source", "sort_order", "priority")
    return (data.summary.join(meta, on="indicator_id", how="left")
            .join(attention, on="variation", how="left").join(assurance, on="assurance", how="left")
            .with_columns(pl.col("_attention").fill_null(9), pl.col("_assure").fill_null(9),
                          _context=pl.col("area_code") == pl.lit(data.context_area, pl.String),
                          area_name=pl.col("area_code").replace_strict(data.area_names, default=pl.col("area_code")))
            .with_columns(pl.col("_context").fill_null(False))
            .sort("_context", "_attention", "_assure", "sort_order", "indicator_id"))


_CSS = """
@page { size: A4 portrait; margin: 14mm 14mm 16mm 14mm; }
body { font-family: 'DejaVu Sans', Arial, Helvetica, sans-serif; color: #222; font-size: 10.5pt; margin: 0; }
.page { page-break-after: always; break-after: page; }
.page:last-child { page-break-after: auto; break-after: auto; }
h1 { font-size: 19pt; margin: 0 0 2mm 0; } h2 { font-size: 15pt; margin: 0 0 2mm 0; }
.sub { color: #555; margin: 0 0 4mm 0; }
table.summary { border-collapse: collapse; width: 100%; font-size: 9pt; }
table.summary th { text-align: left; border-bottom: 2px solid #444; padding: 1.5mm 1.5mm; }
table.summary td { border-bottom: 1px solid #ccc; padding: 1.2mm 1.5mm; vertical-align: middle; }
td.num { white-space: nowrap; text-align: right; }
.icons { display: flex; gap: 8mm; margin: 2mm 0 3mm 0; }
.narrative { font-size: 10pt; }
.narrative p { margin: 0 0 1.5mm 0; line-height: 1.3; }
.narrative p.headline { font-weight: bold; }
.narrative ul.episodes { margin: 0 0 1.5mm 0; padding-left: 5mm; font-size: 9pt; line-height: 1.25; }
.narrative ul.episodes p { margin: 0 0 0.8mm 0; }
.narrative ul.episodes.many { columns: 2; column-gap: 6mm; font-size: 8pt; }
.narrative ul.episodes.many li { break-inside: avoid; }
.dense .narrative { font-size: 8.5pt; } .dense .narrative ul.episodes { font-size: 7.5pt; }
.dense .narrative ul.episodes.many { font-size: 7pt; } .dense .intervention { font-size: 7.5pt !important; }
.dense ol.marks { font-size: 7.5pt; margin-bottom: 2mm; } .dense .narrative p { margin-bottom: 1mm; }
.dense .source { margin-top: 2mm; }
.source { color: #444; font-size: 8.5pt; border-top: 1px solid #bbb; padding-top: 2mm; margin-top: 3mm; }
.demo { color: #8a4b00; font-weight: bold; }
ol.marks { font-size: 8.5pt; color: #333; margin: 0 0 3mm 0; padding-left: 6mm; }
.note { font-size: 8.5pt; color: #444; margin-top: 4mm; }
"""


def _source_line(row: dict, data: _Data, produced: dt.date) -> str:
    parts = [f"Source: {html_text(row['source'] or 'not recorded')}."]
    if row["indicator_id"] in data.demo:
        parts.append('<span class="demo">Demo data: illustrative figures generated by spc, '
                     'not published statistics.</span>')
    if row.get("data_loaded_at") is not None:
        parts.append(f"Data loaded {row['data_loaded_at']:%d %B %Y}.")
    parts.append(f"Figures to {row['_period_text']}; pack produced {produced:%d %B %Y}.")
    return " ".join(parts)


def _narrative(rows: pl.DataFrame, data: _Data, today: dt.date) -> pl.DataFrame:
    """`spc.narrative.describe` for every page: the latest point, every special-cause episode
    on the chart, a suggested recalculation where the limits average two levels, missing
    periods, how old the latest figure is on `today`, and the medium to long-term trend
    (Theil-Sen with Mann-Kendall allowing for autocorrelation, seasonal Kendall for a seasonal
    series, or a step, over the last 36 months, `spc.trend`): the
    plans judge performance on that trend rather than on short-term fluctuations."""
    from spc import narrative, trend

    def keyed(df: pl.DataFrame) -> pl.DataFrame:
        return df.with_columns(series=pl.concat_str("indicator_id", "area_code", separator="|"))

    points = keyed(data.points)
    trends = trend.long_term_trend(points.select("series", "period", "value").drop_nulls("value"), window=36)
    return narrative.describe(keyed(rows),
                              keyed(data.phases), data.indicators, points=points, trend=trends, today=today)


def _interventions_html(points: pl.DataFrame, annotations: pl.DataFrame, r: dict) -> str:
    """'Did the intervention work?' for each annotated intervention of the page's series
    (spc.intervention.evaluations, as the Indicator page): the verdict against the trend and
    season before it, and the same period the year before."""
    from spc.intervention import evaluations

    found = evaluations(points, annotations, r["frequency"] or "month", r["unit"] or "")
    if not found:
        return ""
    out = ['<div class="intervention" style="font-size:8.5pt"><p class="headline">Did the intervention work?</p>']
    for e in found:
        yoy = f" Against the same period the year before: {html_text(e['year_on_year'])}" if e["year_on_year"] else ""
        out.append(f"<p><b>{html_text(e['heading'])}.</b> {html_text(e['verdict'])}{yoy}</p>")
    return "".join(out) + "</div>"


def render_html(data: _Data, *, title: str | None = None, produced: dt.date | None = None,
                plotlyjs: str | None = None) -> tuple[str, list[str]]:
    """The pack as one self-contained HTML document; returns it and the indicator ids in page order."""
    from plotly.offline import get_plotlyjs

    from spc import plots

    produced = produced or dt.date.today()
    rows = _ordered(data)
    text = _narrative(rows, data, data.as_of or produced)
    rows = (rows.with_columns(series=pl.concat_str("indicator_id", "area_code", separator="|"))
            .join(text.select("series", "headline", "status", "sentences", "episodes"), on="series", how="left",
                  maintain_order="left"))
    rows = rows.with_columns(_period_text=pl.struct("latest_period", "frequency").map_elements(
        lambda s: plots.format_period(s["latest_period"], s["frequency"] or "month"), return_dtype=pl.String))
    title = title or "Performance summary: police, fire and crime indicators"
    month = f"{data.period:%B %Y}"
    any_demo = bool(set(rows["indicator_id"]) & data.demo)
    cover = [f'<section class="page"><h1>{html_text(title)}</h1>',
             f'<p class="sub">Police, Fire and Crime Panel · {html_text(data.area["name"])} · data to {month} · '
             f'produced {produced:%d %B %Y}</p>',
             "<p>Each indicator is judged by statistical process control: a change is called real only when a "
             "rule says it is beyond normal variation. Targets, where they exist, are an assurance reference "
             "(will the process, as it runs now, meet it?), not the judgement. Indicators needing attention "
             "come first.</p>",
             ]

    def cover_table(chosen: pl.DataFrame) -> None:
        cover.append('<table class="summary"><thead><tr><th>Indicator</th><th>Latest</th><th>Period</th>'
                     "<th>Variation</th><th>Assurance</th></tr></thead><tbody>")
        for r in chosen.iter_rows(named=True):
            unit = r["unit"] or ""
            cover.append(
                f"<tr><td>{html_text(r['name'] or r['indicator_id'])}</td>"
                f'<td class="num">{html_text(plots.format_value(r["latest_value"], unit))}</td>'
                f"<td>{html_text(r['_period_text'])}</td>"
                f"<td>{plots.icon_with_label(plots.variation_icon_svg(r['variation'], r['improvement'], 26), plots.variation_label(r['variation'], r['improvement']))}</td>"
                f"<td>{plots.icon_with_label(plots.assurance_icon_svg(r['assurance'], 26), plots.assurance_label(r['assurance']))}</td></tr>")
        cover.append("</tbody></table>")

    own, context = rows.filter(~pl.col("_context")), rows.filter(pl.col("_context"))
    if own.height:
        cover_table(own)
    if context.height:
        # national figures are context for the force's own, never counted among them
        name = data.area_names.get(data.context_area or "", "national")
        cover.append(f'<h2 class="context">{html_text(name)}: national context</h2>'
                     f'<p class="note">These figures are for {html_text(name)} as a whole, not '
                     f'{html_text(data.area["name"])}; they are shown for comparison only.</p>')
        cover_table(context)
    sources = sorted({r["source"] for r in rows.iter_rows(named=True) if r["source"]})
    cover.append(f'<p class="note">Sources: {html_text("; ".join(sources))}.</p>')
    if any_demo:
        cover.append('<p class="note demo">This pack uses demo data: illustrative figures generated by spc '
                     "and calibrated to published figures. They are not published statistics.</p>")
    cover.append("</section>")
    pages = []
    for r in rows.iter_rows(named=True):
        key = (pl.col("indicator_id") == r["indicator_id"]) & (pl.col("area_code") == r["area_code"])
        pts = data.points.filter(key)
        # this page's area's annotations: a force's page and its national context page each their own
        anns = data.annotations.filter((pl.col("indicator_id").is_null()
                                        | (pl.col("indicator_id") == r["indicator_id"]))
                                       & covers(r["area_code"], data.force_of.get(r["area_code"])))
        sentences = r["sentences"] or []
        # the episodes are a list under their count; a long narrative gets a shorter chart
        listed = set((r["episodes"] or [])[1:])
        in_list = sum(len(x.split()) for x in listed)
        words = sum(len(x.split()) for x in sentences) - (in_list / 2 if len(listed) > 5 else 0)
        # "did the intervention work?" and the caution about month-to-month dependence are words
        # the page must also hold: they may take the chart below its usual shortest (up to 120 px)
        interventions = _interventions_html(pts, anns, r)
        extra = 0.75 * len(re.sub(r"<[^>]+>", " ", interventions).split()) + sum(
            len(x.split()) for x in sentences if "tends to be close to the" in x)
        words += extra
        # the numbered list of recorded dates under the chart takes the page's room too
        notes = plots.annotation_list(anns, r["frequency"] or "month")
        words += sum(len(n.split()) for n in notes)
        shortest = SHORT_CHART_HEIGHT - min(EXTRA_ROOM, 2 * extra)
        wanted = CHART_HEIGHT - 2 * (words - LONG_NARRATIVE_WORDS)
        dense = wanted < shortest
        height = int(max(shortest, min(CHART_HEIGHT, wanted)))
        # an XmR chart shares its room with the moving range chart under it (30%, at least 80 px),
        # and the control chart keeps a readable height whatever the words
        mr_height = max(80, round(0.3 * height)) if r["chart"] == "xmr" else 0
        height = max(MIN_CONTROL_HEIGHT, height - mr_height)
        fig = plots.control_chart(pts, unit=r["unit"] or "", annotations=anns, target=r["target"],
                                  show_target=r["target"] is not None, height=height,
                                  frequency=r["frequency"] or "month", large=False,
                                  limits_note=plots.limits_note(r["chart"], r["frequency"] or "month"),
                                  statistic=plots.statistic_title(r.get("chart_label"), r["unit"] or ""))
        fig.update_layout(width=CHART_WIDTH, height=height)
        chart = fig.to_html(full_html=False, include_plotlyjs=False,
                            config={"staticPlot": True, "displayModeBar": False})
        if r["chart"] == "xmr":
            # the moving range chart under every XmR chart, as Making Data Count shows it
            mr = plots.moving_range_chart(pts, unit=r["unit"] or "", height=mr_height,
                                          frequency=r["frequency"] or "month", large=False)
            mr.update_layout(width=CHART_WIDTH, height=mr_height)
            chart += mr.to_html(full_html=False, include_plotlyjs=False,
                                config={"staticPlot": True, "displayModeBar": False})
        if plots.statistic_note(r["chart"]):  # EWMA and CUSUM: the numbers quoted are the statistic
            chart += f'<p class="note">{html_text(plots.statistic_note(r["chart"]))}</p>'
        notes_html = ('<ol class="marks">' + "".join(
            f"<li>{html_text(n.split('. ', 1)[1])}</li>" for n in notes) + "</ol>") if notes else ""
        body = ""
        for is_episode, group in groupby(enumerate(sentences), key=lambda x: x[1] in listed):
            if is_episode:
                items = [x for _, x in group]
                many = " many" if len(items) > 5 else ""  # a long history in two columns
                body += f'<ul class="episodes{many}">' + "".join(f"<li><p>{html_text(x)}</p></li>" for x in items) + "</ul>"
            else:
                body += "".join(f'<p class="{"headline" if i == 0 else ""}">{html_text(x)}</p>' for i, x in group)
        pages.append(
            f'<section class="page{" dense" if dense else ""}"><h2>{html_text(r["name"] or r["indicator_id"])}</h2>'
            f'<p class="sub">{html_text(r["area_name"])}{" · national context" if r["_context"] else ""} · '
            f'{html_text(r["priority"] or "")} · '
            f'latest {html_text(r["_period_text"])}: {html_text(plots.format_value(r["latest_value"], r["unit"] or ""))}</p>'
            f'<div class="icons">'
            f"{plots.icon_with_label(plots.variation_icon_svg(r['variation'], r['improvement'], 34), plots.variation_label(r['variation'], r['improvement']))}"
            f"{plots.icon_with_label(plots.assurance_icon_svg(r['assurance'], 34), plots.assurance_label(r['assurance']))}"
            f"</div>{chart}{notes_html}<div class=\"narrative\">{body}{interventions}</div>"
            f'<p class="source">{_source_line(r, data, produced)}</p></section>')
    js = plotlyjs if plotlyjs is not None else get_plotlyjs()
    document = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{html_text(title)} – {month}</title><style>{_CSS}</style>"
                f"<script>{js}</script></head><body>{''.join(cover)}{''.join(pages)}</body></html>")
    return document, rows["indicator_id"].to_list()


def chromium() -> str:
    """The headless Chromium used to print PDFs ($SPC_CHROMIUM, else the first found on PATH)."""
    explicit = os.environ.get("SPC_CHROMIUM")
    if explicit:
        return explicit
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise SpcError("no Chromium found to print the PDF (install the `chromium` package, set $SPC_CHROMIUM, "
                   "or write --out briefing.html)")


def print_pdf(html_path: Path, pdf_path: Path, timeout: float = 120) -> None:
    """Print an HTML file to PDF with headless Chromium (offline: the HTML carries plotly.js)."""
    with tempfile.TemporaryDirectory(prefix="spc-chromium-") as profile:
        command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                   "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                   f"--user-data-dir={profile}", "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
                   "--virtual-time-budget=15000", f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SpcError(f"{pdf_path}: Chromium did not finish printing within {timeout:.0f} s") from None
    if done.returncode != 0 or not pdf_path.exists() or pdf_path.stat().st_size == 0:
        err = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise SpcError(f"{pdf_path}: Chromium could not print the PDF (exit {done.returncode}: {err[0]})")


def build_brief(db: str | Path, out: str | Path, *, period: str | None = None,
                indicator_ids: list[str] | None = None, area: str | None = None,
                title: str | None = None, force: str | None = None) -> BriefResult:
    """Write the briefing pack to `out` (.html, or .pdf printed from the same HTML): for `area`,
    else the force-wide area of `force` (needed when the store holds many forces)."""
    db, out = Path(db), Path(out)
    if not db.exists():
        raise SpcError(f"{db}: no such database; build it with `spc db init --db {db}`")
    data = _gather(db, period, indicator_ids, area, force)
    document, order = render_html(data, title=title)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() in (".html", ".htm"):
        out.write_text(document, encoding="utf-8")
    else:
        with tempfile.TemporaryDirectory(prefix="spc-brief-") as tmp:
            page = Path(tmp) / "briefing.html"
            page.write_text(document, encoding="utf-8")
            partial = out.with_name(out.name + ".part")
            print_pdf(page, partial)
            partial.replace(out)  # never leave a half-written PDF under the real name
    return BriefResult(path=out, pages=len(order), indicators=order, period=data.period)
