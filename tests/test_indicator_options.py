"""The Indicator page's chart options (issue 14: drawn in a fragment, so a tick redraws the chart
alone): each option changes what the chart shows, and the rest of the page stays as it was."""

from __future__ import annotations

import json

from auth_support import start as run_app
from test_app_indicator_narrative import headings

TWO_SIGMA = "Inner warning lines (2 sigma)"


def _control(at) -> dict:
    return json.loads(next(c.proto.spec for c in at.get("plotly_chart") if c.key == "control_chart"))


def _names(fig: dict) -> list[str]:
    return [t.get("name") for t in fig["data"]]


def _subheaders(at) -> list[str]:
    return headings(at)


def test_two_sigma_lines_come_and_go_with_the_tick(monkeypatch, demo_db) -> None:
    at = run_app(monkeypatch, demo_db, "indicator", sel_indicator="calls_999_answered_10s")
    assert TWO_SIGMA not in _names(_control(at))
    headers = _subheaders(at)
    at.checkbox(key="opt_two_sigma").check().run()
    assert not at.exception, [e.value for e in at.exception]
    assert TWO_SIGMA in _names(_control(at))
    # the rest of the page is still there, in the same order
    assert _subheaders(at) == headers
    assert any(b.label == "Download this series (CSV)" for b in at.get("download_button"))
    at.checkbox(key="opt_two_sigma").uncheck().run()
    assert TWO_SIGMA not in _names(_control(at))


def test_the_target_line_is_drawn_when_asked_for(monkeypatch, demo_db) -> None:
    at = run_app(monkeypatch, demo_db, "indicator", sel_indicator="calls_999_answered_10s")
    box = at.checkbox(key="opt_target")
    assert box.label.startswith("Show target (")

    def target_lines(fig: dict) -> list[str]:
        return [a["text"] for a in fig["layout"].get("annotations", []) if a.get("text", "").startswith("Target ")]

    assert not target_lines(_control(at))
    box.check().run()
    assert not at.exception, [e.value for e in at.exception]
    assert target_lines(_control(at))


def test_per_1000_from_the_page_changes_the_chart_and_the_data_table(monkeypatch, demo_db) -> None:
    at = run_app(monkeypatch, demo_db, "indicator", sel_indicator="asb_incidents", sel_area="stoke-on-trent")
    at.toggle(key="opt_table").set_value(True).run()
    assert "Per 1,000 residents" not in at.dataframe[0].value.columns
    at.toggle(key="opt_per_1000").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert _control(at)["layout"]["yaxis"]["title"]["text"] == "per 1,000 residents"
    # the table below the chart follows the option too (the whole page is redrawn for it)
    assert "Per 1,000 residents" in at.dataframe[0].value.columns
    assert any("Per 1,000 residents: each period's count" in c.value for c in at.caption)
    at.toggle(key="opt_per_1000").set_value(False).run()
    assert "Per 1,000 residents" not in at.dataframe[0].value.columns
    assert _control(at)["layout"]["yaxis"]["title"]["text"] != "per 1,000 residents"


def _page_text(at) -> str:
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", " ", "\n".join(h.proto.body for h in at.html)))


def test_the_expected_range_is_made_when_asked_for_under_the_trend(monkeypatch, demo_db) -> None:
    at = run_app(monkeypatch, demo_db, "indicator", sel_indicator="calls_999_answered_10s")
    assert "Expected range" not in _page_text(at)  # a model fit of seconds: not on every view
    headers = _subheaders(at)
    assert headers.index("Trend and seasonality") < headers.index("This year against last year")
    at.checkbox(key="opt_expected").check().run()
    assert not at.exception, [e.value for e in at.exception]
    text = _page_text(at)
    assert "Expected range" in text
    # said between the trend's words and the year-on-year comparison, whatever the fit's outcome
    assert text.index("Long-term trend") < text.index("Expected range") < text.index("This year against last year")
    assert _subheaders(at) == headers


def test_the_options_sit_in_one_row_target_before_rates(monkeypatch, demo_db) -> None:
    at = run_app(monkeypatch, demo_db, "indicator", sel_indicator="calls_999_answered_10s")
    boxes = [b.key for b in at.checkbox]
    assert boxes.index("opt_two_sigma") < boxes.index("opt_target")
    at = run_app(monkeypatch, demo_db, "indicator", sel_indicator="asb_incidents", sel_area="stoke-on-trent",
                 opt_per_1000=True)
    # on the rates there is no target to offer (the target is a count's); the toggle is still there
    assert not [b for b in at.checkbox if b.key == "opt_target"]
    assert at.toggle(key="opt_per_1000").value


def test_the_better_direction_is_said_once_and_the_analysts_wins(monkeypatch, demo_db_copy) -> None:
    """The catalogue's description already says which way is better: the page does not say it
    twice; when an analyst has turned the direction round, the page says the chart's, and whose."""
    from spc.auth import Identity
    from spc.results import compute_results
    from spc.store import connect
    from spc.ui import data
    from test_app_indicator_narrative import page_text

    at = run_app(monkeypatch, demo_db_copy, "indicator", sel_indicator="asb_incidents", sel_area="staffordshire")
    text = page_text(at).lower()
    assert text.count("lower is better") == 1 and "higher is better" not in text
    data.save_setting(demo_db_copy, Identity(name="test.analyst", role="analyst", method="test"), "asb_incidents",
                      "staffordshire", "More reporting is what we want here", improvement="increase")
    con = connect(demo_db_copy)
    try:
        compute_results(con, ["asb_incidents"])
    finally:
        con.close()
    at = run_app(monkeypatch, demo_db_copy, "indicator", sel_indicator="asb_incidents", sel_area="staffordshire")
    assert "higher is better (an analyst's setting for this chart)" in page_text(at)
