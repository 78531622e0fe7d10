"""`spc brief`: the briefing pack as HTML and as a PDF printed by headless Chromium.

Checked the way a reader would: page count (pdfinfo), words on the pages (pdftotext), and a
page turned into a PNG (pdftoppm) kept in tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from spc.brief import build_brief
from spc.cli import main
from spc.plots import ATTENTION_ORDER
from spc.store import connect

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHOSEN = ["calls_999_answered_10s", "asb_incidents", "fire_attendance_standard_met"]
needs_tools = pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("pdfinfo")),
                                 reason="needs chromium and poppler-utils (make browser-deps)")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    """The demo store, as `spc db init` builds it."""
    db = tmp_path_factory.mktemp("brief") / "demo.duckdb"
    assert main(["db", "init", "--db", str(db)]) == 0
    return db


def _names(db: Path) -> dict[str, str]:
    con = connect(db, read_only=True)
    try:
        return dict(con.execute("SELECT id, name FROM indicator").fetchall())
    finally:
        con.close()


def test_html_pack_is_self_contained_ordered_and_sourced(demo_db, tmp_path):
    out = tmp_path / "briefing.html"
    result = build_brief(demo_db, out, period="2024-03", indicator_ids=CHOSEN)
    page = out.read_text()
    assert sorted(result.indicators) == sorted(CHOSEN) and result.pages == 3
    assert len(re.findall(r'<section class="page(?: dense)?">', page)) == 4  # cover + one per indicator
    assert "<script src=" not in page and "Plotly" in page      # plotly.js inline: works offline
    assert "data to March 2024" in page and "Police, Fire and Crime Panel" in page
    assert page.count("Demo data: illustrative") == 3           # every demo page says so
    assert page.count("long-term trend") == 3                   # each narrative judges the longer trend
    names = _names(demo_db)
    # pages in order of need for attention: the cover rows and the pages agree
    positions = [page.index(f"<h2>{names[i]}</h2>") for i in result.indicators]
    assert positions == sorted(positions)


@needs_tools
def test_pdf_has_a_cover_and_a_page_per_indicator(demo_db, tmp_path):
    out = tmp_path / "briefing.pdf"
    assert main(["brief", "--db", str(demo_db), "--period", "2024-03", "--indicators", ",".join(CHOSEN),
                 "--out", str(out)]) in (0, None)
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+4$", info, re.M)
    pages = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")
    names = _names(demo_db)
    cover = pages[0]
    assert "Police, Fire and Crime Panel" in cover and "data to March 2024" in cover
    for ind in CHOSEN:
        assert names[ind].split()[0] in cover
    # one indicator per page, each with its narrative, its source and the demo warning
    for text in pages[1:4]:
        found = [i for i in CHOSEN if names[i] in " ".join(text.split())]
        assert len(found) == 1
        assert "Source:" in text and "Demo data: illustrative" in " ".join(text.split())
        assert "March 2024" in " ".join(text.split()) or "Mar 2024" in text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(out, ARTIFACTS / "briefing.pdf")
    subprocess.run(["pdftoppm", "-r", "70", "-png", "-f", "1", "-l", "2", str(out), str(ARTIFACTS / "briefing")],
                   check=True)
    assert (ARTIFACTS / "briefing-1.png").stat().st_size > 10_000
    assert (ARTIFACTS / "briefing-2.png").stat().st_size > 10_000


def test_attention_order_and_period_cut(demo_db, tmp_path):
    """Concerns come before improvements before normal variation; data after the period is not used."""
    out = tmp_path / "b.html"
    early = build_brief(demo_db, out, period="2023-06", indicator_ids=CHOSEN)
    assert early.period.isoformat() == "2023-06-01"
    page = out.read_text()
    cover = page.split("</table>")[0]
    assert "Jun 2023" in cover and "Jul 2023" not in cover       # the cover shows nothing after June 2023
    from spc.brief import _gather, _ordered

    ranks = [ATTENTION_ORDER.get(v, 9) for v in
             _ordered(_gather(demo_db, "2023-06", CHOSEN, None))["variation"].to_list()]
    assert ranks == sorted(ranks)


def test_brief_errors_are_one_line(demo_db, tmp_path, capsys):
    assert main(["brief", "--db", str(demo_db), "--indicators", "nope", "--out", str(tmp_path / "x.pdf")]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["brief", "--db", str(demo_db), "--period", "March", "--out", str(tmp_path / "x.pdf")]) == 2
    assert main(["brief", "--db", str(demo_db), "--out", str(tmp_path / "x.docx")]) == 2
