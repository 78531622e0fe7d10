"""The MoJ importer reads geography from the file: no area column means England and Wales
(stored under the national area), an area column maps each row, and `--area` naming a local
area for a national file is refused with nothing written."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from test_ingest_support import MOJ_FILE, catalogue, make_store, snapshot

from spc.cli import main
from spc.errors import SpcError
from spc.ingest import run_import
from spc.store import connect, migrate, transaction
from spc.store.catalogue import load_catalogue
from spc.store.geography import MISSTORED_NOTE

NATIONAL = "england-and-wales"


def _counts(db: Path) -> dict[str, int]:
    con = connect(db, read_only=True)
    try:
        return dict(con.execute("SELECT area_code, count(*) FROM observation GROUP BY 1").fetchall())
    finally:
        con.close()


def test_real_moj_file_imports_under_england_and_wales_through_the_cli(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = make_store(tmp_path / "store.duckdb")
    assert main(["import", "reoffending", str(MOJ_FILE), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "stored under the national area 'england-and-wales'" in out
    con = connect(db, read_only=True)
    try:
        summary = con.execute("SELECT a.name, a.type, s.n_points FROM result_summary s JOIN area a "
                              "ON a.code = s.area_code WHERE s.indicator_id = 'proven_reoffending_rate'").fetchall()
        message = con.execute("SELECT message FROM load_batch").fetchone()[0]
    finally:
        con.close()
    assert _counts(db) == {NATIONAL: 53}
    assert summary == [("England and Wales", "national", 53)]   # a chart of its own, named for what it measures
    assert MISSTORED_NOTE not in message    # what db init looks for is never written by this importer
    # importing it again changes nothing, and naming the national area is the same thing
    assert main(["import", "reoffending", str(MOJ_FILE), "--area", NATIONAL, "--db", str(db)]) == 0
    assert "unchanged" in capsys.readouterr().out
    assert _counts(db) == {NATIONAL: 53}


@pytest.mark.parametrize("area", ["staffordshire", "tamworth"])
def test_area_for_the_national_file_is_refused_naming_file_columns_and_fix(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], area: str) -> None:
    db = make_store(tmp_path / "store.duckdb")
    con = connect(db)
    before = snapshot(con, ("observation", "observation_revision", "load_batch", "rejected_row"))
    con.close()
    assert main(["import", "reoffending", str(MOJ_FILE), "--area", area, "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert str(MOJ_FILE) in err
    assert "England and Wales (national) series" in err
    assert "columns: measure, temporal_unit, date, group, rate, value" in err
    assert f"--area {area} would present national figures as that area's own: drop --area" in err
    con = connect(db, read_only=True)
    try:
        assert snapshot(con, ("observation", "observation_revision", "load_batch", "rejected_row")) == before
    finally:
        con.close()


def _area_file(tmp_path: Path) -> Path:
    """A PCC-area style long file: the same shape with an area column."""
    path = tmp_path / "pcc.csv"
    rows = ["measure,temporal_unit,date,PCC area,group,rate,value"]
    for area, cohort, reoffenders in (("England & Wales", 150000, 45000), ("Staffordshire", 3000, 840),
                                      ("Kent", 4000, 1100)):
        for date in ("2013-01-01", "2013-04-01"):
            rows += [f"new,3-monthly,{date},{area},All,cohort,{cohort}",
                     f"new,3-monthly,{date},{area},All,reoffenders,{reoffenders}"]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_file_with_an_area_column_is_stored_row_by_row_national_rows_nationally(tmp_path: Path) -> None:
    db = make_store(tmp_path / "store.duckdb")
    con = connect(db)
    try:
        report = run_import(con, "reoffending", [_area_file(tmp_path)])
    finally:
        con.close()
    assert report.rows_rejected == 0
    assert _counts(db) == {NATIONAL: 2, "staffordshire": 2}
    assert "4 rows of areas not in the catalogue skipped" in report.files[0].notes


def test_area_picks_one_areas_rows_of_a_file_with_an_area_column(tmp_path: Path) -> None:
    db = make_store(tmp_path / "store.duckdb")
    con = connect(db)
    try:
        report = run_import(con, "reoffending", [_area_file(tmp_path)], area="staffordshire")
    finally:
        con.close()
    assert _counts(db) == {"staffordshire": 2}
    assert "4 rows of other areas skipped (--area staffordshire)" in report.files[0].notes


def test_a_store_without_a_national_area_says_to_run_db_init(tmp_path: Path) -> None:
    cat = catalogue()
    path = tmp_path / "store.duckdb"
    con = connect(path, create=True)
    try:
        migrate(con)
        with transaction(con):
            load_catalogue(con, dataclasses.replace(cat, areas=[a for a in cat.areas if a.type != "national"]))
        with pytest.raises(SpcError, match="has no area column, so it holds England and Wales .* run `spc db init`"):
            run_import(con, "reoffending", [MOJ_FILE])
        assert con.execute("SELECT count(*) FROM load_batch").fetchone()[0] == 0
    finally:
        con.close()
