"""The bad-file corpus: each file gets its own clear error, naming line and column, and the
store's data tables are exactly as before (the problems themselves are kept in rejected_row)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_ingest_support import BAD_DIR, STREET_DIR, make_store, snapshot

from spc.cli import main
from spc.ingest import run_import
from spc.store import connect

GOOD_CALLS = "Month,Calls received,Answered under 10s,Answered 10 to 59s,Answered 60s plus,Mean answer seconds\n" \
             "2023-12,21000,18000,2400,600,9.1\n"

# (source, file, line, column, words the reason must contain)
CASES = [
    ("police-uk", "street_wrong_header.csv", 1, "Crime type", "missing column 'Crime type'"),
    ("police-uk", "street_wrong_delimiter.csv", 1, "Month", "semicolon-separated, expected commas"),
    ("police-uk", "street_truncated_last_line.csv", 14, None, "truncated last line"),
    ("police-uk", "street_empty.csv", 1, None, "empty file"),
    ("police-uk", "street_another_format.csv", 1, None, "looks like a Parquet file"),
    ("police-uk", "street_windows_1252.csv", 2, None, "--encoding cp1252"),
    ("calls-999", "calls_999_text_in_count.csv", 3, "Calls received", "not a number"),
    ("calls-999", "calls_999_negative_count.csv", 3, "Answered under 10s", "negative count"),
    ("calls-999", "calls_999_duplicated_month.csv", 3, "Month", "duplicate calls_999_received / staffordshire / 2024-02-01"),
    ("tidy", "tidy_numerator_above_denominator.csv", 3, "numerator", "numerator 19000 is above the denominator 18500"),
]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding one real street month and one month of 999 data."""
    folder = tmp_path_factory.mktemp("baseline")
    db = make_store(folder / "base.duckdb")
    (folder / "calls.csv").write_text(GOOD_CALLS)
    con = connect(db)
    try:
        assert run_import(con, "police-uk", [STREET_DIR / "2024-01"]).rows_rejected == 0
        assert run_import(con, "calls-999", [folder / "calls.csv"]).rows_rejected == 0
    finally:
        con.close()
    return db


def _copy(baseline: Path, tmp_path: Path) -> Path:
    db = tmp_path / "store.duckdb"
    db.write_bytes(baseline.read_bytes())
    return db


@pytest.mark.parametrize(("source", "name", "line", "column", "words"), CASES, ids=[c[1] for c in CASES])
def test_bad_file_is_rejected_with_its_reason_and_changes_no_data(
        baseline: Path, tmp_path: Path, source: str, name: str, line: int, column: str | None, words: str) -> None:
    db = _copy(baseline, tmp_path)
    con = connect(db)
    try:
        before = snapshot(con)
        assert before["observation"], "the baseline store has data to protect"
        report = run_import(con, source, [BAD_DIR / name])
        assert report.rows_rejected > 0
        assert [f.status for f in report.files] == ["rejected"]
        assert snapshot(con) == before
        rows = con.execute(
            "SELECT r.line, r.column_name, r.reason, r.file FROM rejected_row r "
            "JOIN load_batch b ON b.id = r.load_batch_id WHERE b.path LIKE ? ORDER BY r.line",
            [f"%{name}"]).fetchall()
    finally:
        con.close()
    matching = [r for r in rows if words in r[2]]
    assert matching, f"no rejection mentions {words!r}: {rows}"
    assert matching[0][0] == line
    assert matching[0][1] == column
    assert matching[0][3].endswith(name)


def test_cli_exits_non_zero_and_prints_the_reason(baseline: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    db = _copy(baseline, tmp_path)
    code = main(["import", "calls-999", str(BAD_DIR / "calls_999_text_in_count.csv"), "--db", str(db)])
    out = capsys.readouterr().out
    assert code == 1
    assert "line 3, column 'Calls received', value 'n/a'" in out
    assert "rejected_row" in out


def test_load_good_rows_loads_the_rest_of_a_file_with_errors(baseline: Path, tmp_path: Path) -> None:
    db = _copy(baseline, tmp_path)
    con = connect(db)
    try:
        report = run_import(con, "calls-999", [BAD_DIR / "calls_999_text_in_count.csv"], load_good_rows=True)
        months = con.execute("SELECT strftime(period_start, '%Y-%m') FROM observation "
                             "WHERE indicator_id = 'calls_999_received' ORDER BY 1").fetchall()
    finally:
        con.close()
    assert report.files[0].status == "partial"
    assert report.files[0].rows_rejected == 1
    assert report.files[0].loaded == 8          # two good months x four indicators
    assert [m[0] for m in months] == ["2023-12", "2024-01", "2024-03"]


def test_windows_1252_file_loads_when_its_encoding_is_stated(baseline: Path, tmp_path: Path) -> None:
    db = _copy(baseline, tmp_path)
    con = connect(db)
    try:
        report = run_import(con, "police-uk", [BAD_DIR / "street_windows_1252.csv"], encoding="cp1252",
                            load_good_rows=False)
    finally:
        con.close()
    assert report.rows_rejected == 0
    # the synthetic file is 2024-01 with 12 rows: it revises the real month's counts
    assert report.files[0].revised > 0


def test_utf8_bom_is_accepted_and_reads_like_the_same_file_without_it(tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" starts with a byte-order mark; the first header must still be found."""
    plain = tmp_path / "plain.csv"
    plain.write_bytes((BAD_DIR / "street_utf8_bom.csv").read_bytes()[3:])
    results = []
    for path in (BAD_DIR / "street_utf8_bom.csv", plain):
        db = make_store(tmp_path / f"{path.stem}.duckdb")
        con = connect(db)
        try:
            report = run_import(con, "police-uk", [path])
            assert report.rows_rejected == 0
            results.append(con.execute("SELECT indicator_id, area_code, period_start, value FROM observation "
                                       "ORDER BY ALL").fetchall())
        finally:
            con.close()
    assert results[0] == results[1]
    assert ("asb_incidents", "tamworth", results[0][0][2], 3.0) in results[0]
