"""The refresh digest speaks the narrative's language: signals as episodes in plain words, limits
that average two levels, and how old late data is (issue 10 items 1 to 3 and 6)."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl

from spc import signals
from spc.digest import build_digest, overdue_series, render_markdown
from spc.store import connect
from spc.store.queries import frame

PERIOD = r"(?:the (?:quarter|year) starting |the week of \d+ )?\w+ \d{4}"  # quarters read as quarters
EPISODE = re.compile(rf"(From {PERIOD} to {PERIOD}|In {PERIOD}), \d+ points? (was|were) (higher|lower) than usual, "
                     r"(an improvement|a concern|neither better nor worse): .+\.$")


def test_digest_describes_signals_suggestions_and_late_data_in_plain_words(demo_db):
    con = connect(demo_db, read_only=True)
    try:
        points = frame(con, "SELECT * FROM result_point")
        # every pattern the store holds, as if seen for the first time: ongoing ones are new
        changes = signals.reconcile(signals.load_signals(con).head(0), signals.find_patterns(points),
                                    points.select("indicator_id", "area_code").unique())
        today = dt.date(2026, 12, 5)
        digest = build_digest(con, run_id=None, started_at=dt.datetime(2026, 12, 5, 6, 0), status="dry-run",
                              changes=changes, imports=[], since_batch=10**9, series_computed=0, series_changed=0,
                              overdue=overdue_series(con, today), errors=[], dry_run=True)
        # without the refresh's points the digest computes the series concerned itself: same answer
        assert build_digest(con, run_id=None, started_at=dt.datetime(2026, 12, 5, 6, 0), status="dry-run",
                            changes=changes, imports=[], since_batch=10**9, series_computed=0, series_changed=0,
                            overdue=overdue_series(con, today), errors=[], dry_run=True,
                            points=points)["recalculation_suggested"] == digest["recalculation_suggested"]
    finally:
        con.close()
    new = digest["new_concerns"] + digest["new_improvements"] + digest["new_neutral"]
    assert new
    for item in new:
        assert EPISODE.match(item["text"]), item["text"]
        assert item["rule"]  # scripts still get the engine's rule label in the JSON
    concern = digest["new_concerns"][0]
    assert ", a concern: " in concern["text"]
    suggested = {(r["indicator_id"], r["area_code"]): r for r in digest["recalculation_suggested"]}
    asb = suggested[("asb_incidents", "staffordshire")]
    assert re.search(r"^The limits average two different levels \(about [\d,]+ before \w+ \d{4} and about [\d,]+ "
                     r"from then\); an analyst may recalculate from \w{3} \d{4}\.$", asb["text"])
    md = render_markdown(digest)
    assert f"## Limits that average two levels ({len(suggested)})" in md
    assert asb["text"] in md and concern["text"] in md
    for jargon in ("UCL", "LCL", "Common Cause", "Above CL", "Below CL", "2 in 3"):
        assert jargon not in md, jargon
    if digest["missing_data"]:
        assert all(m["text"].startswith("latest data: ") and "(late: " in m["text"] for m in digest["missing_data"])


def test_a_stored_signal_keeps_its_rule_label_but_reads_as_words(demo_db):
    con = connect(demo_db, read_only=True)
    try:
        changes = pl.DataFrame({
            "id": [None], "indicator_id": ["asb_incidents"], "area_code": ["staffordshire"], "rule": ["Above UCL"],
            "first_period": [dt.date(2026, 9, 1)], "last_period": [dt.date(2026, 10, 1)], "direction": ["high"],
            "point_type": ["special_cause_concern"], "status": ["new"], "change": ["new"], "first_seen_run": [None]},
            schema_overrides={"id": pl.Int64, "first_seen_run": pl.Int64})
        digest = build_digest(con, run_id=7, started_at=dt.datetime(2026, 12, 5), status="success", changes=changes,
                              imports=[], since_batch=10**9, series_computed=1, series_changed=1,
                              overdue=overdue_series(con, dt.date(2026, 12, 5)).head(0), errors=[],
                              points=frame(con, "SELECT * FROM result_point WHERE indicator_id = 'asb_incidents'"))
    finally:
        con.close()
    item = digest["new_concerns"][0]
    assert item["rule"] == "Above UCL"
    assert item["text"] == ("From September 2026 to October 2026, 2 points were higher than usual, a concern: "
                            "2 points in a row above the upper process limit.")
