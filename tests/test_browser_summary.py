"""The Summary at a laptop's 1366 × 768 in a real headless Chromium: what needs attention is on
the first screen. Saves tests/artifacts/summary_1366x768.png (look at it)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from browser_support import ARTIFACTS, browser_page, needs_chromium, settle
from browser_support import serve as _serve
from summary_support import add_new_concern, build_planted_store

pytestmark = [pytest.mark.browser, needs_chromium]

WIDTH, HEIGHT = 1366, 768


@pytest.fixture(scope="module")
def laptop():
    """A Chromium page at 1366 × 768."""
    with browser_page(WIDTH, HEIGHT) as pg:
        yield pg


def _open_summary(page, url: str) -> None:
    page.goto(url + "/")
    page.get_by_role("heading", name="Indicator summary").wait_for(timeout=60_000)
    page.locator(".spc-attention").wait_for(timeout=60_000)
    settle(page)


def _above_the_fold(page, locator) -> None:
    box = locator.bounding_box()
    assert box is not None, locator
    assert 0 <= box["y"] and box["y"] + box["height"] <= HEIGHT, box
    assert box["x"] + box["width"] <= WIDTH, box


def _names(db: Path, sql: str) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [r[0] for r in con.execute(sql).fetchall()]
    finally:
        con.close()


def test_concerns_are_named_on_the_first_screen(demo_db, laptop, tmp_path):
    concerns = _names(demo_db, """SELECT i.name FROM result_summary r JOIN indicator i ON i.id = r.indicator_id
                                  WHERE r.area_code = 'staffordshire' AND r.variation = 'special_cause_concern'""")
    assert concerns
    with _serve(demo_db, tmp_path / "streamlit.log") as url:
        _open_summary(laptop, url)
        ARTIFACTS.mkdir(exist_ok=True)
        laptop.screenshot(path=str(ARTIFACTS / "summary_1366x768.png"))
        for name in concerns:
            link = laptop.locator(".spc-attention li a", has_text=name).first
            _above_the_fold(laptop, link)
            # its line of why is on the first screen too
            _above_the_fold(laptop, link.locator("xpath=..").locator(".spc-why"))
        _above_the_fold(laptop, laptop.locator(".spc-chance"))
        _above_the_fold(laptop, laptop.locator("table.spc-matrix"))
        body = laptop.inner_text("body")
        assert "would be expected by chance alone" in body
        assert "late" in body
        # a concern's link opens its Indicator page
        laptop.locator(".spc-attention li a", has_text=concerns[0]).first.click()
        laptop.get_by_role("heading", name=concerns[0]).wait_for(timeout=60_000)
        assert "page=indicator" in laptop.url


def test_a_matrix_count_opens_those_indicators(demo_db, laptop, tmp_path):
    with _serve(demo_db, tmp_path / "streamlit.log") as url:
        _open_summary(laptop, url)
        cell = laptop.locator("table.spc-matrix td a[href*='special_cause_concern']").first
        n = int(cell.inner_text())
        cell.click()
        laptop.get_by_text(f"Showing {n} indicators").wait_for(timeout=60_000)
        settle(laptop)
        assert "variation=special_cause_concern" in laptop.url
        assert laptop.locator("table.spc-summary tbody tr:not(.spc-priority)").count() == n


def test_a_new_signal_is_named_on_the_first_screen(laptop, tmp_path):
    db = tmp_path / "planted.duckdb"
    build_planted_store(db)
    add_new_concern(db)
    with _serve(db, tmp_path / "streamlit.log") as url:
        _open_summary(laptop, url)
        item = laptop.locator(".spc-attention li", has_text="Crime: Robbery").first
        _above_the_fold(laptop, item)
        assert "NEW" in item.inner_text()
        laptop.screenshot(path=str(ARTIFACTS / "summary_1366x768_new_signal.png"))


def test_the_police_uk_outcomes_open_with_their_table(demo_db, laptop, tmp_path):
    """The outcomes' block, closed on arrival, shows every outcome type with its icons once opened
    (its table is drawn on opening)."""
    outcomes = _names(demo_db, """SELECT i.name FROM result_summary r JOIN indicator i ON i.id = r.indicator_id
                                  WHERE r.area_code = 'staffordshire' AND i.name LIKE 'Outcome:%'""")
    assert outcomes
    with _serve(demo_db, tmp_path / "streamlit.log") as url:
        _open_summary(laptop, url)
        laptop.locator("summary", has_text="Crime outcomes (police.uk)").click()
        table = laptop.locator('[data-testid="stExpander"] table.spc-summary').first
        table.wait_for(timeout=60_000)
        settle(laptop)
        assert sorted(table.locator("a").all_inner_texts()) == sorted(outcomes)
        # a sparkline, a variation icon and an assurance icon per outcome type, each drawn
        drawn = table.evaluate("""t => [...t.querySelectorAll('[role=img][aria-label]')].filter(
            e => getComputedStyle(e).backgroundImage.startsWith('url("data:image/svg+xml') && e.offsetWidth > 0).length""")
        assert drawn == 3 * len(outcomes)
