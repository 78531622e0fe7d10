"""A recorded date (recalculation, exclusion, intervention, note) in a store of many forces applies
where it says: the area, every area of one force, or every area of every force, as chart settings
do (spc.store.areas.covers).

Before this, "every area of this indicator" was the only wider choice, so an analyst of one force
recalculating "every area" rebased every other force's charts in a national store, and their note
showed on every force's charts and briefing packs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from auth_support import add_account, button, query, start, start_signed_in
from spc.brief import _gather, render_html
from spc.store.areas import EVERY_AREA, force_scope
from spc.ui import data
from test_app_indicator_narrative import page_text
from test_setting_scope import ANALYST, force_areas, recompute, store, three_forces  # noqa: F401 (fixtures)

NOTTS = "nottinghamshire"


def phases(db: Path) -> dict[str, list[dt.date]]:
    """area_code: the start of each phase of ASB incidents' chart."""
    rows = query(db, "SELECT area_code, start FROM result_phase WHERE indicator_id = 'asb_incidents' "
                     "ORDER BY area_code, phase")
    return {a: rows.filter(rows["area_code"] == a)["start"].to_list() for a in rows["area_code"].unique()}


def middle_period(db: Path) -> dt.date:
    """A period with at least 12 points on each side in every area (a phase of its own)."""
    periods = query(db, "SELECT DISTINCT period FROM result_point WHERE indicator_id = 'asb_incidents' "
                        "ORDER BY period")["period"]
    return periods[periods.len() // 2]


def test_a_force_wide_recalculation_rebases_that_force_only(store):
    date = middle_period(store)
    before = phases(store)
    assert all(date not in starts for starts in before.values())
    data.add_annotation(store, ANALYST, "asb_incidents", force_scope(NOTTS), date, "recalculate",
                        "New recording system across the force")
    recompute(store)
    after = phases(store)
    notts = force_areas(store, NOTTS)
    assert {a for a, starts in after.items() if date in starts} == notts
    assert all(after[a] == before[a] for a in after if a not in notts)   # the other forces untouched


def test_every_area_still_means_every_force(store):
    date = middle_period(store)
    data.add_annotation(store, ANALYST, "asb_incidents", None, date, "recalculate", "A national change")
    recompute(store)
    assert all(date in starts for starts in phases(store).values())


def test_the_analyst_records_a_date_for_the_force_and_its_charts_alone_show_it(monkeypatch, store):
    add_account(store, "test.analyst", "analyst", "analyst-pass-1")
    at = start_signed_in(monkeypatch, store, "test.analyst", "analyst", force=NOTTS,
                         sel_indicator="asb_incidents", sel_area="gedling")
    scope = at.radio(key="ann_scope")
    assert scope.options == ["this area", "every area of Nottinghamshire Police",
                             "every area of this indicator, in every force"]
    assert scope.value == "gedling"  # the nearest scope unless the analyst chooses a wider one
    date = middle_period(store)
    at.selectbox(key="ann_kind").set_value("note")
    at.selectbox(key="ann_date").set_value(date)
    at.radio(key="ann_scope").set_value(force_scope(NOTTS))
    at.text_area(key="ann_reason").input("Force-wide neighbourhood policing review")
    button(at, "Save and recompute").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert query(store, "SELECT area_code, kind FROM annotation").rows() == [("*:nottinghamshire", "note")]
    listed = [m.value for m in at.markdown if "Force-wide neighbourhood policing review" in m.value]
    assert listed and "(every area of Nottinghamshire Police)" in listed[0]

    note = "Force-wide neighbourhood policing review"
    for area, force, shown in (("gedling", NOTTS, True), (NOTTS, NOTTS, True),
                               ("staffordshire", "staffordshire", False), ("city-of-london", "city-of-london", False)):
        page = start(monkeypatch, store, "indicator", force=force, sel_indicator="asb_incidents", sel_area=area)
        assert (note in page_text(page)) is shown, area
    # the briefing pack of each area: the force's note on its own areas' pages only
    assert note in _pack_notes(store, "gedling")
    assert note not in _pack_notes(store, "staffordshire")


def test_a_force_analysts_every_area_in_a_one_force_store_is_stored_as_every_area(monkeypatch, tmp_path):
    from test_app_forces import build_store

    single = build_store(tmp_path / "city.duckdb", ["city-of-london"])
    add_account(single, "test.analyst", "analyst", "analyst-pass-1")
    at = start_signed_in(monkeypatch, single, "test.analyst", "analyst", sel_indicator="asb_incidents",
                         sel_area="city-of-london")
    assert at.radio(key="ann_scope").options == ["this area", "every area of this indicator"]
    at.radio(key="ann_scope").set_value(EVERY_AREA)
    at.text_area(key="ann_reason").input("A note for every area")
    button(at, "Save and recompute").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert query(single, "SELECT area_code FROM annotation").rows() == [(None,)]  # NULL: every area


def _pack_notes(db: Path, area: str) -> str:
    """The briefing pack for `area`, as HTML (its charts carry the recorded dates' words)."""
    return render_html(_gather(db, None, ["asb_incidents"], area))[0]


def test_the_packs_national_context_page_carries_national_dates_only(tmp_path: Path) -> None:
    """A force's pack shows England and Wales' reoffending as context: its chart has the dates
    recorded for every area or for England and Wales, not the force's own."""
    from spc.cli import main
    from test_ingest_support import MOJ_FILE, make_store

    db = make_store(tmp_path / "store.duckdb")
    assert main(["import", "reoffending", str(MOJ_FILE), "--db", str(db)]) == 0
    first = query(db, "SELECT min(period) AS p FROM result_point WHERE indicator_id = 'proven_reoffending_rate'")["p"][0]
    for area, text in (("staffordshire", "Staffordshire force note"), (None, "A note for every area"),
                       ("england-and-wales", "A national note")):
        data.add_annotation(db, ANALYST, "proven_reoffending_rate", area, first, "note", text)
    pack = _gather(db, None, ["proven_reoffending_rate"], "staffordshire")
    assert pack.context_area == "england-and-wales"
    html = render_html(pack)[0]
    assert "A note for every area" in html and "A national note" in html
    assert "Staffordshire force note" not in html   # the force has no reoffending page of its own
