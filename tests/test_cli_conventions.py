"""Command-line conventions (issue 14 item 6): `--db` before or after the command, `--version`,
`spc demo-data` reproducing the committed demo data, `spc db status` at 80 columns, and the
series column of `spc trend FILE` tables."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from spc import __version__
from spc.cli import main
from spc.config import DATA_DIR


def _spc(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`spc ARGS` in a new process (so the console width comes from COLUMNS)."""
    return subprocess.run([sys.executable, "-m", "spc.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300, env={**os.environ, **(env or {})})


@pytest.fixture
def empty_store(tmp_path: Path) -> Path:
    path = tmp_path / "store.duckdb"
    assert main(["--db", str(path), "db", "init", "--empty"]) == 0  # --db before the command
    return path


@pytest.mark.parametrize("order", ["before", "after"])
def test_db_option_before_or_after_the_command(empty_store: Path, tmp_path: Path, order: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    args = (["--db", str(empty_store), "db", "status"] if order == "before"
            else ["db", "status", "--db", str(empty_store)])
    assert main(args) == 0
    out = capsys.readouterr().out
    assert empty_store.name in out and "schema version" in out  # rich may wrap a long path
    # and the working folder has no default store: the option reached the subcommand
    assert not (tmp_path / "indicators.duckdb").exists()


def test_db_option_before_reaches_top_level_commands(empty_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "export.csv"
    assert main(["--db", str(empty_store), "export", "-o", str(out)]) == 0
    assert out.read_text().startswith("indicator,indicator_name,area,")


def test_db_option_after_the_command_wins(empty_store: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    missing = tmp_path / "missing.duckdb"
    assert main(["--db", str(missing), "db", "status", "--db", str(empty_store)]) == 0
    assert "schema version" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"spc {__version__}"


def test_demo_data_without_options_regenerates_the_committed_files(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    assert main(["demo-data", "--out", str(out)]) == 0
    committed = sorted(p.name for p in (DATA_DIR / "demo").iterdir() if p.is_file())
    assert sorted(p.name for p in out.iterdir()) == committed
    for name in committed:
        assert (out / name).read_bytes() == (DATA_DIR / "demo" / name).read_bytes(), name


def test_db_status_fits_80_columns(empty_store: Path, tmp_path: Path) -> None:
    done = _spc("db", "status", "--db", str(empty_store), cwd=tmp_path, env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    # ids are folded, never cut short with an ellipsis
    assert "…" not in done.stdout
    assert "asb_incidents" in done.stdout


def test_help_paragraphs_fill_80_columns(tmp_path: Path) -> None:
    """A command's description is wrapped to the terminal once, not broken again at the
    docstring's own line ends (which left one or two words on a line at 80 columns)."""
    done = _spc("db", "init", "--help", cwd=tmp_path, env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    description = done.stdout.split("╭")[0]
    paragraphs = [[line.strip() for line in block.splitlines() if line.strip()]
                  for block in re.split(r"\n[ \t]*\n", description)]
    prose = [p for p in paragraphs if p and not p[0].startswith("Usage:")]
    assert prose and "migrated forward, the catalogue upserted" in " ".join(prose[-1])
    for lines in prose:
        for line in lines[:-1]:  # every line but a paragraph's last is filled
            assert len(line) > 60, line


def test_trend_seasonality_of_a_file_without_series_names_its_series(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "one.csv"
    months = pl.date_range(pl.date(2020, 1, 1), pl.date(2023, 12, 1), "1mo", eager=True)
    pl.DataFrame({"period": months, "value": [50.0 + 10 * (m.month in (6, 7)) + (i % 3)
                                              for i, m in enumerate(months)]}).write_csv(path)
    capsys.readouterr()
    assert main(["trend", str(path), "--table", "seasonality"]) == 0
    table = pl.read_csv(capsys.readouterr().out.encode())
    assert table["series"].to_list() == ["all"]
