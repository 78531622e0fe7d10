"""An analyst's chart setting in a store of many forces applies where it says: the area, every
area of one force, or every area of every force, nearest first (spc.store.areas.setting_scopes).

Before this, "every area" ('*') was the only wider scope, so an analyst of one force changing
"every area" changed every other force's charts in a national store.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from auth_support import add_account, button, query, start, start_signed_in
from spc.auth import Identity
from spc.results import compute_results
from spc.store import connect
from spc.store.areas import EVERY_AREA, force_scope, setting_scopes
from spc.ui import data
from test_app_forces import FORCES, build_store
from test_app_indicator_narrative import page_text

ANALYST = Identity(name="test.analyst", role="analyst", method="test")


@pytest.fixture(scope="module")
def three_forces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Staffordshire, Nottinghamshire and City of London, ASB incidents in every area (read only)."""
    return build_store(tmp_path_factory.mktemp("scope") / "forces.duckdb", FORCES)


@pytest.fixture
def store(three_forces: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "forces.duckdb"
    shutil.copy(three_forces, copy)
    return copy


def charts(db: Path) -> dict[str, str]:
    """area_code: the chart ASB incidents is drawn with."""
    return dict(query(db, "SELECT area_code, chart FROM result_summary WHERE indicator_id = 'asb_incidents'")
                .iter_rows())


def force_areas(db: Path, force: str) -> set[str]:
    return set(query(db, "SELECT area_code FROM area_force WHERE force_code = ?", [force])["area_code"].to_list())


def recompute(db: Path) -> None:
    con = connect(db)
    try:
        compute_results(con, ["asb_incidents"])
    finally:
        con.close()


def save_chart_setting(at, scope: str, chart: str, reason: str) -> None:
    """On the Analyst controls: apply `chart` to `scope` with `reason`, as an analyst would."""
    at.radio(key="set_scope").set_value(scope)
    at.selectbox(key="set_chart").set_value(chart)
    at.text_input(key="set_reason").input(reason)
    button(at, "Save settings and recompute").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def test_scopes_nearest_first():
    assert setting_scopes("gedling", "nottinghamshire") == ["gedling", "*:nottinghamshire", "*"]
    assert setting_scopes("E92000001", None) == ["E92000001", "*"]  # national: no force
    assert force_scope("city-of-london") == "*:city-of-london" and EVERY_AREA == "*"


def test_a_force_wide_setting_changes_that_force_only(store):
    before = charts(store)
    assert set(before.values()) == {"xmr"}
    notts = force_areas(store, "nottinghamshire")
    assert "nottinghamshire" in notts and len(notts) > 3
    data.save_setting(store, ANALYST, "asb_incidents", force_scope("nottinghamshire"), "Counts: a c chart here",
                      chart="c")
    recompute(store)
    after = charts(store)
    assert {a for a, c in after.items() if c == "c"} == notts        # the force and each of its areas
    assert all(after[a] == "xmr" for a in after if a not in notts)   # the other two forces unchanged


def test_the_area_beats_its_force_and_the_force_beats_every_area(store):
    notts = force_areas(store, "nottinghamshire")
    data.save_setting(store, ANALYST, "asb_incidents", EVERY_AREA, "everywhere", chart="run")
    data.save_setting(store, ANALYST, "asb_incidents", force_scope("nottinghamshire"), "this force", chart="c")
    data.save_setting(store, ANALYST, "asb_incidents", "gedling", "this area", chart="xmr")
    recompute(store)
    after = charts(store)
    assert after["gedling"] == "xmr"
    assert all(after[a] == "c" for a in notts - {"gedling"})
    assert all(after[a] == "run" for a in after if a not in notts)


def test_the_analyst_page_offers_the_force_and_saves_it(monkeypatch, store):
    add_account(store, "test.analyst", "analyst", "analyst-pass-1")
    at = start_signed_in(monkeypatch, store, "test.analyst", "analyst", force="nottinghamshire",
                         sel_indicator="asb_incidents", sel_area="gedling")
    scope = at.radio(key="set_scope")
    assert scope.options == ["this area", "every area of Nottinghamshire Police",
                      "every area of this indicator, in every force"]
    save_chart_setting(at, force_scope("nottinghamshire"), "c", "Counts: a c chart for the force")
    assert query(store, "SELECT area_code, chart FROM series_setting").rows() == [("*:nottinghamshire", "c")]
    after = charts(store)
    assert {a for a, c in after.items() if c == "c"} == force_areas(store, "nottinghamshire")
    # the page says which scope the setting it shows came from, and so does the Indicator page
    assert any("Overridden for every area of Nottinghamshire Police" in c.value for c in at.caption)
    page = start(monkeypatch, store, "indicator", force="nottinghamshire", sel_indicator="asb_incidents",
                 sel_area="gedling")
    assert "Chart settings for every area of Nottinghamshire Police were changed by test.analyst" in page_text(page)
    # the audit trail names the scope in words too
    at.session_state["page"] = "audit"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    trail = at.dataframe[0].value
    assert "every area of Nottinghamshire Police" in trail["area_code"].tolist()


def test_one_force_store_keeps_the_two_scopes(monkeypatch, tmp_path):
    single = build_store(tmp_path / "city.duckdb", ["city-of-london"])
    add_account(single, "test.analyst", "analyst", "analyst-pass-1")
    at = start_signed_in(monkeypatch, single, "test.analyst", "analyst", sel_indicator="asb_incidents",
                         sel_area="city-of-london")
    scope = at.radio(key="set_scope")
    assert scope.options == ["this area", "every area of this indicator"]
    save_chart_setting(at, EVERY_AREA, "c", "Counts")
    assert query(single, "SELECT area_code, chart FROM series_setting").rows() == [("*", "c")]
