"""The app and the briefing pack for a store of any force, and of many forces in one store
(issue 11): a store of several forces asks which force (sidebar, ?force=), and every page shows
that force, its local areas and the national context; a store of one force asks nothing and
names that force, never Staffordshire.

The stores are built as a user would (`spc db init --force a,b` on the fixture geography
tests/data/geography), then given a few monthly observations per area and their results, as
`spc db init` computes them.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from auth_support import query
from auth_support import open_address as _open_address
from auth_support import start as run_app
from spc.errors import SpcError

GEOGRAPHY = Path(__file__).resolve().parent / "data" / "geography"
FORCES = ["staffordshire", "nottinghamshire", "city-of-london"]
FORCE_NAMES = ["City of London Police", "Nottinghamshire Police", "Staffordshire Police"]  # by name


def _months(n: int = 24) -> list[dt.date]:
    """The last `n` months ending two months ago (so the figures are not late)."""
    today = dt.date.today()
    end = today.year * 12 + today.month - 1 - 2
    return [dt.date(m // 12, m % 12 + 1, 1) for m in range(end - n + 1, end + 1)]


MONTHS = _months()
#: the app opened at an address, as test_address does (with this file's shorter timeout)
open_address = functools.partial(_open_address, timeout=90)


def _series(area: str, indicator: str, base: float, rise_from: int | None = None) -> list[dict]:
    """24 months around `base` (a fixed wobble); from month `rise_from` on, 60% higher."""
    wobble = [0, 3, -2, 4, -3, 1, -1, 2, -4, 3, 0, -2, 1, -3, 2, 4, -1, 0, 3, -2, 1, -4, 2, 0]
    return [{"indicator_id": indicator, "area_code": area, "period_start": month, "period_grain": "month",
             "value": float(base + wobble[k] + (0.6 * base if rise_from is not None and k >= rise_from else 0)),
             "numerator": None, "denominator": None}
            for k, month in enumerate(MONTHS)]


def build_store(path: Path, forces: list[str], concern: str | None = None) -> Path:
    """`spc db init --force` for `forces`, then ASB incidents for every area of the store and
    neighbourhood crime for each force and England and Wales; the force `concern` has a rise in
    ASB over the last eight months (a concern: fewer is better)."""
    from spc.cli import main
    from spc.commands.db import record_results
    from spc.store import connect, transaction
    from spc.store.observations import WriteCounts, finish_batch, start_batch, write_observations

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPC_GEOGRAPHY", str(GEOGRAPHY))
        assert main(["db", "init", "--db", str(path), "--force", ",".join(forces)]) == 0
    areas = query(path, "SELECT a.code, a.type, f.force_code FROM area a LEFT JOIN area_force f ON f.area_code = a.code")
    rows: list[dict] = []
    for r in areas.iter_rows(named=True):
        if r["type"] == "national":
            rows += _series(r["code"], "neighbourhood_crime", 9000)
            continue
        base = 400 if r["type"] == "force" else 60
        rows += _series(r["code"], "asb_incidents", base, 16 if r["force_code"] == concern else None)
        if r["type"] == "force":
            rows += _series(r["code"], "neighbourhood_crime", 700)
    con = connect(path)
    try:
        with transaction(con):
            batch = start_batch(con, "test", "test_app_forces")
            counts = write_observations(con, pl.DataFrame(rows), batch)
            finish_batch(con, batch, status="loaded", rows_read=len(rows),
                         counts=WriteCounts(counts.loaded, counts.unchanged, counts.revised), rows_rejected=0)
            record_results(con, trigger="test")
    finally:
        con.close()
    return path


@pytest.fixture(scope="module")
def forces_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of three forces (read only)."""
    return build_store(tmp_path_factory.mktemp("forces") / "forces.duckdb", FORCES, concern="nottinghamshire")


@pytest.fixture(scope="module")
def city_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of one force that is not Staffordshire (read only)."""
    return build_store(tmp_path_factory.mktemp("city") / "city.duckdb", ["city-of-london"], concern="city-of-london")


def text(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [t.value for t in at.title]
                     + [e.value for kind in ("info", "warning", "success", "error") for e in at.get(kind)]
                     + [h.proto.body for h in at.html])  # the Summary draws its text and tables with st.html


def force_choice(at: AppTest):
    found = [s for s in at.sidebar.selectbox if s.label == "Force"]
    return found[0] if found else None


def area_codes(at: AppTest, key: str) -> list[str]:
    return list(at.selectbox(key=key).options)


def attention_block(at: AppTest) -> str:
    return next(h.proto.body for h in at.html if '<div class="spc-attention">' in h.proto.body)


def linked_areas(at: AppTest) -> set[str]:
    """The areas the Summary's links point at, and the force each names."""
    html = "".join([m.value for m in at.markdown] + [h.proto.body for h in at.html])
    return set(re.findall(r"[?&](?:amp;)?area=([\w-]+)", html)), set(re.findall(r"force=([\w-]+)", html))


def test_a_store_of_many_forces_asks_which_force(monkeypatch, forces_db):
    at = run_app(monkeypatch, forces_db, "summary")
    choice = force_choice(at)
    assert choice is not None, "no Force choice in the sidebar"
    assert [choice.format_func(o) for o in choice.options] == FORCE_NAMES
    # the first force by name, kept in the address like the other choices
    assert choice.value == "city-of-london" and at.query_params["force"] == "city-of-london"
    assert at.selectbox(key="summary_area").options == ["City of London Police", "City of London"]


def test_the_summary_of_one_force_shows_only_its_series(monkeypatch, forces_db):
    at = open_address(monkeypatch, forces_db, page="summary", force="nottinghamshire")
    assert not at.warning, [w.value for w in at.warning]
    assert force_choice(at).value == "nottinghamshire"
    shown = text(at)
    assert "for Nottinghamshire Police" in shown
    # leads with this force's attention items: its rise in ASB incidents
    attention = attention_block(at)
    assert "Anti-social behaviour incidents" in attention and "area=nottinghamshire" in attention
    # its own areas to choose from, never another force's; national context beside its figures
    offered = set(at.selectbox(key="summary_area").options)
    assert offered == {"Nottinghamshire Police", "Nottingham", "South Nottinghamshire", "Broxtowe", "Gedling",
                       "Rushcliffe"}
    assert "England and Wales (national context)" in shown
    assert "Staffordshire" not in shown and "City of London" not in shown
    areas, forces = linked_areas(at)
    assert areas <= {"nottinghamshire", "england-and-wales"} and forces == {"nottinghamshire"}
    # every series the overview holds is the force's or national
    from spc.ui.data import overview, stamp
    ov = overview(str(forces_db), stamp(forces_db), "nottinghamshire")
    notts = set(query(forces_db, "SELECT area_code FROM area_force WHERE force_code = 'nottinghamshire'")["area_code"])
    assert set(ov.summary["area_code"]) == notts | {"england-and-wales"}
    assert set(ov.spark["area_code"]) <= notts | {"england-and-wales"}


def test_choosing_another_force_follows_on_every_choice(monkeypatch, forces_db):
    at = open_address(monkeypatch, forces_db, page="summary", force="nottinghamshire", area="gedling")
    assert at.selectbox(key="summary_area").value == "gedling"
    force_choice(at).set_value("staffordshire").run()
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    assert at.query_params["force"] == "staffordshire"
    # the area chosen was the old force's: the new force's own figures are shown
    assert at.selectbox(key="summary_area").value == "staffordshire"
    assert "Tamworth" in at.selectbox(key="summary_area").options
    shown = text(at)
    assert "for Staffordshire Police" in shown and "Nottingham" not in shown
    # a calm force: no concern named
    assert "No concerns, no new signals" in attention_block(at)


def test_an_unknown_force_in_the_address_is_named_with_the_choices(monkeypatch, forces_db):
    at = open_address(monkeypatch, forces_db, page="summary", force="atlantis")
    warning = "\n".join(w.value for w in at.warning)
    assert "No force 'atlantis'. Choose one of: City of London Police, Nottinghamshire Police, " \
           "Staffordshire Police." in warning
    # the page still works, on the first force, and the address now says which
    assert force_choice(at).value == "city-of-london" and at.query_params["force"] == "city-of-london"


def test_an_area_in_the_address_brings_its_force(monkeypatch, forces_db):
    # a link or bookmark naming an area of another force than the first
    at = open_address(monkeypatch, forces_db, page="indicator", indicator="asb_incidents", area="tamworth")
    assert not at.warning, [w.value for w in at.warning]
    assert force_choice(at).value == "staffordshire"
    assert at.selectbox(key="sel_area").value == "tamworth"
    assert "Nottingham" not in " ".join(at.selectbox(key="sel_area").options)


@pytest.mark.parametrize("page", ["summary", "indicator", "compare", "data", "briefing"])
def test_every_page_runs_for_a_chosen_force(monkeypatch, forces_db, page):
    at = open_address(monkeypatch, forces_db, page=page, force="staffordshire")
    assert at.title and not at.error, [e.value for e in at.error]
    assert force_choice(at).value == "staffordshire"
    # no demo notice: these are not the demo's figures
    assert "illustrative" not in text(at).lower()


def test_the_data_page_describes_the_store(monkeypatch, forces_db):
    at = open_address(monkeypatch, forces_db, page="data", force="city-of-london")
    shown = text(at)
    assert ("**19 areas** (3 forces, 15 local areas (12 community safety partnership areas, 3 districts), "
            "1 national)") in shown
    assert "Late or missing data below is for **City of London Police**" in shown


def test_the_briefing_page_offers_the_forces_areas(monkeypatch, forces_db):
    at = open_address(monkeypatch, forces_db, page="briefing", force="nottinghamshire")
    offered = set(at.selectbox(key="brief_area").options)
    assert offered >= {"Nottinghamshire Police", "Gedling", "England and Wales"}
    assert not offered & {"Staffordshire Police", "Tamworth", "City of London Police"}
    assert "Performance briefing: Nottinghamshire Police" in text(at)


def test_a_store_of_one_force_names_it_and_asks_nothing(monkeypatch, city_db):
    for page in ("summary", "data", "briefing"):
        at = run_app(monkeypatch, city_db, page)
        assert force_choice(at) is None and "force" not in at.query_params
        shown = text(at)
        assert "Staffordshire" not in shown and "Tamworth" not in shown
    at = run_app(monkeypatch, city_db, "summary")
    assert "for City of London Police" in text(at)
    assert at.selectbox(key="summary_area").options == ["City of London Police", "City of London"]
    areas, forces = linked_areas(at)
    assert areas <= {"city-of-london", "england-and-wales"} and not forces  # addresses stay as they were


def test_the_demo_store_shows_no_force_choice(monkeypatch, demo_db):
    at = run_app(monkeypatch, demo_db, "summary")
    assert force_choice(at) is None and "force" not in at.query_params
    assert "for Staffordshire" in text(at)


# --------------------------------------------------------------------------------------------
# spc brief --force
# --------------------------------------------------------------------------------------------


def test_brief_for_one_force_of_many(forces_db, tmp_path):
    from spc.brief import build_brief

    out = build_brief(forces_db, tmp_path / "notts.html", force="nottinghamshire")
    page = out.path.read_text()
    assert "Nottinghamshire Police" in page and "England and Wales: national context" in page
    assert "Staffordshire" not in page and "City of London" not in page
    # an area of the force may be chosen as before; an area of another force is refused
    assert "Gedling" in build_brief(forces_db, tmp_path / "g.html", area="gedling",
                                    force="nottinghamshire").path.read_text()
    with pytest.raises(SpcError, match="tamworth.* is an area of staffordshire, not of --force nottinghamshire"):
        build_brief(forces_db, tmp_path / "x.html", area="tamworth", force="nottinghamshire")


def test_brief_in_a_store_of_many_forces_asks_which(forces_db, tmp_path):
    from spc.brief import build_brief

    with pytest.raises(SpcError, match="holds 3 forces: choose one with --force \\(one of: city-of-london, "
                                       "nottinghamshire, staffordshire\\)"):
        build_brief(forces_db, tmp_path / "x.html")
    with pytest.raises(SpcError, match="--force 'atlantis': this store has no such force; choose one of: "
                                       "city-of-london, nottinghamshire, staffordshire"):
        build_brief(forces_db, tmp_path / "x.html", force="atlantis")
    assert not (tmp_path / "x.html").exists()


def test_brief_command_takes_the_force(forces_db, city_db, tmp_path, capsys):
    from spc.cli import main

    assert main(["brief", "--db", str(forces_db), "--force", "staffordshire", "--out", str(tmp_path / "s.html")]) == 0
    assert "Staffordshire Police" in (tmp_path / "s.html").read_text()
    assert main(["brief", "--db", str(forces_db), "--out", str(tmp_path / "none.html")]) == 2
    assert "--force" in capsys.readouterr().err
    # a store of one force needs no option
    assert main(["brief", "--db", str(city_db), "--out", str(tmp_path / "c.html")]) == 0
    page = (tmp_path / "c.html").read_text()
    assert "City of London Police" in page and "Staffordshire" not in page


def test_the_digest_names_each_areas_force_in_a_store_of_many(forces_db, city_db):
    import duckdb

    from spc.digest import area_labels

    def labels(db: Path) -> dict[str, str]:
        con = duckdb.connect(str(db), read_only=True)
        try:
            return dict(area_labels(con).iter_rows())
        finally:
            con.close()

    many = labels(forces_db)
    assert many["gedling"] == "Gedling (Nottinghamshire Police)" and many["tamworth"] == "Tamworth (Staffordshire Police)"
    assert many["nottinghamshire"] == "Nottinghamshire Police" and many["england-and-wales"] == "England and Wales"
    assert labels(city_db)["city-of-london-district"] == "City of London"


def test_a_missing_database_also_says_how_to_build_one_for_a_force(monkeypatch, tmp_path):
    at = run_app(monkeypatch, tmp_path / "nowhere.duckdb")
    assert any("--force city-of-london" in c.value and "spc import police-uk" in c.value for c in at.code)


def test_across_the_areas_shows_only_the_chosen_forces_partnership_areas(monkeypatch, forces_db):
    # "Show the N partnership areas side by side" counts and draws this force's areas, not every force's
    at = open_address(monkeypatch, forces_db, page="indicator", indicator="asb_incidents", area="tamworth")
    mine = query(forces_db, """SELECT count(*) AS n FROM area a JOIN area_force f ON f.area_code = a.code
                               WHERE f.force_code = 'staffordshire' AND a.type = 'community safety partnership area'""")
    toggle = at.toggle(key="opt_areas")
    assert toggle.label == f"Show the {mine['n'][0]} partnership areas side by side"
    toggle.set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    drawn = {name for chart in at.get("plotly_chart") if chart.key == "small_multiples"
             for name in re.findall(r'"text":"([^"]+)"', chart.proto.spec)}
    assert "Tamworth" in " ".join(drawn) and not any("Nottingham" in n or "Gedling" in n for n in drawn)
