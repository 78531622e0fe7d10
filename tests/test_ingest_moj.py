"""MoJ proven reoffending: the real national file, stored under England and Wales, and revised cohorts."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from test_ingest_support import MOJ_FILE, make_store, snapshot

from spc.cli import main
from spc.errors import SpcError
from spc.ingest import run_import
from spc.store import connect


def _series(group: str) -> dict[str, dict[str, float]]:
    """{date: {rate: value}} for the new-measure 3-monthly cohorts of a group, read with csv."""
    out: dict[str, dict[str, float]] = {}
    with MOJ_FILE.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if (row["measure"], row["temporal_unit"], row["group"]) == ("new", "3-monthly", group) and row["value"]:
                out.setdefault(row["date"], {})[row["rate"]] = float(row["value"])
    return out


@pytest.mark.parametrize("group", ["All", "Adult"])
def test_real_moj_file_gives_quarterly_rates_with_numerator_and_denominator(tmp_path: Path, group: str) -> None:
    db = make_store(tmp_path / "store.duckdb")
    con = connect(db)
    try:
        report = run_import(con, "reoffending", [MOJ_FILE], group=group)
        rows = con.execute("SELECT strftime(period_start, '%Y-%m-%d'), period_grain, area_code, value, numerator, "
                           "denominator FROM observation WHERE indicator_id = 'proven_reoffending_rate' "
                           "ORDER BY 1").fetchall()
        message = con.execute("SELECT message FROM load_batch").fetchone()[0]
    finally:
        con.close()
    expected = _series(group)
    assert report.rows_rejected == 0
    # 57 quarterly cohorts 2000-01..2014-01, of which the four of 2001 have no published figures
    assert len(rows) == len(expected) == 53
    assert {"2001-01-01", "2001-04-01", "2001-07-01", "2001-10-01"}.isdisjoint(expected)
    for date, grain, area, value, num, den in rows:
        assert (grain, area) == ("quarter", "england-and-wales")
        assert num == expected[date]["reoffenders"] and den == expected[date]["cohort"]
        assert value == pytest.approx(num / den)
        assert 100 * value == pytest.approx(expected[date]["binary"], abs=0.001)
    if group == "Adult":  # the README's worked example
        assert rows[-1][0] == "2014-01-01" and rows[-1][4:] == (40143, 136558)
    assert ("England and Wales figures (the file has no area column) stored under the national area "
            "'england-and-wales'") in message
    assert "rows of other series not used" in message
    assert "no published value (2001-01-01, 2001-04-01, 2001-07-01, 2001-10-01): those cohorts are not loaded" in message


def test_national_file_with_a_force_area_is_refused_with_a_clear_reason(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    db = make_store(tmp_path / "store.duckdb")
    con = connect(db)
    try:
        before = snapshot(con, ("observation", "load_batch"))
        with pytest.raises(SpcError, match="England and Wales \\(national\\) series: the file has no area column"):
            run_import(con, "reoffending", [MOJ_FILE], area="staffordshire")
        assert snapshot(con, ("observation", "load_batch")) == before   # the whole import rolled back
    finally:
        con.close()
    assert main(["import", "reoffending", str(MOJ_FILE), "--area", "staffordshire", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert MOJ_FILE.name in err and "--area staffordshire would present national figures" in err
    assert "drop --area" in err


def test_revised_cohorts_update_the_rate_and_keep_the_earlier_revision(tmp_path: Path) -> None:
    db = make_store(tmp_path / "store.duckdb")
    text = MOJ_FILE.read_text()
    revised = tmp_path / "revised.csv"
    # MoJ revises a cohort: the 2013-10 All cohort gains 100 reoffenders (binary rate dropped so
    # the file stays consistent), and the last cohort is not in the new file at all.
    lines = []
    for line in text.splitlines():
        parts = line.split(",")
        if parts[:4] == ["new", "3-monthly", "2013-10-01", "All"] and parts[4] == "reoffenders":
            parts[5] = str(int(float(parts[5])) + 100)
        if parts[:4] == ["new", "3-monthly", "2013-10-01", "All"] and parts[4] == "binary":
            continue
        if parts[:3] == ["new", "3-monthly", "2014-01-01"]:
            continue
        lines.append(",".join(parts))
    revised.write_text("\n".join(lines) + "\n")
    con = connect(db)
    try:
        first = run_import(con, "reoffending", [MOJ_FILE])
        report = run_import(con, "reoffending", [revised])
        current = con.execute("SELECT numerator, load_batch_id FROM observation "
                              "WHERE period_start = '2013-10-01'").fetchone()
        history = con.execute("SELECT numerator, load_batch_id, superseded_by_batch FROM observation_revision").fetchall()
        kept = con.execute("SELECT count(*) FROM observation WHERE period_start = '2014-01-01'").fetchone()[0]
    finally:
        con.close()
    original = _series("All")["2013-10-01"]["reoffenders"]
    assert (report.files[0].revised, report.files[0].unchanged, report.files[0].loaded) == (1, 51, 0)
    assert current == (original + 100, report.files[0].batch_id)
    assert history == [(original, first.files[0].batch_id, report.files[0].batch_id)]
    assert kept == 1   # the cohort absent from the revised file stays


def test_inconsistent_binary_rate_and_missing_cohort_rows_are_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("measure,temporal_unit,date,group,rate,value\n"
                   "new,3-monthly,2013-01-01,All,cohort,1000\n"
                   "new,3-monthly,2013-01-01,All,reoffenders,250\n"
                   "new,3-monthly,2013-01-01,All,binary,35.0\n"
                   "new,3-monthly,2013-04-01,All,reoffenders,240\n"
                   "new,3-monthly,2013-08-01,All,cohort,900\n"
                   "new,3-monthly,2013-08-01,All,reoffenders,1200\n")
    db = make_store(tmp_path / "store.duckdb")
    con = connect(db)
    try:
        report = run_import(con, "reoffending", [bad], load_good_rows=True)
    finally:
        con.close()
    reasons = {(r["line"], r["reason"].split(" (")[0]) for r in report.files[0].rejections.iter_rows(named=True)}
    assert (3, "value 0.35 does not match numerator / denominator = 0.25") in reasons
    assert (5, "cohort 2013-04-01 has no cohort value") in reasons
    assert any(line == 7 and "is not the start of a quarter" in why for line, why in reasons)
    assert any(line == 7 and "numerator 1200 is above the denominator 900" in why for line, why in reasons)
    assert report.files[0].loaded == 0
