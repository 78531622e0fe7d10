"""Stores for any force and for many forces (issue 11): `spc db init --force`, the reference
geography (spc.geography) and the store's area tables (schema 9, spc.store.areas).

Every test reads the small fixture copies in tests/data/geography/ through $SPC_GEOGRAPHY.
"""

from __future__ import annotations

import datetime as dt
import re
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


def test_rerun_is_idempotent_and_keeps_the_forces(tmp_path, capsys):
    path = tmp_path / "notts.duckdb"
    tables = ("area", "area_force", "area_district", "area_population", "store_setting")

    def snapshot():
        return {t: _rows(path, f"SELECT * FROM {t} ORDER BY ALL") for t in tables}

    assert _init(path, "--force", "nottinghamshire") == 0
    first = snapshot()
    assert _init(path, "--force", "nottinghamshire") == 0
    assert snapshot() == first
    capsys.readouterr()
    # without --force: the store's forces, never the Staffordshire demo
    assert _init(path) == 0
    out = capsys.readouterr().out
    assert "forces: nottinghamshire" in out and "no demo data" in out
    assert snapshot() == first
    assert _rows(path, "SELECT count(*) FROM observation") == [(0,)]
    assert _rows(path, "SELECT count(*) FROM area WHERE code = 'stafford'") == [(0,)]


def test_adding_a_force_and_dropping_one(tmp_path, capsys):
    path = tmp_path / "two.duckdb"
    assert _init(path, "--force", "city-of-london") == 0
    assert _init(path, "--force", "city-of-london,wiltshire") == 0
    assert "(added wiltshire)" in capsys.readouterr().out
    assert _rows(path, "SELECT code FROM area WHERE type = 'force' ORDER BY 1") == [("city-of-london",), ("wiltshire",)]
    # a force with no data can go
    assert _init(path, "--force", "wiltshire") == 0
    assert "(removed city-of-london)" in capsys.readouterr().out
    assert _rows(path, "SELECT count(*) FROM area WHERE code LIKE 'city-of-london%'") == [(0,)]
    assert _rows(path, "SELECT count(*) FROM area_force WHERE force_code = 'city-of-london'") == [(0,)]
    # one with observations cannot
    _add(path, "wiltshire-district", [5, 6, 7])
    before = {t: _rows(path, f"SELECT * FROM {t} ORDER BY ALL") for t in ("area", "area_force", "store_setting")}
    assert _init(path, "--force", "city-of-london") != 0
    err = capsys.readouterr().err
    assert "holds data for wiltshire" in err and "wiltshire: 3 observations and 0 annotations in 1 area(s) " \
        "(wiltshire-district)" in err
    assert "--force city-of-london,wiltshire" in err and "nothing was changed" in err
    assert {t: _rows(path, f"SELECT * FROM {t} ORDER BY ALL") for t in before} == before


def test_a_demo_store_becomes_a_store_for_forces_only_without_losing_data(tmp_path, capsys):
    path = tmp_path / "demo.duckdb"
    assert _init(path, "--empty") == 0
    _add(path, "tamworth", [80, 95])
    assert _init(path, "--force", "wiltshire") != 0
    assert "holds data for staffordshire" in capsys.readouterr().err
    assert _rows(path, "SELECT count(*) FROM area WHERE type = 'force'") == [(1,)]
    # keeping Staffordshire: its lookup areas are the demo's (same codes), nothing lost
    assert _init(path, "--force", "staffordshire,wiltshire") == 0
    assert _rows(path, "SELECT count(*) FROM observation WHERE area_code = 'tamworth'") == [(2,)]
    assert _rows(path, "SELECT force_code FROM area_force WHERE area_code = 'tamworth'") == [("staffordshire",)]


# --------------------------------------------------------------------------------------------
# Bad reference files
# --------------------------------------------------------------------------------------------

def _append(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(line + "\n")


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("breakage, message", [
    (lambda d: _append(d / "districts.csv",
                       "E07000192,Cannock Chase,E22000192,Cannock Chase,E23000038,Wiltshire,wiltshire"),
     r"districts.csv: line 18, column force: 'wiltshire' is a second force for district E07000192: "
     r"it is already in force 'staffordshire' \(line 2\)"),
    (lambda d: _append(d / "districts.csv",
                       "E07000192,Cannock Chase,E22000192,Cannock Chase,E23000015,Staffordshire,staffordshire"),
     r"districts.csv: line 18, column lad_code: 'E07000192' is listed twice \(first on line 2\)"),
    (lambda d: _replace(d / "districts.csv", "E23000038,Wiltshire,wiltshire\nE06000030,Swindon,E22000030,Swindon,"
                        "E23000038,Wiltshire,wiltshire", "E23000038,Wiltshire,wiltshire\nE06000030,Swindon,"
                        "E22000030,Swindon,E23000099,Gloucestershire,gloucestershire"),
     r"districts.csv: line 13, column force: 'gloucestershire' is not a force of .*forces.csv"),
    (lambda d: _replace(d / "districts.csv", "E07000199,Tamworth", "E0700199,Tamworth"),
     r"districts.csv: line 9, column lad_code: 'E0700199' is not a local authority district code"),
    (lambda d: _replace(d / "districts.csv", "E22000054,Wiltshire", "E22000063;E22000067,Wiltshire"),
     r"districts.csv: line 12, column csp_code: 'E22000063;E22000067' is not a community safety partnership code"),
    (lambda d: _replace(d / "forces.csv", "wiltshire,Wiltshire Police", "Wiltshire,Wiltshire Police"),
     r"forces.csv: line 6, column force: 'Wiltshire' is not a police.uk force name"),
    (lambda d: _append(d / "population.csv", "E07000192,2021,5"),
     r"population.csv: line 34, column lad_code: \('E07000192', '2021'\) is listed twice"),
    (lambda d: _append(d / "population.csv", "E07000999,2021,5"),
     r"population.csv: line 34, column lad_code: 'E07000999' is not a district of .*districts.csv"),
])
def test_a_bad_lookup_is_refused_naming_file_line_and_value(tmp_path, bad_geography, capsys, breakage, message):
    path = tmp_path / "store.duckdb"
    assert _init(path, "--force", "city-of-london") == 0
    _add(path, "city-of-london", [1, 2])
    tables = ("area", "area_force", "area_district", "area_population", "observation", "store_setting")
    before = {t: _rows(path, f"SELECT * FROM {t} ORDER BY ALL") for t in tables}
    breakage(bad_geography)
    capsys.readouterr()
    for args in (["--force", "city-of-london,wiltshire"], []):
        assert _init(path, *args) != 0
        err = capsys.readouterr().err
        assert re.search(message, err), err
    assert {t: _rows(path, f"SELECT * FROM {t} ORDER BY ALL") for t in tables} == before
    # nor is a new store made
    assert _init(tmp_path / "new.duckdb", "--force", "city-of-london") != 0
    assert not (tmp_path / "new.duckdb").exists()


def test_an_lsoa_of_an_unknown_district_is_refused(bad_geography):
    import gzip

    with gzip.open(bad_geography / "lsoa_districts.csv.gz", "at") as f:
        f.write("E01999999,E07000999\n")
    with pytest.raises(SpcError, match=r"lsoa_districts.csv.gz: line 51, column lad_code: 'E07000999' is not a "
                                       r"district of .*districts.csv"):
        geography.lsoa_districts()


def test_a_missing_column_and_a_missing_file(bad_geography):
    (bad_geography / "most_similar_groups.csv").write_text("force,peer\nstaffordshire,wiltshire\n")
    with pytest.raises(SpcError, match=r"most_similar_groups.csv: line 1 \(header\): missing column\(s\) rank"):
        geography.peer_groups()
    (bad_geography / "forces.csv").unlink()
    with pytest.raises(SpcError, match=r"forces.csv: reference geography file not found"):
        geography.forces()


# --------------------------------------------------------------------------------------------
# Migration of a single-force store
# --------------------------------------------------------------------------------------------

def test_a_schema_8_store_migrates_and_keeps_everything(tmp_path):
    from spc.store.catalogue import load_catalogue

    path = tmp_path / "old.duckdb"
    con = connect(path, create=True)
    migrate(con, target=8)
    with transaction(con):
        load_catalogue(con, read_catalogue())
    con.close()
    _add(path, "tamworth", [80, 95, 70])
    _add(path, "tamworth", [81, 95, 70])        # one revision
    _add(path, "staffordshire", [900, 950])
    con = connect(path)
    with transaction(con):
        con.execute("INSERT INTO annotation (indicator_id, area_code, date, kind, text, author, created_at) "
                    "VALUES ('asb_incidents', 'tamworth', DATE '2024-02-01', 'note', 'a note', 'ana', now())")
    con.close()
    counts = {t: _rows(path, f"SELECT count(*) FROM {t}")[0][0]
              for t in ("observation", "observation_revision", "annotation")}
    assert counts == {"observation": 5, "observation_revision": 1, "annotation": 1}
    assert _init(path, "--empty") == 0
    assert _rows(path, "SELECT max(version) FROM schema_version") == [(9,)]
    assert {t: _rows(path, f"SELECT count(*) FROM {t}")[0][0] for t in counts} == counts
    assert _rows(path, "SELECT count(*) FROM area_force") == [(10,)]
    assert _rows(path, "SELECT count(DISTINCT area_code) FROM area_population") == [(10,)]
    assert _rows(path, "SELECT count(*) FROM store_setting") == [(0,)]


def test_reloading_the_catalogue_never_brings_the_demo_areas_into_a_store_for_forces(tmp_path):
    from spc.store.catalogue import load_catalogue

    path = tmp_path / "col.duckdb"
    assert _init(path, "--force", "city-of-london") == 0
    before = _rows(path, "SELECT * FROM area ORDER BY ALL")
    con = connect(path)
    with transaction(con):
        load_catalogue(con, read_catalogue())        # as the app's "reload the catalogue" does
    con.close()
    assert _rows(path, "SELECT * FROM area ORDER BY ALL") == before


def test_db_init_help_offers_force():
    from typer.testing import CliRunner

    from spc.cli import app

    out = CliRunner().invoke(app, ["db", "init", "--help"], terminal_width=200).output
    assert "--force" in out and "city-of-london" in out


@pytest.mark.skipif(not (geography.GEOGRAPHY_DIR / geography.DISTRICTS_FILE).exists(),
                    reason="the shipped reference geography is not there")
def test_the_shipped_lookup_gives_every_force_its_areas(monkeypatch):
    monkeypatch.delenv("SPC_GEOGRAPHY")
    assert geography.geography_dir() == geography.GEOGRAPHY_DIR
    table = geography.area_table()
    assert table["code"].is_unique().all()
    territorial = geography.forces().filter(pl.col("force") != "btp")["force"].to_list()
    assert len(territorial) == 43
    forces_with_areas = set(table.filter(pl.col("type") != "force")["force"])
    assert forces_with_areas == set(territorial)
    # every district is covered by exactly one partnership area
    local = geography.district_areas()
    assert local["lad_code"].is_unique().all() and local.height == geography.districts().height
    # Staffordshire's partnerships are the demo's nine areas, codes and districts
    demo = {a.code: a.ons_code for a in read_catalogue().local_areas}
    assert {a.code: a.ons_code for a in geography.local_areas(["staffordshire"]) if a.type != "force"} == demo
    # "-district" only where a local area's name is a force's (city-of-london, wiltshire, ...)
    suffixed = [c.removesuffix("-district") for c in table["code"] if c.endswith("-district")]
    assert "city-of-london" in suffixed and set(suffixed) <= set(geography.forces()["force"])
