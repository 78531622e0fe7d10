"""The real police.uk ASB chart with its 58-month gap, in a real headless Chromium.

The nine real Staffordshire street files (Oct 2018 to Feb 2019, Jan to Apr 2024) are imported
into a fresh store with `spc import police-uk`; the Indicator page for anti-social behaviour is
opened; the control chart drawn in the page must not join the figures across the gap, and must
say how many months are missing. The screenshot is tests/artifacts/asb_gap.png (look at it).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_browser import ARTIFACTS, CHROMIUM, LAUNCH_ARGS, ROOT, _free_port, _settle

STREET = ROOT.parent / "shared" / "realdata" / "police_uk" / "staffordshire"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed (make browser-deps)"),
    pytest.mark.skipif(not STREET.exists(), reason="no ../shared/realdata police.uk files"),
]


@pytest.fixture(scope="module")
def asb_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh store holding only the real Staffordshire street files, imported by the CLI."""
    db = tmp_path_factory.mktemp("asb") / "asb.duckdb"
    spc = Path(sys.executable).parent / "spc"
    for args in (["db", "init", "--empty"], ["import", "police-uk", str(STREET)]):
        done = subprocess.run([str(spc), *args, "--db", str(db)], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    return db


@pytest.fixture(scope="module")
def asb_url(asb_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app served by `streamlit run app.py` on that store (the pattern of test_browser.app_url)."""
    port = _free_port()
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    streamlit = Path(sys.executable).parent / "streamlit"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(streamlit), "run", str(ROOT / "app.py"), "--server.headless", "true", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=dict(os.environ, SPC_DB=str(asb_db)), stdout=out, stderr=subprocess.STDOUT)
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


# every line trace of the first plotly chart on the page (the control chart), as the browser
# holds it: x as ISO date strings (or null), y as numbers (or null)
LINE_TRACES = """() => {
  const plot = document.querySelector('.js-plotly-plot');
  return plot.data.filter(t => (t.mode || '').includes('lines'))
                  .map(t => ({name: t.name || '', x: Array.from(t.x || []), y: Array.from(t.y || [])}));
}"""


def _day(x: str | None) -> dt.date | None:
    return None if x is None else dt.date.fromisoformat(str(x)[:10])


def test_real_asb_chart_breaks_at_the_58_month_gap_and_says_so(asb_url: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1400})
        page.goto(asb_url + "/?page=indicator&indicator=asb_incidents&area=staffordshire")
        page.get_by_role("heading", name="Anti-social behaviour incidents").wait_for(timeout=60_000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        _settle(page)
        traces = page.evaluate(LINE_TRACES)
        chart_text = page.locator(".js-plotly-plot").first.inner_text()
        page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "asb_gap.png"), full_page=True)
        browser.close()

    last_before, first_after = dt.date(2019, 2, 1), dt.date(2024, 1, 1)
    drawn = 0
    for t in traces:
        points = [(_day(x), y) for x, y in zip(t["x"], t["y"])]
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            if None in (x0, y0, x1, y1):
                continue
            drawn += 1
            assert not (x0 <= last_before and x1 >= first_after), f"{t['name']} joins {x0} to {x1}"
    assert drawn >= 7  # the value line is drawn on both sides (4 + 3 segments), and the limits
    # both stretches of the real data are on the chart, and the gap is named
    assert "58 months missing" in chart_text and "Mar 2019" in chart_text and "Dec 2023" in chart_text
