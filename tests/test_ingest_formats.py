"""999 calls (header aliases), fire response and tidy files (CSV, Parquet, Excel)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from test_ingest_support import make_store

from spc.ingest import run_import
from spc.store import connect

CALLS_A = ("Month,Calls received,Answered under 10s,Answered 10 to 59s,Answered 60s plus,Mean answer seconds\n"
           "2024-01,20000,17400,2000,600,9.4\n2024-02,18500,16000,1900,600,9.9\n")
# The same figures under other accepted headers, another column order, CRLF, and a national
# file's force column with another force's rows.
CALLS_B = ("Police force,Average answer time (seconds),Calls answered in 60 seconds or more,"
           "Calls answered between 10 and 60 seconds,Calls answered in under 10 seconds,Total calls presented,Date\r\n"
           "Staffordshire Police,9.4,600,2000,17400,20000,2024-01\r\n"
           "West Mercia Police,12.0,900,2500,15000,18400,2024-01\r\n"
           "Staffordshire Police,9.9,600,1900,16000,18500,2024-02\r\n")


def _import(tmp_path: Path, source: str, name: str, text: str | bytes | None = None, **options: object
            ) -> tuple[object, list[tuple]]:
    path = tmp_path / name
    if text is not None:
        path.write_bytes(text.encode() if isinstance(text, str) else text)
    db = tmp_path / f"{path.stem}.duckdb"
    if not db.exists():
        make_store(db)
    con = connect(db)
    try:
        report = run_import(con, source, [path], **options)
        rows = con.execute("SELECT indicator_id, area_code, strftime(period_start, '%Y-%m-%d'), period_grain, "
                           "value, numerator, denominator FROM observation ORDER BY ALL").fetchall()
    finally:
        con.close()
    return report, rows


def test_999_header_aliases_give_the_same_observations(tmp_path: Path) -> None:
    report_a, rows_a = _import(tmp_path, "calls-999", "a.csv", CALLS_A)
    report_b, rows_b = _import(tmp_path, "calls-999", "b.csv", CALLS_B)
    assert report_a.rows_rejected == report_b.rows_rejected == 0
    assert rows_a == rows_b
    assert len(rows_a) == 8
    by_key = {(r[0], r[2]): r for r in rows_a}
    assert by_key[("calls_999_answered_10s", "2024-01-01")][4:] == (pytest.approx(0.87), 17400, 20000)
    assert by_key[("calls_999_answered_60s_plus", "2024-02-01")][4:] == (pytest.approx(600 / 18500), 600, 18500)
    assert by_key[("calls_999_mean_answer_seconds", "2024-02-01")][4] == 9.9
    assert by_key[("calls_999_received", "2024-01-01")][1:5] == ("staffordshire", "2024-01-01", "month", 20000)
    assert "1 rows of other forces skipped" in report_b.files[0].notes


def test_999_month_names_read_like_iso_months(tmp_path: Path) -> None:
    text = CALLS_A.replace("2024-01,", "Jan 2024,").replace("2024-02,", "February-24,")
    _, rows_iso = _import(tmp_path, "calls-999", "iso.csv", CALLS_A)
    report, rows_named = _import(tmp_path, "calls-999", "named.csv", text)
    assert report.rows_rejected == 0
    assert rows_named == rows_iso


def test_999_missing_header_is_named_with_its_accepted_aliases(tmp_path: Path) -> None:
    text = "Month,Calls received,Answered under 10s,Answered 60s plus\n2024-01,20000,17400,600\n"
    report, rows = _import(tmp_path, "calls-999", "c.csv", text)
    reason = report.files[0].rejections.get_column("reason")[0]
    assert rows == []
    assert reason.startswith("missing column 'Mean answer seconds' (accepted headers: 'Mean answer seconds', ")
    assert "'Average answer time (seconds)'" in reason


def test_999_answered_calls_above_calls_received_are_rejected(tmp_path: Path) -> None:
    text = CALLS_A.replace("2024-02,18500,16000,1900,600", "2024-02,18500,16000,1900,900")
    report, _ = _import(tmp_path, "calls-999", "d.csv", text)
    row = report.files[0].rejections.row(0, named=True)
    assert (row["line"], row["column_name"]) == (3, "Calls received")
    assert row["reason"] == "calls answered (18800) exceed calls received (18500)"


def test_fire_monthly_file_and_seconds_column(tmp_path: Path) -> None:
    text = ("Month,Incidents attended,Incidents meeting the standard,Mean attendance time (seconds)\n"
            "2024-01,700,570,561\n2024-02,650,530,555\n")
    report, rows = _import(tmp_path, "fire", "fire.csv", text)
    assert report.rows_rejected == 0
    by_key = {(r[0], r[2]): r for r in rows}
    assert by_key[("fire_attendance_standard_met", "2024-01-01")][4:] == (pytest.approx(570 / 700), 570, 700)
    assert by_key[("fire_mean_attendance_minutes", "2024-01-01")][4] == pytest.approx(9.35)
    assert by_key[("fire_incidents_attended", "2024-02-01")][1:5] == ("staffordshire", "2024-02-01", "month", 650)


def test_fire_yearly_figures_do_not_fit_monthly_indicators(tmp_path: Path) -> None:
    text = ("Financial year,Incidents attended,Standard met,Mean attendance minutes\n"
            "2023/24,8203,6636,9.34\n")
    report, rows = _import(tmp_path, "fire", "fire_year.csv", text)
    reasons = set(report.files[0].rejections.get_column("reason"))
    assert rows == []
    assert "period grain 'year' does not match the indicator's frequency 'month'" in reasons
    assert set(report.files[0].rejections.get_column("line")) == {2}


def test_fire_met_above_attended_is_rejected(tmp_path: Path) -> None:
    text = "Month,Incidents attended,Standard met,Mean attendance minutes\n2024-01,700,710,9.1\n"
    report, _ = _import(tmp_path, "fire", "fire_bad.csv", text)
    assert report.files[0].rejections.get_column("reason").to_list() == [
        "incidents meeting the standard (710) exceed incidents attended (700)"]


TIDY = pl.DataFrame({
    "indicator": ["asb_incidents", "asb_incidents", "victims_satisfied", "calls_999_answered_10s"],
    "area": ["tamworth", "Stoke-on-Trent", "staffordshire", "staffordshire"],
    "period": ["2024-01-01", "2024-01", "2024-04-01", "2024-01-01"],
    "value": [81.0, 240.0, 0.78, None],
    "numerator": [None, None, None, 17400.0],
    "denominator": [None, None, None, 20000.0],
})


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_tidy_files_in_every_format_load_the_same_rows(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"tidy.{fmt}"
    writers = {"csv": TIDY.write_csv, "parquet": TIDY.write_parquet,
               "xlsx": lambda p: TIDY.to_pandas().to_excel(p, index=False)}  # openpyxl, no xlsxwriter
    writers[fmt](path)
    report, rows = _import(tmp_path, "tidy", path.name)
    assert report.rows_rejected == 0, report.files[0].rejections.to_dicts()
    assert rows == [
        ("asb_incidents", "stoke-on-trent", "2024-01-01", "month", 240.0, None, None),
        ("asb_incidents", "tamworth", "2024-01-01", "month", 81.0, None, None),
        ("calls_999_answered_10s", "staffordshire", "2024-01-01", "month", pytest.approx(0.87), 17400.0, 20000.0),
        ("victims_satisfied", "staffordshire", "2024-04-01", "quarter", 0.78, None, None),
    ]


def test_tidy_percentages_must_be_stated(tmp_path: Path) -> None:
    text = "indicator,area,period,value\nvictims_satisfied,staffordshire,2024-04-01,78\n"
    report, rows = _import(tmp_path, "tidy", "pct.csv", text)
    assert rows == []
    assert "outside 0 to 1" in report.files[0].rejections.get_column("reason")[0]
    report, rows = _import(tmp_path, "tidy", "pct.csv", None, proportion_scale="percent")
    assert report.rows_rejected == 0
    assert rows[0][4] == pytest.approx(0.78)


def test_tidy_rules_unknown_codes_grain_text_and_duplicates(tmp_path: Path) -> None:
    text = ("indicator,area,period,value\n"
            "asb_incidents,tamworth,2024-01-01,81\n"
            "no_such_thing,tamworth,2024-01-01,5\n"          # unknown indicator
            "asb_incidents,atlantis,2024-01-01,5\n"          # unknown area
            "victims_satisfied,staffordshire,2024-05-01,0.7\n"  # quarterly indicator, not a quarter start
            "asb_incidents,stafford,2024-01-15,9\n"          # not a month start
            "asb_incidents,lichfield,2024-01-01,lots\n"      # text in a count
            "asb_incidents,lichfield,2024-02-01,-3\n"        # negative
            "asb_incidents,lichfield,2024-03-01,2.5\n"       # not a whole count
            "asb_incidents,tamworth,2024-01-01,82\n")        # duplicate of line 2
    report, rows = _import(tmp_path, "tidy", "rules.csv", text, load_good_rows=True)
    got = {(r["line"], r["column_name"], r["reason"].split(" (")[0]) for r in report.files[0].rejections.iter_rows(named=True)}
    assert got == {
        (3, "indicator", "unknown indicator 'no_such_thing'"),
        (4, "area", "unknown area 'atlantis'"),
        (5, "period", "period 2024-05-01 is not the start of a quarter"),
        (6, "period", "period 2024-01-15 is not the start of a month"),
        (7, "value", "not a number"),
        (8, "value", "negative value"),
        (9, "value", "a count must be a whole number"),
        (2, "period", "duplicate asb_incidents / tamworth / 2024-01-01 in this file"),
        (10, "period", "duplicate asb_incidents / tamworth / 2024-01-01 in this file"),
    }
    assert report.files[0].rows_rejected == 9
    assert rows == []   # the only other rows were the duplicates
