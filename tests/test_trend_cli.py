"""`spc trend` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from spc.cli import main

WM_PATH = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "aggregates" / "west_midlands_monthly_crime_count_2011-01_2016-12.csv"
needs_realdata = pytest.mark.skipif(not WM_PATH.exists(), reason="../shared/realdata not present")


@pytest.fixture
def wm_csv(tmp_path: Path) -> Path:
    path = tmp_path / "wm.csv"
    pl.read_csv(WM_PATH).select(
        pl.lit("West Midlands").alias("series"), (pl.col("Month") + "-01").alias("period"), pl.col("Count").alias("value")
    ).write_csv(path)
    return path


@needs_realdata
def test_trend_csv_and_json(wm_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trend", str(wm_csv)]) == 0
    out = capsys.readouterr().out
    row = pl.read_csv(out.encode()).row(0, named=True)
    # the last 36 months: a step up in January 2016, found month against month (tests/test_trend.py)
    assert row["series"] == "West Midlands" and row["direction"] == "step" and row["window_months"] == 36
    assert row["step_start"] == "2016-01-01" and row["trend_test"].startswith("Seasonal Kendall")

    target = tmp_path / "trend.json"
    assert main(["trend", str(wm_csv), "--format", "json", "--output", str(target), "--window", "0"]) == 0
    doc = json.loads(target.read_text())
    assert set(doc) == {"trend", "rolling", "seasonality", "adjusted", "expected", "checks", "change_points"}
    # the whole series, 2011-2016: the fall is within what its autocorrelation gives
    assert doc["trend"][0]["direction"] == "no clear trend"
    assert doc["seasonality"][0]["seasonal"] is True
    assert doc["adjusted"][0]["adjustment"] == "seasonally adjusted (STL)"
    assert doc["change_points"] == []  # unadjusted, the seasonal memory explains the 2011 fall
    assert doc["rolling"][-1]["period"] == "2016-12-01" and doc["rolling"][-1]["rolling_value"] == 259860


@needs_realdata
def test_trend_other_tables_as_csv(wm_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trend", str(wm_csv), "--table", "change-points", "--adjust-seasonality"]) == 0
    cps = pl.read_csv(capsys.readouterr().out.encode())
    assert "seasonally adjusted" in cps["method"][0]
    assert main(["trend", str(wm_csv), "--table", "checks"]) == 0
    assert "autocorrelation" in capsys.readouterr().out


def test_trend_user_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("period,value\n2024-01-01,3\n2024-02-01,three\n")
    assert main(["trend", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"spc: error: {bad}: row 3, column 'value': expected a number, got 'three'"
    assert main(["trend", str(tmp_path / "missing.csv")]) == 1
    assert "file not found" in capsys.readouterr().err
    assert main(["trend", str(bad), "--format", "xml"]) == 1
    assert "expected csv or json" in capsys.readouterr().err
    nodate = tmp_path / "nodate.csv"
    nodate.write_text("month,value\n2024-01,3\n")
    assert main(["trend", str(nodate)]) == 1
    assert "missing column 'period'" in capsys.readouterr().err
