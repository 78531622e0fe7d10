"""Stores for any force and for many forces (issue 11): `spc db init --force`, the reference
geography (spc.geography) and the store's area tables (schema 9, spc.store.areas).

Every test reads the small fixture copies in tests/data/geography/ through $SPC_GEOGRAPHY.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from spc import geography
from spc.cli import main
from spc.errors import SpcError
from spc.store import areas, connect, migrate, transaction
from spc.store.catalogue import read_catalogue
from spc.store.observations import start_batch, write_observations

FIXTURES = Path(__file__).parent / "data" / "geography"


@pytest.fixture(autouse=True)
def fixture_geography(monkeypatch):
    monkeypatch.setenv("SPC_GEOGRAPHY", str(FIXTURES))


@pytest.fixture
def bad_geography(tmp_path, monkeypatch):
    """A writable copy of the fixtures, used as $SPC_GEOGRAPHY."""
    folder = tmp_path / "geography"
    shutil.copytree(FIXTURES, folder)
    monkeypatch.setenv("SPC_GEOGRAPHY", str(folder))
    return folder


def _init(path: Path, *args: str) -> int:
    return main(["db", "init", "--db", str(path), *args])


def _rows(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _add(path: Path, area: str, values: list[float], indicator: str = "asb_incidents") -> None:
    con = connect(path)
    with transaction(con):
        batch = start_batch(con, "test", "manual.csv")
        write_observations(con, pl.DataFrame({
            "indicator_id": indicator, "area_code": area,
            "period_start": [dt.date(2024, m, 1) for m in range(1, len(values) + 1)],
            "period_grain": "month", "value": values, "numerator": None, "denominator": None,
        }), batch)
    con.close()


# --------------------------------------------------------------------------------------------
# The readers
# --------------------------------------------------------------------------------------------

def test_readers_read_the_fixtures():
    assert geography.geography_dir() == FIXTURES
    assert geography.forces()["force"].to_list() == ["btp", "city-of-london", "nottinghamshire",
                                                     "staffordshire", "wiltshire"]
    assert geography.forces().filter(pl.col("force") == "btp")["pfa_code"].to_list() == [None]
    assert geography.districts().height == 16
    assert geography.lsoa_districts()["lsoa_code"].is_unique().all()
    pops = geography.district_populations()
    assert pops.schema["year"] == pl.Int32 and pops.schema["population"] == pl.Int64
    assert geography.peer_groups().columns == ["force", "peer", "rank"]


def test_resolve_forces():
    assert geography.resolve_forces("all") == ["btp", "city-of-london", "nottinghamshire", "staffordshire",
                                               "wiltshire"]
    assert geography.resolve_forces("wiltshire, city-of-london,wiltshire") == ["wiltshire", "city-of-london"]
    with pytest.raises(SpcError, match=r"unknown force 'west-mids'; choose from all, btp, city-of-london"):
        geography.resolve_forces("west-mids")


def test_local_areas_rules():
    found = {a.code: a for a in geography.local_areas(["city-of-london", "nottinghamshire", "wiltshire"])}
    # a force: its slug, its PFA code
    assert (found["wiltshire"].type, found["wiltshire"].ons_code) == ("force", "E23000038")
    # a local area whose code is a force's gets "-district"
    assert found["wiltshire-district"].ons_code == "E06000054"
    assert found["city-of-london-district"].type == "community safety partnership area"
    assert found["city-of-london-district"].ons_code == "E09000001"
    # a partnership of three districts: the CSP code, and each district an area of its own
    assert found["south-nottinghamshire"].ons_code == "E22000160"
    assert {c for c, a in found.items() if a.type == "district"} == {"broxtowe", "gedling", "rushcliffe"}
    assert found["nottingham"].ons_code == "E06000018"
    # the Staffordshire partnerships are the demo's nine areas
    demo = {a.code: a.ons_code for a in read_catalogue().local_areas}
    staffs = {a.code: a.ons_code for a in geography.local_areas(["staffordshire"]) if a.type != "force"}
    assert staffs == demo


def test_slug():
    assert geography.slug("King's Lynn and West Norfolk") == "kings-lynn-and-west-norfolk"
    assert geography.slug("Ynys Môn") == "ynys-mon"
    assert geography.slug("St. Helens") == "st-helens"


# --------------------------------------------------------------------------------------------
# db init --force
# --------------------------------------------------------------------------------------------

def test_init_force_city_of_london(tmp_path, capsys):
    path = tmp_path / "col.duckdb"
    assert _init(path, "--force", "city-of-london") == 0
    out = capsys.readouterr().out
    assert "no demo data: the demo is Staffordshire's; import police.uk files with `spc import police-uk FOLDER`" in out
    assert _rows(path, "SELECT code, type, ons_code FROM area ORDER BY code") == [
        ("city-of-london", "force", "E23000034"),
        ("city-of-london-district", "community safety partnership area", "E09000001"),
        ("england-and-wales", "national", "K04000001")]
    assert _rows(path, "SELECT * FROM area_force ORDER BY 1") == [
        ("city-of-london", "city-of-london"), ("city-of-london-district", "city-of-london")]
    assert _rows(path, "SELECT * FROM area_district ORDER BY 1") == [
        ("city-of-london", "E09000001"), ("city-of-london-district", "E09000001")]
    assert _rows(path, "SELECT area_code, year, population, source FROM area_population ORDER BY 1, 2") == [
        ("city-of-london", 2021, 8600, "ONS mid-year population estimates, mid-2021"),
        ("city-of-london", 2022, 8686, "ONS mid-year population estimates, mid-2022"),
        ("city-of-london-district", 2021, 8600, "ONS mid-year population estimates, mid-2021"),
        ("city-of-london-district", 2022, 8686, "ONS mid-year population estimates, mid-2022")]
    assert _rows(path, "SELECT count(*) FROM observation") == [(0,)]
    assert _rows(path, "SELECT count(*) FROM indicator")[0][0] == len(read_catalogue().indicators)


def test_init_force_all_and_the_area_reads(tmp_path):
    path = tmp_path / "all.duckdb"
    assert _init(path, "--force", "all") == 0
    con = connect(path, read_only=True)
    try:
        assert areas.store_forces(con) == geography.resolve_forces("all")
        assert areas.built_for(con) == geography.resolve_forces("all")
        forces = areas.area_forces(con)
        assert forces.columns == ["area_code", "force_code"]
        assert dict(forces.iter_rows())["wiltshire-district"] == "wiltshire"
        assert dict(forces.iter_rows())["btp"] == "btp"            # a force with no districts
        covers = areas.area_districts(con)
        assert covers.filter(pl.col("area_code") == "south-nottinghamshire")["lad_code"].to_list() == [
            "E07000172", "E07000173", "E07000176"]
        assert covers.filter(pl.col("area_code") == "staffordshire").height == 9
        pops = areas.populations(con)
        assert pops.columns == ["area_code", "year", "population", "source"]
        notts = dict(pops.filter(pl.col("year") == 2021).select("area_code", "population").iter_rows())
        assert notts["south-nottinghamshire"] == 110000 + 118000 + 120000
        assert notts["nottinghamshire"] == notts["south-nottinghamshire"] + notts["nottingham"]
        assert "btp" not in notts and "england-and-wales" not in notts
    finally:
        con.close()


def test_unknown_force_is_refused_naming_the_choices(tmp_path, capsys):
    path = tmp_path / "x.duckdb"
    assert _init(path, "--force", "west-mids") != 0
    err = capsys.readouterr().err
    assert "unknown force 'west-mids'" in err and "city-of-london" in err and "staffordshire" in err
    assert not path.exists()


def test_demo_store_areas_have_districts_and_populations(tmp_path):
    path = tmp_path / "demo.duckdb"
    assert _init(path, "--empty") == 0
    assert _rows(path, "SELECT count(*) FROM area_district WHERE area_code = 'staffordshire'") == [(9,)]
    assert _rows(path, "SELECT lad_code FROM area_district WHERE area_code = 'stoke-on-trent'") == [("E06000021",)]
    assert _rows(path, "SELECT count(DISTINCT area_code) FROM area_population") == [(10,)]
    assert _rows(path, "SELECT count(*) FROM area_force") == [(10,)]
