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
