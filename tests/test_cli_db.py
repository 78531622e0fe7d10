"""`spc db init --empty`, `spc db status`, `spc export` and error handling, through the real CLI entry point."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import polars as pl
import pytest

from spc.cli import main
from spc.store import connect, transaction
from spc.store.observations import start_batch, write_observations


@pytest.fixture
def empty_store(tmp_path):
    path = tmp_path / "empty.duckdb"
    assert main(["db", "init", "--empty", "--db", str(path)]) == 0
    return path


def _add(path, indicator: str, area: str, values: list[float]) -> None:
    con = connect(path)
    with transaction(con):
        batch = start_batch(con, "test", "manual.csv")
        write_observations(con, pl.DataFrame({
            "indicator_id": indicator, "area_code": area,
            "period_start": [dt.date(2024, m, 1) for m in range(1, len(values) + 1)],
            "period_grain": "month", "value": values, "numerator": None, "denominator": None,
        }), batch)
    con.close()


def test_init_empty_has_catalogue_and_no_observations(empty_store, capsys):
    con = connect(empty_store, read_only=True)
    assert con.execute("SELECT count(*) FROM indicator").fetchone()[0] >= 20
    # the force, its nine partnership areas and England and Wales (national figures' own area)
    assert dict(con.execute("SELECT type, count(*) FROM area GROUP BY type").fetchall()) == {
        "force": 1, "community safety partnership area": 9, "national": 1}
    assert con.execute("SELECT count(*) FROM observation").fetchone()[0] == 0
    con.close()
    assert main(["db", "status", "--db", str(empty_store)]) == 0
    out = capsys.readouterr().out
    assert "schema version" in out and "no loads yet" in out and "asb_incidents" in out


def test_export_filters_and_names_columns(empty_store, capsys, tmp_path):
    _add(empty_store, "asb_incidents", "tamworth", [80, 95, 70])
    _add(empty_store, "asb_incidents", "stafford", [120, 110, 100])
    capsys.readouterr()
    assert main(["export", "--db", str(empty_store), "--indicator", "asb_incidents", "--area", "tamworth"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "indicator,indicator_name,area,area_name,period,value,numerator,denominator"
    assert len(lines) == 4 and all(",tamworth,Tamworth,2024-0" in line for line in lines[1:])

    out = tmp_path / "all.parquet"
    assert main(["export", "--db", str(empty_store), "--format", "parquet", "-o", str(out)]) == 0
    assert pl.read_parquet(out).height == 6


@pytest.mark.parametrize(("args", "message"), [
    (["export", "--indicator", "nope"], "--indicator 'nope': no such indicator"),
    (["export", "--area", "mars"], "--area 'mars': no such area"),
    (["export", "--format", "xlsx"], "--format must be csv or parquet"),
])
def test_user_mistakes_are_one_line_errors(empty_store, capsys, args, message):
    assert main([*args, "--db", str(empty_store)]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_console_script_reports_a_missing_database_in_one_line(tmp_path):
    missing = tmp_path / "missing.duckdb"
    run = subprocess.run([sys.executable, "-m", "spc.cli", "db", "status", "--db", str(missing)],
                         capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stderr.strip() == (f"spc: error: {missing}: no such database; build it with "
                                  f"`spc db init --db {missing}`")
    assert not missing.exists()


def test_db_path_comes_from_the_environment(empty_store, monkeypatch, capsys):
    monkeypatch.setenv("SPC_DB", str(empty_store))
    assert main(["db", "status"]) == 0
    assert str(empty_store) in capsys.readouterr().out
