"""Issue 14, item 1: what a page shows that depends only on the data is made with the results.

Pages read it (spc.ui.data.series_views); results carry the version of the observations they
came from (spc.results.data_versions), a changed observation makes them stale and a recompute
refreshes them.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from spc.results import compute_results, from_json, stale_series, to_json
from spc.store import connect

ROOT = Path(__file__).resolve().parent.parent
SERIES = ("calls_999_answered_10s", "staffordshire")


def _view(db: Path) -> tuple[str, str, dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        version, summary_version, trend = con.execute(
            "SELECT v.data_version, s.data_version, v.trend FROM result_view v JOIN result_summary s "
            "USING (indicator_id, area_code) WHERE indicator_id = ? AND area_code = ?", list(SERIES)).fetchone()
    finally:
        con.close()
    return version, summary_version, from_json(trend)


def test_every_series_has_its_views_with_the_data_version(demo_db: Path) -> None:
    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        missing = con.execute("""
            SELECT count(*) FROM result_summary s LEFT JOIN result_view v USING (indicator_id, area_code)
            WHERE v.indicator_id IS NULL OR v.data_version IS DISTINCT FROM s.data_version
               OR s.data_version IS NULL OR s.chance_rate IS NULL""").fetchone()[0]
        narrative = from_json(con.execute("SELECT narrative FROM result_view WHERE indicator_id = ? AND area_code = ?",
                                          list(SERIES)).fetchone()[0])
    finally:
        con.close()
    assert missing == 0
    assert narrative["status"] and narrative["sentences"][0].startswith("999 calls answered within 10 seconds")
    version, _, trend = _view(demo_db)
    assert trend["direction"] and trend["end"].year >= 2020  # dates come back as dates


def test_a_changed_observation_makes_the_version_stale_and_a_recompute_refreshes_it(demo_db_copy: Path) -> None:
    before, _, _ = _view(demo_db_copy)
    con = connect(demo_db_copy)
    try:
        assert stale_series(con).is_empty()
        con.execute("UPDATE observation SET value = value * 0.5 WHERE indicator_id = ? AND area_code = ? "
                    "AND period_start = (SELECT max(period_start) FROM observation WHERE indicator_id = ? "
                    "AND area_code = ?)", [*SERIES, *SERIES])
        stale = stale_series(con)
        assert stale.rows() == [SERIES]
        compute_results(con, [SERIES[0]])
        assert stale_series(con).is_empty()
    finally:
        con.close()
    after, summary_after, _ = _view(demo_db_copy)
    assert after != before and after == summary_after


def test_dates_survive_the_round_trip() -> None:
    import datetime as dt

    value = {"a": dt.date(2024, 3, 1), "b": [dt.datetime(2024, 3, 1, 12, 5)], "c": None, "d": 1.5}
    assert from_json(to_json(value)) == value


CHECK = textwrap.dedent("""
    import sys
    import spc.engine, spc.chance, spc.results
    from streamlit.testing.v1 import AppTest

    def refuse(*args, **kwargs):
        raise AssertionError("a page view called the engine")

    # what a page view must not do: run the engine or the chance simulation
    spc.engine.analyse = spc.chance.analyse = spc.results.analyse = refuse
    spc.chance._simulate.cache_clear()
    for page, state in [("summary", {}), ("indicator", {"sel_indicator": "calls_999_answered_10s"}),
                        ("indicator", {"sel_indicator": "asb_incidents"}), ("briefing", {})]:
        at = AppTest.from_file(sys.argv[1], default_timeout=120)
        at.session_state["page"] = page
        for k, v in state.items():
            at.session_state[k] = v
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    heavy = [m for m in ("statsmodels", "scipy", "ruptures") if m in sys.modules]
    print("HEAVY", heavy)
""")


def test_summary_indicator_and_briefing_views_neither_run_the_engine_nor_import_statsmodels(demo_db: Path) -> None:
    """In a fresh process: rendering the pages calls no engine, simulates nothing and imports
    none of statsmodels, scipy or ruptures (all are paid when results are computed)."""
    done = subprocess.run([sys.executable, "-c", CHECK, str(ROOT / "app.py")], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env={**__import__("os").environ, "SPC_DB": str(demo_db)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "HEAVY []" in done.stdout, done.stdout


@pytest.mark.parametrize("table", ["result_view"])
def test_a_store_from_before_the_views_still_shows_the_indicator_page(monkeypatch, demo_db_copy: Path,
                                                                        table: str) -> None:
    """Results written before views were stored: the page makes them once itself."""
    from streamlit.testing.v1 import AppTest

    con = duckdb.connect(str(demo_db_copy))
    con.execute(f"DELETE FROM {table}")
    con.close()
    monkeypatch.setenv("SPC_DB", str(demo_db_copy))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["page"] = "indicator"
    at.session_state["sel_indicator"] = SERIES[0]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_app_indicator_narrative import page_text

    text = page_text(at)
    assert "Long-term trend" in text and "not computed" not in text
