"""The real police.uk ASB chart with its 58-month gap, in a real headless Chromium.

The nine real Staffordshire street files (Oct 2018 to Feb 2019, Jan to Apr 2024) are imported
into a fresh store with `spc import police-uk`; the Indicator page for anti-social behaviour is
opened; the control chart drawn in the page must not join the figures across the gap, and must
say how many months are missing. The screenshot is tests/artifacts/asb_gap.png (look at it).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from browser_support import ARTIFACTS, ROOT, browser_page, needs_chromium, serve, settle

STREET = ROOT.parent / "shared" / "realdata" / "police_uk" / "staffordshire"

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
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
    """The app served by `streamlit run app.py` on that store."""
    with serve(asb_db, tmp_path_factory.mktemp("streamlit") / "streamlit.log") as url:
        yield url


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
    ARTIFACTS.mkdir(exist_ok=True)
    with browser_page(1440, 1400) as page:
        page.goto(asb_url + "/?page=indicator&indicator=asb_incidents&area=staffordshire")
        page.get_by_role("heading", name="Anti-social behaviour incidents").wait_for(timeout=60_000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        settle(page)
        traces = page.evaluate(LINE_TRACES)
        chart_text = page.locator(".js-plotly-plot").first.inner_text()
        page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "asb_gap.png"), full_page=True)

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
