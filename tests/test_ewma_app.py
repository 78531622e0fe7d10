"""An analyst chooses an EWMA chart on the Analyst page: saved with λ, stored, labelled on the
Indicator page (axis and words), with no moving range chart (that is for XmR charts)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from streamlit.testing.v1 import AppTest

from auth_support import add_account, start_signed_in

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_analyst_chooses_ewma_and_the_indicator_page_says_so(monkeypatch, demo_db_copy):
    add_account(demo_db_copy, "test.analyst", "analyst", "analyst-pass-1")
    at = start_signed_in(monkeypatch, demo_db_copy, "test.analyst", "analyst", sel_indicator="asb_incidents",
                         sel_area="staffordshire")
    options = " ".join(at.selectbox(key="set_chart").options)
    assert "EWMA — small sustained shifts" in options and "CUSUM — small sustained shifts" in options
    at.selectbox(key="set_chart").set_value("ewma")
    at.number_input(key="set_ewma_lambda").set_value(0.3)
    at.text_input(key="set_reason").input("Looking for a small sustained fall")
    [b for b in at.button if b.label == "Save settings and recompute"][0].click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert query(demo_db_copy, "SELECT chart, ewma_lambda FROM series_setting "
                               "WHERE indicator_id = 'asb_incidents'") == [("ewma", 0.3)]
    assert query(demo_db_copy, "SELECT chart_label FROM result_summary WHERE indicator_id = 'asb_incidents' "
                               "AND area_code = 'staffordshire'") == [("EWMA (λ 0.3)",)]

    monkeypatch.setenv("SPC_DB", str(demo_db_copy))
    page = AppTest.from_file(APP, default_timeout=90)
    page.session_state["page"] = "indicator"
    page.session_state["sel_indicator"] = "asb_incidents"
    page.session_state["sel_area"] = "staffordshire"
    page.run()
    assert not page.exception, [e.value for e in page.exception]
    keys = [c.key for c in page.get("plotly_chart")]
    assert keys == ["control_chart"]
    # no moving range chart under an EWMA chart (its panel is drawn for XmR charts only)
    control = json.loads(page.get("plotly_chart")[0].proto.spec)
    assert "yaxis2" not in control["layout"]
    assert "Moving range chart" not in [a.get("text") for a in control["layout"].get("annotations", [])]
    assert any("EWMA values, not the periods' own figures" in i.value for i in page.info)
    # the chart's name under it, in the page's caption text ("Chart: EWMA (λ 0.3). ...")
    from test_app_indicator_narrative import page_text

    assert "Chart: EWMA (λ 0.3)." in page_text(page)
