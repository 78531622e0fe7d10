"""App benchmark: each page of the app in headless Chromium against a bare Streamlit floor.

Starts the app (`streamlit run app.py`) on the demo store and, in the same run, a floor: a bare
Streamlit page drawing one plotly chart of the control chart's size (520 px high) from a parquet
file. Each page (Summary; Indicator for three indicators; Compare; Data; Briefing) is loaded once
to warm the server's caches, then five times; a load is timed from navigation until the last
element has rendered: the script has finished, the page's own last element is on screen and
every plotly chart on it has drawn. Reports the median, the ratio to the floor, and the time a
toggle takes (Indicator page, 'Show 2-sigma lines': click until the chart is redrawn).

    .venv/bin/python benchmarks/app.py [--db PATH] [--repeat 5] [--pages Summary Briefing toggle ...]

Each page is alternated with the floor (floor, page, floor, page, ...), and its ratio is to the
floor's median over those same rounds, so load that changes during a run moves both.

Without --db, the demo store is built in a temporary folder (`spc db init`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]

#: The floor: one plotly chart of the control chart's size, read from a parquet file.
FLOOR_PAGE = '''
import plotly.graph_objects as go
import polars as pl
import streamlit as st

points = pl.read_parquet(r"{parquet}")
fig = go.Figure(go.Scatter(x=points["period"].to_list(), y=points["value"].to_list(), mode="lines+markers"))
fig.update_layout(height=520)
st.plotly_chart(fig, width="stretch")
'''

#: Done: the script has finished, `text` is on screen (and the Summary's table, which the
#: browser draws after the script ends) and every plotly chart has drawn.
DONE_JS = """
(text) => {
  if (location.search.includes('page=summary') && !document.querySelector('table.spc-summary')) return false;
  const app = document.querySelector('.stApp');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  // a chart whose plotly code is still loading is a skeleton, not yet a stPlotlyChart
  if (document.querySelector('[data-testid="stSkeleton"]')) return false;
  if (text && !document.body.innerText.includes(text)) return false;
  const charts = document.querySelectorAll('[data-testid="stPlotlyChart"]');
  for (const c of charts) { if (!c.querySelector('.main-svg')) return false; }
  return true;
}
"""

#: (label, address query, the page's last element's text)
PAGES = [
    ("Summary", "page=summary", "How to read this page"),
    ("Indicator: 999 calls", "page=indicator&indicator=calls_999_answered_10s", "Download this series (CSV)"),
    ("Indicator: ASB incidents", "page=indicator&indicator=asb_incidents", "Download this series (CSV)"),
    ("Indicator: burglary", "page=indicator&indicator=crime_burglary", "Download this series (CSV)"),
    ("Compare areas", "page=compare", "Ranked table"),
    ("Data", "page=data", "Loads"),
    ("Briefing", "page=briefing", "Make a PDF"),
]


def free_port() -> int:
    """A free local TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(script: Path, env: dict[str, str], log: Path) -> Iterator[str]:
    """`streamlit run script`, headless on a free port; yields its URL."""
    port = free_port()
    streamlit = Path(sys.executable).parent / "streamlit"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(streamlit), "run", str(script), "--server.headless", "true", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"], cwd=script.parent, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"streamlit did not start:\n{log.read_text()}")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def load_time(pg, url: str, last_text: str) -> float:
    """Seconds from navigation to the last element rendered."""
    pg.goto("about:blank")
    started = time.perf_counter()
    pg.goto(url)
    pg.wait_for_function(DONE_JS, arg=last_text, timeout=180_000, polling=20)
    return time.perf_counter() - started


def toggle_time(pg, url: str) -> float:
    """Seconds from ticking 'Show 2-sigma lines' until the chart is redrawn with them."""
    pg.goto(url)
    pg.wait_for_function(DONE_JS, arg="Download this series (CSV)", timeout=180_000, polling=20)
    count_js = "() => document.querySelectorAll('[data-testid=\"stPlotlyChart\"] .scatterlayer .trace').length"
    before = pg.evaluate(count_js)
    started = time.perf_counter()
    pg.get_by_text("Show 2-sigma lines").click()
    pg.wait_for_function(f"(n) => ({count_js})() !== n && ({DONE_JS})('')", arg=before, timeout=60_000, polling=10)
    return time.perf_counter() - started


def median_of(measure: Callable[[], float], repeat: int) -> float:
    """One warm-up, then the median of `repeat` measurements."""
    measure()
    return statistics.median(measure() for _ in range(repeat))


def paired_medians(measure: Callable[[], float], floor: Callable[[], float], repeat: int) -> tuple[float, float]:
    """One warm-up of each, then `repeat` rounds alternating the floor and the measure; the two
    medians. Alternating keeps the ratio honest when the machine's load changes during a run."""
    floor(), measure()
    floors, times = [], []
    for _ in range(repeat):
        floors.append(floor())
        times.append(measure())
    return statistics.median(floors), statistics.median(times)


def main() -> None:
    """Build or take the store, serve the app and the floor, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="store to serve (default: the demo store, built now)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pages", nargs="*", metavar="WORD",
                        help="only the pages whose label contains one of these words (e.g. Summary Briefing toggle)")
    args = parser.parse_args()
    wanted = [w.lower() for w in args.pages or []]

    def chosen(label: str) -> bool:
        return not wanted or any(w in label.lower() for w in wanted)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="spc-bench-app-") as tmp:
        tmp_path = Path(tmp)
        db = args.db
        if db is None:
            db = tmp_path / "indicators.duckdb"
            # this tree's spc (the script's folder), not whichever one the environment installed
            subprocess.run([sys.executable, "-c", "import sys; from spc.cli import main; sys.exit(main(sys.argv[1:]))",
                            "db", "init", "--db", str(db)], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        import duckdb
        import polars as pl

        with duckdb.connect(str(db), read_only=True) as con:  # the floor draws a real series
            rows = con.execute(
                "SELECT period, value FROM result_point WHERE indicator_id = 'calls_999_answered_10s' "
                "ORDER BY area_code, period LIMIT 60").fetchall()
        pl.DataFrame(rows, schema=["period", "value"], orient="row").write_parquet(tmp_path / "points.parquet")
        floor_dir = tmp_path / "floor"
        floor_dir.mkdir()
        (floor_dir / "floor.py").write_text(FLOOR_PAGE.format(parquet=tmp_path / "points.parquet"))
        env = dict(os.environ, SPC_DB=str(db))
        results: list[tuple[str, float, float]] = []
        with serve(floor_dir / "floor.py", env, tmp_path / "floor.log") as floor_url, \
                serve(ROOT / "app.py", env, tmp_path / "app.log") as app_url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            pg = browser.new_page(viewport={"width": 1440, "height": 900})
            def floor() -> float:
                return load_time(pg, floor_url, "")

            for label, query, last in PAGES:
                if chosen(label):
                    floor_s, page_s = paired_medians(lambda: load_time(pg, f"{app_url}/?{query}", last), floor,
                                                     args.repeat)
                    results.append((label, floor_s, page_s))
            toggle = None
            if chosen("toggle"):
                toggle = median_of(
                    lambda: toggle_time(pg, f"{app_url}/?page=indicator&indicator=calls_999_answered_10s"), args.repeat)
            browser.close()
        load = os.getloadavg()[0]
        print(f"load average {load:.1f} at the end; median of {args.repeat} warm loads, each page alternated "
              "with the floor (a bare Streamlit page drawing one plotly chart)\n")
        print("| page | floor s | page s | × floor |\n|---|---:|---:|---:|")
        for label, floor_s, seconds in results:
            print(f"| {label} | {floor_s:.2f} | {seconds:.2f} | {seconds / floor_s:.1f} |")
        if toggle is not None:
            print(f"| toggle: Show 2-sigma lines (Indicator) | | {toggle:.2f} | |")


if __name__ == "__main__":
    main()
