"""The Summary at a laptop's 1366 × 768 in a real headless Chromium: what needs attention is on
the first screen. Saves tests/artifacts/summary_1366x768.png (look at it)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from summary_support import add_new_concern, build_planted_store
from test_browser import ARTIFACTS, CHROMIUM, LAUNCH_ARGS, ROOT, _free_port, _settle

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed (make browser-deps)"),
]

WIDTH, HEIGHT = 1366, 768


@contextmanager
def _serve(db: Path, log: Path) -> Iterator[str]:
    """`streamlit run app.py` on `db`, on a free local port (as tests/test_browser.py)."""
    port = _free_port()
    env = dict(os.environ, SPC_DB=str(db))
    streamlit = Path(sys.executable).parent / "streamlit"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(streamlit), "run", str(ROOT / "app.py"), "--server.headless", "true", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not start:\n{log.read_text()}")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert "Traceback" not in log.read_text(), log.read_text()


@pytest.fixture(scope="module")
def laptop():
    """A Chromium page at 1366 × 768."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        browser.close()


def _open_summary(page, url: str) -> None:
    page.goto(url + "/")
    page.get_by_role("heading", name="Indicator summary").wait_for(timeout=60_000)
    page.locator(".spc-attention").wait_for(timeout=60_000)
    _settle(page)


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
        _settle(laptop)
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
