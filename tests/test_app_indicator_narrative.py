"""The Indicator and Analyst pages tell the truth of the chart (issue 10 items 1 to 3), driven
with streamlit's AppTest on the demo database."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from auth_support import add_account, query, start_signed_in
from auth_support import start as run_app

def html_text(body: str) -> str:
    """The words of an `st.html` block as a reader sees them: one line per paragraph, each list
    item a '- ' line (as the Markdown the page once wrote them in), entities decoded."""
    body = re.sub(r"<li>", "\n- ", body)
    body = re.sub(r"<br>|</(?:p|li|ul|h3|summary|div)>", "\n", body)
    return html.unescape(re.sub(r"<[^>]+>", "", body))


def page_text(at: AppTest) -> str:
    """Everything the page says in words: markdown, captions, notices and the text blocks (the
    Indicator page draws its words as a few `st.html` blocks, issue 14)."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [w.value for w in at.warning] \
        + [i.value for i in at.info] + [html_text(h.proto.body) for h in at.html]
    return "\n".join(parts)


def headings(at: AppTest) -> list[str]:
    """The page's headings under its title, in order: subheaders and the text blocks' <h3>."""
    found = [h.value for h in at.subheader]
    for body in (h.proto.body for h in at.html):
        found += [html.unescape(re.sub(r"<[^>]+>", "", x)) for x in re.findall(r"<h3>(.*?)</h3>", body, re.S)]
    return found


def details(at: AppTest) -> dict[str, str]:
    """The page's analyst details (closed `<details>` in its text blocks): label -> words inside."""
    found = re.findall(r"<details[^>]*><summary>(.*?)</summary>(.*?)</details>", "".join(h.proto.body for h in at.html),
                       re.S)
    return {html.unescape(label): html_text(inner) for label, inner in found}


def test_999_page_names_the_special_cause_history_and_never_claims_no_change(monkeypatch, demo_db):
    series = "indicator_id = 'calls_999_answered_10s' AND area_code = 'staffordshire'"
    flagged = query(demo_db, f"SELECT count(*) AS n FROM result_point WHERE {series} AND point_type <> 'common_cause'")
    assert flagged["n"][0] > 40  # the demo's 999 chart is full of special cause
    # the stored status line (Summary and page header) does not say "no change" either
    status = query(demo_db, f"SELECT variation, status FROM result_summary WHERE {series}").row(0, named=True)
    assert status["variation"] == "common_cause"
    assert re.match(r"Latest value within normal variation; \d+ earlier episodes beyond it in the period shown",
                    status["status"])
    at = run_app(monkeypatch, demo_db, "indicator", sel_indicator="calls_999_answered_10s", sel_area="staffordshire")
    text = page_text(at)
    assert "No change beyond normal variation" not in text and "since the series began" not in text
    # what happened in the window, episode by episode, under "What the rules found"
    m = re.search(r"Beyond normal variation in the period shown \((\w+ \d{4}) to (\w+ \d{4})\): (\d+) episodes", text)
    assert m, text
    listed = re.findall(r"^- (?:From|In) .* (?:higher|lower) than usual, (?:an improvement|a concern)", text, re.M)
    assert len(listed) == int(m[3])
    # how old the latest data is, and the trend tests only in the analyst's detail view
    latest = query(demo_db, f"SELECT max(period) AS p FROM result_point WHERE {series}")["p"][0]
    assert f"Latest data: {latest:%B %Y}, " in text
    detail = next(words for label, words in details(at).items() if label.startswith("Analyst detail"))
    assert re.search(r"(Seasonal |Mann-)Kendall p = ", detail), detail  # the test that fits the series
    assert "UCL" not in text and "Common Cause" not in text


def test_analyst_page_offers_the_suggested_recalculation_and_the_analyst_confirms_it(monkeypatch, demo_db_copy):
    from spc.narrative.levels import current_suggestions

    series = "indicator_id = 'asb_incidents' AND area_code = 'staffordshire'"
    points = query(demo_db_copy, f"SELECT * FROM result_point WHERE {series} ORDER BY period")
    suggested = current_suggestions(points).row(0, named=True)["suggested_start"]
    phases_before = query(demo_db_copy, f"SELECT count(*) AS n FROM result_phase WHERE {series}")["n"][0]
    add_account(demo_db_copy, "test.analyst", "analyst", "analyst-pass-1")
    at = start_signed_in(monkeypatch, demo_db_copy, "test.analyst", "analyst", sel_indicator="asb_incidents",
                         sel_area="staffordshire")
    assert any("an analyst may recalculate from" in i.value for i in at.info)
    offer = [b for b in at.button if b.label.startswith("Recalculate from")]
    assert len(offer) == 1
    offer[0].click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    # the form is filled in, nothing is saved yet: never applied automatically
    assert at.session_state["ann_kind"] == "recalculate" and at.session_state["ann_date"] == suggested
    assert "suggested by spc" in at.session_state["ann_reason"]
    assert query(demo_db_copy, "SELECT count(*) AS n FROM annotation WHERE text LIKE '%suggested by spc%'")["n"][0] == 0
    next(b for b in at.button if b.label == "Save and recompute").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    ann = query(demo_db_copy, "SELECT kind, date, author, area_code FROM annotation WHERE text LIKE '%suggested by spc%'")
    assert ann.rows() == [("recalculate", suggested, "test.analyst", "staffordshire")]
    starts = query(demo_db_copy, f"SELECT start FROM result_phase WHERE {series}")["start"].to_list()
    assert len(starts) == phases_before + 1 and suggested in starts


REAL_ASB = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "police_uk" / "staffordshire"


@pytest.mark.skipif(not REAL_ASB.exists(), reason="../shared/realdata not present")
def test_real_asb_page_warns_of_old_data_and_analyst_page_offers_january_2024(monkeypatch, tmp_path):
    from spc.cli import main

    db = tmp_path / "real.duckdb"
    assert main(["db", "init", "--empty", "--db", str(db)]) == 0
    assert main(["import", "police-uk", str(REAL_ASB), "--db", str(db)]) == 0
    at = run_app(monkeypatch, db, "indicator", sel_indicator="asb_incidents", sel_area="staffordshire")
    # the data ended in April 2024: a warning, not a footnote
    assert any(re.match(r"Latest data: April 2024, \d+ months ago \(late: ", w.value) for w in at.warning)
    assert any("an analyst may recalculate from Jan 2024" in i.value for i in at.info)
    assert "58 months are missing between the figures: from March 2019 to December 2023." in page_text(at)
    add_account(db, "test.analyst", "analyst", "analyst-pass-1")
    at = start_signed_in(monkeypatch, db, "test.analyst", "analyst", sel_indicator="asb_incidents",
                         sel_area="staffordshire")
    assert [b.label for b in at.button if b.label.startswith("Recalculate from")] == ["Recalculate from Jan 2024…"]
