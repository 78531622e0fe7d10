"""Text is text (issue 12 item 3): markup in everything a person typed and everything a file said
is shown literally in the app, the briefing pack (HTML and PDF) and the refresh digest.

The store is the demo built from a catalogue whose indicator name and description and whose
area names carry markup, with annotations (text and author), an analyst's chart setting (author)
and a rejected row (file name, value, reason) carrying it too: what a careless or hostile file or
analyst could put there. The browser test (test_browser_injection.py) uses the same store.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from auth_support import start

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
INJECTION = "<script>alert(1)</script> **Bob** [x](javascript:alert(1)) $x^2$ <img src=x onerror=alert(1)>"
IND_NAME = f"ASB {INJECTION}"
IND_DESCRIPTION = f"Described as {INJECTION}"
FORCE_NAME = f"Staffordshire {INJECTION}"
AREA_NAME = f"Tamworth {INJECTION}"
NOTE = f"Note {INJECTION}"
AUTHOR = f"Mallory {INJECTION}"
REJECTED_FILE = "tidy <img src=x onerror=alert(1)> **Bob** $x$.csv"
INDICATOR, FORCE, AREA = "asb_incidents", "staffordshire", "tamworth"
MD = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
TAG = re.compile(r"<[^>]+>")


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def build_injected_store(folder: Path) -> Path:
    """The demo store, its catalogue and analysts' entries carrying markup (see the module docstring)."""
    from spc.cli import main

    catalogue = folder / "catalogue"
    shutil.copytree(ROOT / "data" / "indicators.d", catalogue / "indicators.d")
    text = (ROOT / "data" / "indicators.toml").read_text(encoding="utf-8")
    text = _replace_once(text, 'name = "Anti-social behaviour incidents"', f'name = "{IND_NAME}"')
    text = _replace_once(text, 'description = "Anti-social behaviour incidents recorded by the police',
                         f'description = "{IND_DESCRIPTION} Anti-social behaviour incidents recorded by the police')
    text = _replace_once(text, 'name = "Staffordshire (force-wide)"', f'name = "{FORCE_NAME}"')
    text = _replace_once(text, 'name = "Tamworth"', f'name = "{AREA_NAME}"')
    (catalogue / "indicators.toml").write_text(text, encoding="utf-8")
    db = folder / "injected.duckdb"
    assert main(["db", "init", "--db", str(db), "--catalogue", str(catalogue / "indicators.toml")]) == 0

    # a file with a markup name and a row whose indicator code is markup: rejected, kept with its reason
    bad = folder / REJECTED_FILE
    bad.write_text(f"indicator,area,period,value\n{INJECTION},{FORCE},2024-01-01,3\n", encoding="utf-8")
    assert main(["import", "tidy", str(bad), "--db", str(db), "--no-recompute"]) == 1

    con = duckdb.connect(str(db))
    try:
        now = dt.datetime(2026, 1, 2, 9, 0)
        con.execute("INSERT INTO annotation (indicator_id, area_code, date, kind, text, author, created_at) "
                    "VALUES (?, NULL, DATE '2024-01-01', 'note', ?, ?, ?), (?, ?, DATE '2023-06-01', 'intervention', ?, ?, ?)",
                    [INDICATOR, NOTE, AUTHOR, now, INDICATOR, FORCE, f"Operation {INJECTION}", AUTHOR, now])
        # an analyst's setting that changes nothing but names its author
        con.execute("INSERT INTO series_setting (indicator_id, area_code, author, updated_at) VALUES (?, '*', ?, ?)",
                    [INDICATOR, AUTHOR, now])
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return db


@pytest.fixture(scope="module")
def injected_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store with markup in every text field the app, the pack and the digest show."""
    return build_injected_store(tmp_path_factory.mktemp("injected"))


# ---------------------------------------------------------------------------------------------
# checks shared by the app, the pack and the digest
# ---------------------------------------------------------------------------------------------


def same_text(text: str) -> str:
    """Whitespace collapsed and the invisible word joiner dropped: what a reader compares."""
    return " ".join(text.replace("\u2060", "").split())


class _Elements(HTMLParser):
    """Every element with its attributes, and the text outside <script> and <style>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def parse(markup: str) -> _Elements:
    parser = _Elements()
    parser.feed(markup)
    return parser


def assert_nothing_made_from_the_data(markup: str) -> None:
    """No element, attribute or link in rendered HTML comes from the injected text."""
    doc = parse(markup)
    for tag, attrs in doc.tags:
        assert not (tag == "img" and attrs.get("src") == "x"), attrs
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        assert not (attrs.get("href") or "").strip().lower().startswith("javascript:"), (tag, attrs)
    assert "<script>alert(1)" not in markup and "<img src=x" not in markup
    assert not re.search(r"<strong>\s*Bob\s*</strong>", markup), "**Bob** became bold"
    assert not re.search(r"<em>\s*Bob\s*</em>", markup)


# ---------------------------------------------------------------------------------------------
# (a) the app, rendered by AppTest: every Markdown body, label and chart
# ---------------------------------------------------------------------------------------------


def _run(monkeypatch, db: Path, page: str, **state) -> AppTest:
    return start(monkeypatch, db, page, timeout=120, **state)


def _markdown_bodies(at: AppTest) -> list[str]:
    """Every text Streamlit renders as Markdown: bodies, notices, titles and widget labels."""
    bodies = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success", "title",
                                   "header", "subheader") for e in at.get(kind)]
    bodies += [e.label for kind in ("expander", "metric", "checkbox", "radio", "selectbox", "multiselect", "button")
               for e in at.get(kind)]
    bodies += [e.help for kind in ("checkbox", "radio", "selectbox", "multiselect") for e in at.get(kind) if e.help]
    return [b for b in bodies if b]


def _charts(at: AppTest) -> list[str]:
    return [e.proto.spec for e in at.get("plotly_chart")]


def assert_app_page_is_literal(at: AppTest, *expected: str) -> str:
    """Every Markdown body renders, and every st.html body is, with nothing made from the data, and
    the page reads `expected`."""
    bodies = _markdown_bodies(at)
    for body in bodies:
        assert "$x^2$" not in body, f"a formula would be made of: {body[:300]}"
        assert_nothing_made_from_the_data(MD.render(body))
    # st.html bodies are HTML already (no Markdown): checked as they are, their text as a reader sees it
    htmls = [e.proto.body for e in at.get("html")]
    for body in htmls:
        assert_nothing_made_from_the_data(body)
    page = same_text(" ".join([html.unescape(TAG.sub("", MD.render(b))) for b in bodies]
                              + [" ".join(parse(b).text) for b in htmls]))
    for text in expected:
        assert same_text(text) in page, text
    for spec in _charts(at):
        # plotly renders <b>, <a href>, <br> ... in its text: the data's markup is escaped in the spec
        assert "<script>alert(1)</script>" not in spec and "<img src=x" not in spec and "**Bob**" not in spec
    return page


def test_summary_shows_names_literally(monkeypatch, injected_db):
    at = _run(monkeypatch, injected_db, "summary")
    assert_app_page_is_literal(at, IND_NAME, FORCE_NAME)


def test_indicator_page_shows_names_notes_and_authors_literally(monkeypatch, injected_db):
    at = _run(monkeypatch, injected_db, "indicator", sel_indicator=INDICATOR, sel_area=FORCE)
    page = assert_app_page_is_literal(at, IND_NAME, IND_DESCRIPTION, FORCE_NAME, NOTE, f"Operation {INJECTION}",
                                      AUTHOR)
    assert at.title[0].value and same_text(html.unescape(TAG.sub("", MD.render(at.title[0].value)))) == IND_NAME
    assert "changed by " + same_text(AUTHOR) in page
    # the annotation's hover text: no tag but plotly's own line break, and the note as typed
    marks = [t for c in _charts(at) for t in json.loads(c)["data"] if t.get("name", "").startswith("Recorded dates")]
    hovers = [row[1] for t in marks for row in t["customdata"]]
    assert all(not TAG.search(h.replace("<br>", "")) for h in hovers), hovers
    assert any(same_text(NOTE) in same_text(html.unescape(h)) for h in hovers), hovers


def test_indicator_page_for_an_area_with_markup_in_its_name(monkeypatch, injected_db):
    at = _run(monkeypatch, injected_db, "indicator", sel_indicator=INDICATOR, sel_area=AREA)
    assert_app_page_is_literal(at, IND_NAME, AREA_NAME)


def test_compare_briefing_and_data_pages_show_names_literally(monkeypatch, injected_db):
    at = _run(monkeypatch, injected_db, "compare", sel_indicator=INDICATOR)
    assert_app_page_is_literal(at)
    # the funnel plot's title names the indicator and its points the areas: escaped for plotly
    funnel = json.loads(_charts(at)[0])
    title = funnel["layout"]["title"]["text"].split("<br>")[0]
    assert not TAG.search(title) and same_text(IND_NAME) in same_text(html.unescape(title))
    labels = [x for t in funnel["data"] if isinstance(t.get("text"), list) for x in t["text"]]
    assert labels and not any(TAG.search(x) for x in labels)
    assert same_text(AREA_NAME) in [same_text(html.unescape(x)) for x in labels]
    at = _run(monkeypatch, injected_db, "briefing", brief_area=FORCE, brief_ids=[INDICATOR])
    assert_app_page_is_literal(at, IND_NAME, FORCE_NAME, NOTE)
    at = _run(monkeypatch, injected_db, "data")
    assert_app_page_is_literal(at)
    # the rejected row is in a table: cells are plain text, shown as they are
    cells = " ".join(str(v) for df in at.dataframe for v in df.value.to_numpy().ravel())
    assert INJECTION in cells and REJECTED_FILE in cells


def _signed_in_analyst(monkeypatch, injected_db: Path, tmp_path: Path, page: str, **state) -> AppTest:
    from auth_support import add_account, start_signed_in

    db = tmp_path / "injected.duckdb"
    shutil.copy2(injected_db, db)  # accounts change who sees what: not in the shared store
    add_account(db, "analyst", "analyst")
    return start_signed_in(monkeypatch, db, "analyst", page, **state)


def test_analyst_page_shows_notes_and_authors_literally(monkeypatch, injected_db, tmp_path):
    at = _signed_in_analyst(monkeypatch, injected_db, tmp_path, "analyst", sel_indicator=INDICATOR, sel_area=FORCE)
    assert_app_page_is_literal(at, NOTE, f"Operation {INJECTION}", AUTHOR)


def test_audit_page_shows_the_data_literally(monkeypatch, injected_db, tmp_path):
    assert_app_page_is_literal(_signed_in_analyst(monkeypatch, injected_db, tmp_path, "audit"))


# ---------------------------------------------------------------------------------------------
# (c) the briefing pack: HTML and the PDF's text
# ---------------------------------------------------------------------------------------------


def test_briefing_pack_html_and_pdf_show_the_text_literally(injected_db, tmp_path):
    from spc.brief import build_brief

    out = tmp_path / "pack.html"
    build_brief(injected_db, out, indicator_ids=[INDICATOR], area=FORCE)
    document = out.read_text(encoding="utf-8")
    assert_nothing_made_from_the_data(document)
    doc = parse(document)
    text = same_text(" ".join(doc.text))
    for expected in (IND_NAME, FORCE_NAME, f"Operation {INJECTION}"):
        assert same_text(expected) in text, expected
    # the only scripts are plotly's and the charts': none carries the data's alert
    assert all("alert(1)</script>" not in s for s in re.findall(r"<script[^>]*>.*?</script>", document, re.S))

    if not shutil.which("pdftotext") or not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.skip("Chromium and poppler-utils are needed for the PDF (make browser-deps)")
    pdf = tmp_path / "pack.pdf"
    build_brief(injected_db, pdf, indicator_ids=[INDICATOR], area=FORCE)
    pdf_text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
    flat = same_text(pdf_text)
    for expected in (IND_NAME, FORCE_NAME):
        assert same_text(expected) in flat, (expected, flat[:2000])


# ---------------------------------------------------------------------------------------------
# (d) the refresh digest (Markdown)
# ---------------------------------------------------------------------------------------------


def test_refresh_digest_shows_names_file_names_and_reasons_literally(injected_db):
    from spc import signals
    from spc.digest import build_digest, overdue_series, render_markdown
    from spc.store import connect
    from spc.store.queries import frame

    con = connect(injected_db, read_only=True)
    try:
        points = frame(con, "SELECT * FROM result_point WHERE indicator_id = ?", [INDICATOR])
        changes = signals.reconcile(signals.load_signals(con).head(0), signals.find_patterns(points),
                                    points.select("indicator_id", "area_code").unique())
        imports = [{"file": REJECTED_FILE, "source": "tidy", "status": "rejected", "loaded": 0, "revised": 0,
                    "rejected": 1}]
        digest = build_digest(con, run_id=None, started_at=dt.datetime(2026, 12, 5, 6, 0), status="dry-run",
                              changes=changes, imports=imports, since_batch=0, series_computed=1, series_changed=1,
                              overdue=overdue_series(con, dt.date(2026, 12, 5)), errors=[f"failed: {INJECTION}"],
                              dry_run=True, points=points)
    finally:
        con.close()
    assert digest["new_concerns"] + digest["new_improvements"] + digest["new_neutral"], "the demo ASB has signals"
    assert digest["rejected_rows"], "the rejected row is in the digest"
    md = render_markdown(digest)
    # read as text: the markup is escaped, never live
    assert not re.search(r"(?<!\\)[<$]", md), "an unescaped < or $"
    assert "**Bob**" not in md and "[x](" not in md
    assert r"\<script\>alert(1)\</script\> \*\*Bob\*\*" in md
    rendered = MD.render(md)
    assert_nothing_made_from_the_data(rendered)
    shown = same_text(html.unescape(TAG.sub("", rendered)))
    for expected in (IND_NAME, FORCE_NAME, REJECTED_FILE, INJECTION, f"failed: {INJECTION}"):
        assert same_text(expected) in shown, expected
