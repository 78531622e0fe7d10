"""Briefing mode in a real headless Chromium: the first screen is the summary table of every chosen
indicator (icons and sparklines as pictures) and the first chart; one click shows every other
chosen indicator's chart, recorded dates and narrative, and the page then prints whole. Saves
tests/artifacts/briefing_first_1440.png and briefing_all_1440.png (look at them)."""

from __future__ import annotations

import pytest

from browser_support import ARTIFACTS, browser_page, needs_chromium, settle
from browser_support import serve as _serve

pytestmark = [pytest.mark.browser, needs_chromium]

#: Every chart on the page has drawn (no chart still waiting for plotly).
CHARTS_DRAWN = """(n) => !document.querySelector('[data-testid="stSkeleton"]')
  && document.querySelectorAll('[data-testid="stPlotlyChart"]').length === n
  && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(c => c.querySelector('.main-svg'))"""


def _full_page(pg, name: str) -> None:
    """A screenshot of the whole page (the app scrolls inside its main block)."""
    height = pg.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    size = pg.viewport_size
    pg.set_viewport_size({"width": size["width"], "height": min(height + 50, 16000)})
    pg.wait_for_timeout(500)
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / name))
    pg.set_viewport_size(size)


def test_the_briefing_shows_the_first_chart_and_the_others_one_click_away(demo_db, tmp_path):
    with _serve(demo_db, tmp_path / "streamlit.log") as url, browser_page(1440, 900) as pg:
        pg.goto(url + "/?page=briefing")
        pg.get_by_text("Make a PDF").wait_for(timeout=60_000)
        settle(pg)
        pg.wait_for_function(CHARTS_DRAWN, arg=1, timeout=60_000)
        names = pg.locator("table.spc-summary tbody tr:not(.spc-priority) td:first-child").all_inner_texts()
        chosen = len(names)
        assert chosen >= 2, names  # the demo store has several concerns
        # the table's icons and sparklines are pictures that draw (st.html keeps no inline SVG)
        pictures = pg.locator("table.spc-summary .spc-i")
        assert pictures.count() >= 3 * chosen
        for i in range(pictures.count()):
            drawn = pictures.nth(i).evaluate(
                "e => [getComputedStyle(e).backgroundImage, e.getBoundingClientRect().width]")
            assert drawn[0].startswith('url("data:image/svg+xml') and drawn[1] > 0, drawn
        # the first chosen indicator in full; the others named in the table and one click away
        headings = pg.locator("[data-testid='stMain'] h3").all_inner_texts()
        assert len(headings) == 1 and names[0].startswith(headings[0]), (headings, names)
        assert pg.locator("ul.spc-brief-narrative").count() == 1
        _full_page(pg, "briefing_first_1440.png")
        pg.get_by_role("button", name=f"Show the other {chosen - 1} indicators").click()
        pg.wait_for_function(CHARTS_DRAWN, arg=chosen, timeout=60_000)
        settle(pg)
        headings = pg.locator("[data-testid='stMain'] h3").all_inner_texts()
        assert len(headings) == chosen
        assert all(name.startswith(heading) for name, heading in zip(names, headings)), (names, headings)
        narratives = pg.locator("ul.spc-brief-narrative").all_inner_texts()
        assert len(narratives) == chosen and all("Latest data" in n for n in narratives)
        assert pg.get_by_role("button", name="Show the other").count() == 0
        _full_page(pg, "briefing_all_1440.png")
        # printed: no sidebar, every chart and narrative on paper, one indicator a page
        pg.emulate_media(media="print")
        assert not pg.locator("[data-testid='stSidebar']").is_visible()
        assert pg.locator("[data-testid='stPlotlyChart'] .main-svg").first.is_visible()
        assert pg.locator(".spc-page-break").count() == chosen
        pdf = pg.pdf(format="A4")
        assert pdf.startswith(b"%PDF")
