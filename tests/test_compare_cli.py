"""`spc compare` (two periods and funnel mode) through the real CLI entry point."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from spc.cli import main

FORCES_PATH = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "derived" / "police_uk_force_month_crime_type_counts.csv"
needs_realdata = pytest.mark.skipif(not FORCES_PATH.exists(), reason="../shared/realdata not present")


def test_compare_robbery_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "robbery.csv"
    per = [dt.date(2023 + (i >= 12), (i % 12) + 1, 1).isoformat() for i in range(24)]
    small = [1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 1] + [2, 1, 1, 2, 0, 1, 2, 1, 1, 2, 1, 1]
    pl.DataFrame({"series": "robbery", "period": per, "value": small}).write_csv(path)
    assert main(["compare", str(path), "--current", "2024-01:2024-12"]) == 0
    row = pl.read_csv(capsys.readouterr().out.encode()).row(0, named=True)
    assert (row["before"], row["after"]) == (7, 15)
    assert row["previous_start"] == "2023-01-01" and row["previous_end"] == "2023-12-31"
    assert row["verdict"] == "not beyond normal variation"


@needs_realdata
def test_compare_funnel_json_and_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # ASB share of street records by force, January 2024 (see test_compare for the reasoning)
    d = pl.read_csv(FORCES_PATH)
    path = tmp_path / "forces.parquet"
    d.group_by("month", "falls_within").agg(
        pl.col("count").sum().alias("denominator"),
        pl.col("count").filter(pl.col("crime_type") == "Anti-social behaviour").sum().alias("numerator"),
    ).select(pl.col("falls_within").alias("series"), (pl.col("month") + "-01").str.to_date().alias("period"),
             "numerator", "denominator").write_parquet(path)
    fig = tmp_path / "funnel.html"
    assert main(["compare", str(path), "--funnel", "--period", "2024-01", "--format", "json", "--figure", str(fig)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["overdispersed"] is True and doc["adjustment"] == "additive"
    bands = {u["unit"]: u["band"] for u in doc["units"]}
    assert len(bands) == 40 and bands["Staffordshire Police"] == "within"
    assert fig.exists() and "plotly" in fig.read_text()[:5000].lower()
    assert main(["compare", str(path), "--funnel", "--period", "2024-01", "--overdispersion", "none"]) == 0
    units = pl.read_csv(capsys.readouterr().out.encode())
    assert (units["band"] != "within").sum() >= 30


def test_compare_user_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "v.csv"
    pl.DataFrame({"period": ["2024-01-01", "2024-02-01"], "value": [1, 2]}).write_csv(path)
    assert main(["compare", str(path), "--funnel"]) == 1
    assert "--funnel needs --period" in capsys.readouterr().err
    assert main(["compare", str(path), "--funnel", "--period", "2024-01"]) == 1
    assert "needs numerator and denominator" in capsys.readouterr().err
    assert main(["compare", str(path), "--current", "2024-13"]) == 1
    assert "expected a date YYYY-MM-DD or a month YYYY-MM" in capsys.readouterr().err


def test_compare_and_trend_read_the_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from spc.store import connect, transaction
    from spc.store.observations import start_batch, write_observations

    db = tmp_path / "store.duckdb"
    assert main(["db", "init", "--empty", "--db", str(db)]) == 0
    capsys.readouterr()
    con = connect(db)
    per = [dt.date(2022 + (i // 12), i % 12 + 1, 1) for i in range(24)]
    with transaction(con):
        batch = start_batch(con, "test", "manual.csv")
        write_observations(con, pl.DataFrame({
            "indicator_id": "asb_incidents", "area_code": "staffordshire", "period_start": per, "period_grain": "month",
            "value": [7.0 / 12] * 12 + [15.0 / 12] * 12, "numerator": None, "denominator": None,
        }).with_columns(pl.Series("value", [1.0, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 1, 2, 1, 1, 2, 0, 1, 2, 1, 1, 2, 1, 1])), batch)
    con.close()
    assert main(["compare", "--db", str(db), "--indicator", "asb_incidents", "--current", "2023-01:2023-12"]) == 0
    row = pl.read_csv(capsys.readouterr().out.encode()).row(0, named=True)
    assert row["series"] == "asb_incidents|staffordshire" and (row["before"], row["after"]) == (7, 15)
    assert row["verdict"] == "not beyond normal variation"
    assert main(["trend", "--db", str(db), "--indicator", "no_such_indicator"]) == 1
    assert "no observations for indicator(s) no_such_indicator" in capsys.readouterr().err


def test_compare_funnel_of_counts_against_a_year_earlier(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "counts.csv"
    pairs = [(100, 104), (40, 38), (300, 420), (12, 9), (200, 195), (150, 148), (80, 84)]
    rows = [(f"area{i}", f"{y}-01-01", v) for i, (a, b) in enumerate(pairs)
            for y, v in ((2023, a), (2024, b))]
    pl.DataFrame(rows, schema=["series", "period", "value"], orient="row").write_csv(path)
    assert main(["compare", str(path), "--funnel", "--period", "2024-01", "--kind", "count", "--format", "json",
                 "--overdispersion", "none"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["scale"] == "ratio" and doc["kind"] == "proportion"
    got = {u["unit"]: u for u in doc["units"]}
    assert got["area2"]["value"] == pytest.approx(1.4) and got["area2"]["denominator"] == 720
    assert got["area2"]["band"].startswith("above") and got["area1"]["band"] == "within"
