"""The Streamlit app, driven with streamlit.testing.v1.AppTest on the demo database."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from auth_support import add_account, query, start_signed_in
from auth_support import start as run_app
from spc import plots

APP = str(Path(__file__).resolve().parent.parent / "app.py")
READ_PAGES = ["summary", "indicator", "compare", "data", "briefing"]
PAGES = READ_PAGES + ["analyst"]


def all_markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def page_html(at: AppTest) -> str:
    """The page's st.html blocks (the Summary's text and tables), in page order."""
    return "\n".join(h.proto.body for h in at.html)


def summary_tables(at: AppTest) -> list[str]:
    """The Summary's tables (drawn with st.html), in page order: the main one first."""
    return re.findall(r'<table class="spc-summary".*?</table>', page_html(at), re.S)


def _button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r}: {[b.label for b in at.button]}"
    return matches[0]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_the_demo_database(monkeypatch, demo_db, page):
    before = _digest(demo_db)
    at = run_app(monkeypatch, demo_db, page)
    assert at.title, f"page {page} shows no title"
    assert not at.error, [e.value for e in at.error]
    # every page says plainly that the demo figures are illustrative
    text = all_markdown(at) + " ".join(i.value for i in at.info)
    assert "illustrative" in text.lower()
    # reading never writes: the database file is byte for byte the same, with no WAL left behind
    assert _digest(demo_db) == before
    assert not Path(str(demo_db) + ".wal").exists()


def test_summary_shows_every_indicator_with_icons_and_status(monkeypatch, demo_db):
    expected = query(demo_db, """
        SELECT i.name, r.variation, r.assurance, r.status, r.improvement FROM result_summary r
        JOIN indicator i ON i.id = r.indicator_id WHERE r.area_code = 'staffordshire'""")
    assert expected.height >= 10
    at = run_app(monkeypatch, demo_db, "summary", summary_outcomes=True)
    # the main table and the police.uk outcomes' own block (opened) between them show every indicator
    table = "".join(summary_tables(at))
    for row in expected.iter_rows(named=True):
        assert row["name"].replace("'", "&#x27;") in table, row["name"]
        assert (row["status"] or "").replace("'", "&#x27;") in table
    # one variation and one assurance icon per indicator, each with its words (a labelled picture:
    # st.html keeps no inline SVG, so each is drawn as a CSS background image)
    assert table.count('role="img"') >= 3 * expected.height  # icons + sparkline
    for variation in expected["variation"].unique().to_list():
        assert plots.VARIATION_LABELS[variation] in table
    assert plots.ASSURANCE_LABELS[None] in table
    # the priorities are shown as group headings
    for priority in query(demo_db, "SELECT DISTINCT i.priority FROM indicator i JOIN result_summary r "
                                   "ON r.indicator_id = i.id")["priority"].to_list():
        assert priority in table


def test_summary_needs_attention_puts_concerns_first(monkeypatch, demo_db):
    concern = query(demo_db, """
        SELECT i.name, i.priority FROM result_summary r JOIN indicator i ON i.id = r.indicator_id
        WHERE r.area_code = 'staffordshire' AND r.variation = 'special_cause_concern'""")
    assert concern.height, "the demo data should have at least one concern"
    at = run_app(monkeypatch, demo_db, "summary", summary_sort="Needs attention first")
    table = summary_tables(at)[0]
    calm = query(demo_db, """
        SELECT i.name, i.priority FROM result_summary r JOIN indicator i ON i.id = r.indicator_id
        WHERE r.area_code = 'staffordshire' AND r.variation = 'common_cause'""")
    for row in concern.iter_rows(named=True):
        same = calm.filter(pl.col("priority") == row["priority"])
        for other in same["name"].to_list():
            assert table.index(f">{row['name']}<") < table.index(f">{other}<"), (row["name"], other)


def test_summary_area_filter_shows_only_that_areas_indicators(monkeypatch, demo_db):
    local = query(demo_db, "SELECT name FROM indicator WHERE local")["name"].to_list()
    force_only = query(demo_db, "SELECT name FROM indicator WHERE NOT local")["name"].to_list()
    at = run_app(monkeypatch, demo_db, "summary", summary_area="tamworth")
    table = summary_tables(at)[0]
    assert all(f">{n}<" in table for n in local)
    assert not any(f">{n}<" in table for n in force_only)


def test_indicator_page_shows_chart_rules_trend_and_comparison(monkeypatch, demo_db):
    at = run_app(monkeypatch, demo_db, "indicator", sel_indicator="asb_incidents", sel_area="staffordshire")
    # the areas side by side are drawn on request (issue 14: below the fold, the largest chart)
    assert [c.key for c in at.get("plotly_chart")] == ["control_chart"]
    at.toggle(key="opt_areas").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Anti-social behaviour incidents"
    from test_app_indicator_narrative import headings

    headers = headings(at)
    for heading in ("What the rules found", "Trend and seasonality", "This year against last year",
                    "Across the areas", "Data"):
        assert heading in headers
    charts = at.get("plotly_chart")
    # the control chart with the moving range chart under it (ASB is an XmR chart: one figure,
    # two panels), then the small multiples
    assert [c.key for c in charts] == ["control_chart", "small_multiples"]
    control = json.loads(charts[0].proto.spec)
    assert "Moving range chart" in [a.get("text") for a in control["layout"]["annotations"]]
    panel = [t for t in control["data"] if t.get("yaxis") == "y2"]
    assert "Moving range (difference from the point before)" in [t.get("name") for t in panel]
    assert control["layout"]["yaxis2"]["title"]["text"] == "moving range"
    from test_app_indicator_narrative import page_text

    text = page_text(at)
    assert "Long-term trend" in text
    assert re.search(r"(beyond|within) what chance alone gives", text), "the year-on-year sentence is missing"
    # the demo marks a recalculation for ASB: it is listed under the chart
    assert "Limits recalculated" in text


def test_missing_database_shows_the_build_command(monkeypatch, tmp_path):
    missing = tmp_path / "nowhere.duckdb"
    at = run_app(monkeypatch, missing)
    assert "no database" in at.error[0].value.lower()
    assert any(f"spc db init --db {missing}" in c.value for c in at.code)
    assert not missing.exists(), "showing the message must not create the file"


@pytest.mark.parametrize("content", [b"", b"period,value\n2024-01-01,3\n"])
def test_a_file_that_is_not_a_database_shows_the_build_command(monkeypatch, tmp_path, content):
    path = tmp_path / "indicators.duckdb"
    path.write_bytes(content)
    at = run_app(monkeypatch, path)
    assert "not" in at.error[0].value and str(path) in at.error[0].value
    assert any(f"spc db init --db {path}" in c.value for c in at.code)


def test_empty_database_shows_the_build_command(monkeypatch, tmp_path):
    from spc.cli import main

    path = tmp_path / "empty.duckdb"
    assert main(["db", "init", "--empty", "--db", str(path)]) == 0
    at = run_app(monkeypatch, path)
    assert "no computed results" in at.error[0].value or "no indicators" in at.error[0].value
    assert any("spc db init --db" in c.value for c in at.code)


def test_results_older_than_the_data_are_flagged(monkeypatch, demo_db_copy):
    con = duckdb.connect(str(demo_db_copy))
    con.execute("UPDATE observation SET loaded_at = loaded_at + INTERVAL 1 DAY "
                "WHERE indicator_id = 'asb_incidents' AND area_code = 'tamworth'")
    con.close()
    at = run_app(monkeypatch, demo_db_copy, "summary")
    warning = " ".join(w.value for w in at.warning)
    assert "older than the data" in warning
    assert "1 of" in warning


def _summary_table(at: AppTest) -> str:
    return summary_tables(at)[0]


def test_summary_marks_what_changed_since_the_previous_refresh(monkeypatch, demo_db_copy):
    from spc.cli import main

    at = run_app(monkeypatch, demo_db_copy, "summary", summary_area="tamworth")
    assert "NEW since last refresh" not in _summary_table(at)  # only db init so far: nothing to compare
    assert "first run" in page_html(at)
    # a revised figure arrives: Tamworth's latest burglary count triples; the scheduled refresh
    # recomputes and records a new concern signal
    con = duckdb.connect(str(demo_db_copy))
    con.execute("""UPDATE observation SET value = value * 3, loaded_at = now()
                   WHERE indicator_id = 'crime_burglary' AND area_code = 'tamworth'
                     AND period_start = (SELECT max(period_start) FROM observation
                                         WHERE indicator_id = 'crime_burglary')""")
    con.close()
    assert main(["refresh", "--db", str(demo_db_copy), "--only", "crime_burglary"]) == 3  # 3: new concern
    at = run_app(monkeypatch, demo_db_copy, "summary", summary_area="tamworth")
    marked = [row for row in _summary_table(at).split("<tr") if "NEW since last refresh" in row]
    assert len(marked) == 1
    assert ">Crime: Burglary<" in marked[0] and "concern" in marked[0]
    assert "<strong>1</strong> new signal" in page_html(at)
    # the force-wide view has no new signal of its own
    at = run_app(monkeypatch, demo_db_copy, "summary", summary_area="staffordshire")
    assert "NEW since last refresh" not in _summary_table(at)


def test_analyst_chart_type_change_persists_and_changes_the_result(monkeypatch, demo_db_copy):
    before = query(demo_db_copy, "SELECT chart, upper FROM result_summary "
                                 "WHERE indicator_id = 'asb_incidents' AND area_code = 'staffordshire'")
    assert before["chart"][0] == "xmr" and before["upper"][0] is not None
    add_account(demo_db_copy, "test.analyst", "analyst", "analyst-pass-1")
    at = start_signed_in(monkeypatch, demo_db_copy, "test.analyst", "analyst", sel_indicator="asb_incidents",
                         sel_area="staffordshire")
    at.selectbox(key="set_chart").set_value("run")
    at.text_input(key="set_reason").input("Too few events for limits")
    _button(at, "Save settings and recompute").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Saved chart settings" in s.value for s in at.success), [e.value for e in at.error]

    setting = query(demo_db_copy, "SELECT * FROM series_setting WHERE indicator_id = 'asb_incidents'")
    assert setting.height == 1
    row = setting.row(0, named=True)
    assert (row["area_code"], row["chart"], row["author"]) == ("staffordshire", "run", "test.analyst")
    assert row["updated_at"] is not None
    after = query(demo_db_copy, "SELECT chart, upper FROM result_summary "
                                "WHERE indicator_id = 'asb_incidents' AND area_code = 'staffordshire'")
    assert after["chart"][0] == "run" and after["upper"][0] is None  # a run chart has no limits
    limits = query(demo_db_copy, "SELECT count(upper) AS n FROM result_point "
                                 "WHERE indicator_id = 'asb_incidents' AND area_code = 'staffordshire'")
    assert limits["n"][0] == 0
    # other areas keep the catalogue's chart
    other = query(demo_db_copy, "SELECT chart FROM result_summary "
                                "WHERE indicator_id = 'asb_incidents' AND area_code = 'tamworth'")
    assert other["chart"][0] == "xmr"


def test_analyst_recalculation_date_persists_and_starts_a_new_phase(monkeypatch, demo_db_copy):
    series = "indicator_id = 'crime_burglary' AND area_code = 'staffordshire'"
    phases_before = query(demo_db_copy, f"SELECT count(*) AS n FROM result_phase WHERE {series}")["n"][0]
    periods = query(demo_db_copy, f"SELECT period FROM result_point WHERE {series} ORDER BY period")["period"]
    date = periods[periods.len() - 15]  # 15 points from the end: a new phase of its own
    add_account(demo_db_copy, "test.analyst", "analyst", "analyst-pass-1")
    at = start_signed_in(monkeypatch, demo_db_copy, "test.analyst", "analyst", sel_indicator="crime_burglary",
                         sel_area="staffordshire")
    at.selectbox(key="ann_kind").set_value("recalculate")
    at.selectbox(key="ann_date").set_value(date)
    at.text_area(key="ann_reason").input("New recording practice")
    _button(at, "Save and recompute").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    ann = query(demo_db_copy, "SELECT * FROM annotation WHERE text = 'New recording practice'")
    assert ann.height == 1
    a = ann.row(0, named=True)
    assert (a["indicator_id"], a["area_code"], a["kind"], a["author"], a["date"]) == (
        "crime_burglary", "staffordshire", "recalculate", "test.analyst", date)
    assert a["created_at"] is not None
    phases_after = query(demo_db_copy, f"SELECT count(*) AS n FROM result_phase WHERE {series}")["n"][0]
    assert phases_after == phases_before + 1
    starts = query(demo_db_copy, f"SELECT start FROM result_phase WHERE {series}")["start"].to_list()
    assert date in starts
    # the note shows on the page the analyst is looking at
    assert "New recording practice" in all_markdown(at)


def test_analyst_change_without_a_reason_is_refused(monkeypatch, demo_db_copy):
    add_account(demo_db_copy, "test.analyst", "analyst", "analyst-pass-1")
    at = start_signed_in(monkeypatch, demo_db_copy, "test.analyst", "analyst", sel_indicator="asb_incidents",
                         sel_area="staffordshire")
    at.selectbox(key="set_chart").set_value("run")
    _button(at, "Save settings and recompute").click()
    at.run()
    assert any("please give a reason" in e.value for e in at.error)
    assert query(demo_db_copy, "SELECT count(*) AS n FROM series_setting")["n"][0] == 0
    assert query(demo_db_copy, "SELECT count(*) AS n FROM series_setting")["n"][0] == 0


def test_briefing_download_is_a_self_contained_page(monkeypatch, demo_db):
    at = run_app(monkeypatch, demo_db, "briefing", brief_area="staffordshire",
                 brief_ids=["asb_incidents", "calls_999_answered_10s"])
    # the first screen: both in the summary table, the first one's chart and narrative; the other one click away
    table = next(h.proto.body for h in at.html if '<table class="spc-summary"' in h.proto.body)
    assert "999 calls answered within 10 seconds" in table and "Anti-social behaviour incidents" in table
    assert len(at.subheader) == 1 and len(at.get("plotly_chart")) == 1
    _button(at, "Show the other indicator: its chart, recorded dates and narrative").click()
    at.run()
    headers = [h.value for h in at.subheader]
    assert sorted(headers) == ["999 calls answered within 10 seconds", "Anti-social behaviour incidents"]
    assert len(at.get("plotly_chart")) == 2
    # each chart's narrative under it, naming the indicator and the area
    narratives = [h.proto.body for h in at.html if "<ul class='spc-brief-narrative'>" in h.proto.body]
    assert len(narratives) == 2
    assert all("(Staffordshire (force-wide))" in n for n in narratives)
    assert not [b for b in at.button if b.label.startswith("Show the other")]  # stays shown
    from spc.ui.briefing import briefing_html
    from spc.ui.data import overview, stamp

    page = briefing_html(overview(str(demo_db), stamp(demo_db)), str(demo_db),
                         ["asb_incidents", "calls_999_answered_10s"], "staffordshire", "Briefing")
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert page.count("Plotly.newPlot") == 2
    assert "Anti-social behaviour incidents" in page and "<svg" in page
    assert "not official statistics" in page


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Chromium prints the PDF (make browser-deps)")
def test_briefing_pdf_through_the_briefing_pack(monkeypatch, demo_db):
    at = run_app(monkeypatch, demo_db, "briefing", brief_area="staffordshire", brief_ids=["asb_incidents"])
    _button(at, "Make a PDF (takes a few seconds)").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["brief_pdf_bytes"].startswith(b"%PDF")


def test_pages_wait_for_a_refresh_that_holds_the_database(monkeypatch, demo_db_copy):
    """Another process (the scheduled refresh) holds the write lock: the app waits, then shows the page."""
    import subprocess
    import sys
    import time

    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('locked', flush=True); "
         "time.sleep(3); con.close()", str(demo_db_copy)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        start = time.monotonic()
        at = run_app(monkeypatch, demo_db_copy, "summary")
        waited = time.monotonic() - start
    finally:
        holder.wait(timeout=30)
    assert not at.error, [e.value for e in at.error]
    assert summary_tables(at)
    assert waited >= 1.5  # it really waited for the lock rather than reading half-written data


def test_analyst_withdrawing_a_recalculation_keeps_it_and_merges_the_phases(monkeypatch, demo_db_copy):
    ann = query(demo_db_copy, "SELECT id, date FROM annotation WHERE indicator_id = 'asb_incidents' "
                              "AND kind = 'recalculate' AND deleted_at IS NULL")
    assert ann.height == 1, "the demo marks one ASB recalculation"
    series = "indicator_id = 'asb_incidents' AND area_code = 'staffordshire'"
    phases_before = query(demo_db_copy, f"SELECT count(*) AS n FROM result_phase WHERE {series}")["n"][0]
    add_account(demo_db_copy, "test.analyst", "analyst", "analyst-pass-1")
    at = start_signed_in(monkeypatch, demo_db_copy, "test.analyst", "analyst", sel_indicator="asb_incidents",
                         sel_area="staffordshire")
    at.selectbox(key="wd_annotation").set_value(ann["id"][0])
    at.text_input(key="wd_reason").input("The change was a recording artefact")
    _button(at, "Withdraw").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    kept = query(demo_db_copy, "SELECT deleted_at, withdrawn_by, withdrawn_reason FROM annotation WHERE id = ?",
                 [ann["id"][0]])
    assert kept.height == 1 and kept["deleted_at"][0] is not None  # withdrawn, not deleted
    assert (kept["withdrawn_by"][0], kept["withdrawn_reason"][0]) == ("test.analyst", "The change was a recording artefact")
    phases_after = query(demo_db_copy, f"SELECT count(*) AS n FROM result_phase WHERE {series}")["n"][0]
    assert phases_after == phases_before - 1
    assert any("~~" in m.value and "withdrawn" in m.value for m in at.markdown)
