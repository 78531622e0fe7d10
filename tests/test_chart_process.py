"""`spc chart` as a whole process: the CSV streamed to a file and `--format parquet` hold
exactly the points frame of the Python API, as does CSV on standard output."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from spc.engine import SeriesSpec, analyse


@pytest.fixture
def parquet_input(tmp_path: Path) -> Path:
    """Three series of 30 months, one with a step, written as Parquet."""
    months = pl.date_range(dt.date(2022, 1, 1), dt.date(2024, 6, 1), "1mo", eager=True)
    frame = pl.concat([
        pl.DataFrame({"series": name, "period": months,
                      "value": [level + (i % 4) + (8 if step and i >= 20 else 0)
                                for i in range(len(months))]})
        for name, level, step in (("a", 50.0, False), ("b", 80.0, True), ("c", 20.0, False))])
    path = tmp_path / "in.parquet"
    frame.write_parquet(path)
    return path


def _spc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spc.cli", "chart", *args], capture_output=True,
                          cwd=cwd, timeout=300)


def _expected(path: Path) -> pl.DataFrame:
    return analyse(pl.read_parquet(path), SeriesSpec(improvement="increase", target=55.0)).points


def test_csv_file_and_parquet_hold_the_api_points(parquet_input: Path, tmp_path: Path) -> None:
    expected = _expected(parquet_input)
    for fmt in ("csv", "parquet"):
        out = tmp_path / f"out.{fmt}"
        done = _spc(str(parquet_input), "--improvement", "increase", "--target", "55",
                    "--format", fmt, "--output", str(out), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        if fmt == "csv":
            assert out.read_bytes() == expected.write_csv().encode()
        else:
            assert_frame_equal(pl.read_parquet(out), expected)


def test_csv_on_stdout_is_the_same_text(parquet_input: Path, tmp_path: Path) -> None:
    done = _spc(str(parquet_input), "--improvement", "increase", "--target", "55", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == _expected(parquet_input).write_csv().encode()


def test_unwritable_output_is_one_line(parquet_input: Path, tmp_path: Path) -> None:
    out = tmp_path / "no such folder" / "out.csv"
    done = _spc(str(parquet_input), "--output", str(out), cwd=tmp_path)
    assert done.returncode != 0
    assert done.stderr.decode().strip().splitlines()[-1].startswith("spc: error:")
