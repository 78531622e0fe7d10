"""`spc import` as analysts run it: the per-file table, exit codes and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_ingest_support import STREET_DIR, make_store

from spc.cli import main


def test_import_prints_a_table_per_file_and_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = make_store(tmp_path / "store.duckdb")
    args = ["import", "police-uk", str(STREET_DIR / "2024-01"), str(STREET_DIR / "2024-02"), "--db", str(db)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "[1/2] " in out and "[2/2] " in out            # one line per file when not on a terminal
    header = next(line for line in out.splitlines() if "rows read" in line and "┃" in line)
    for column in ("file", "status", "rows read", "loaded", "unchanged", "revised", "rejected", "no location",
                   "outside areas"):
        assert column in header
    row = next(line for line in out.splitlines() if "2024-02-staffordshire-street.csv" in line and "│" in line)
    assert [cell.strip() for cell in row.split("│")[1:-1]] == [
        "2024-02-staffordshire-street.csv", "loaded", "7,590", "150", "0", "0", "0", "29", "38"]
    assert any(line.startswith("│ total") for line in out.splitlines())
    assert main(args) == 0                                  # again: everything unchanged
    again = capsys.readouterr().out
    row = next(line for line in again.splitlines() if "2024-02-staffordshire-street.csv" in line and "│" in line)
    assert [cell.strip() for cell in row.split("│")[1:-1]][1:7] == ["unchanged", "7,590", "0", "150", "0", "0"]


@pytest.mark.parametrize(("args", "message"), [
    (["import", "police-uk", "/no/such/folder"], "/no/such/folder: no such file or folder"),
    (["import", "crimes", "x.csv"], "unknown source 'crimes'; expected one of police-uk, calls-999"),
    (["import", "tidy", "x.csv", "--proportion-scale", "per-mille"], "--proportion-scale must be fraction or percent"),
    (["import", "fire", "x.csv", "--area", "atlantis"], "--area 'atlantis': no such area"),
])
def test_usage_mistakes_are_one_line_and_exit_one(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  args: list[str], message: str) -> None:
    db = make_store(tmp_path / "store.duckdb")
    (tmp_path / "x.csv").write_text("a\n1\n")
    args = [a if a != "x.csv" else str(tmp_path / "x.csv") for a in args]
    assert main([*args, "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("spc: error: ") and message in err
    assert len(err.strip().splitlines()) == 1


def test_missing_database_is_not_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "typo.duckdb"
    assert main(["import", "police-uk", str(STREET_DIR / "2024-01"), "--db", str(db)]) == 1
    assert "no such database" in capsys.readouterr().err
    assert not db.exists()
