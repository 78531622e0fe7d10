"""`spc chart`: the DESIGN.md contract, through a typer app built with register()."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from spc.commands import chart
from spc.engine import SeriesSpec, analyse
from spc.errors import SpcError

CASES = json.loads((Path(__file__).resolve().parents[2] / "shared" / "reference"
                    / "peer_cases.json").read_text())


def app() -> typer.Typer:
    a = typer.Typer()
    chart.register(a)

    @a.command("noop")  # a second command so typer keeps `chart` as a subcommand
    def noop() -> None:
        pass

    return a


def run(*args: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(app(), ["chart", *args])
    return result.exit_code, result.output, result.exception


def case(case_id: str) -> dict:
    return next(c for c in CASES if c["id"] == case_id)


def test_json_output_matches_the_peer_case(tmp_path: Path) -> None:
    c = case("xmr-101-002")
    src = tmp_path / "in.csv"
    pl.DataFrame(c["input"]).write_csv(src)
    out = tmp_path / "out.json"
    code, _, exc = run(str(src), "--improvement", "decrease", "--target", "11.391",
                       "--two-sigma", "legacy", "--format", "json", "--output", str(out))
    assert code == 0, exc
    doc = json.loads(out.read_text())
    assert [p["rule"] for p in doc["points"]] == [p["rule"] for p in c["expected"]["points"]]
    assert doc["points"][0]["period"] == "2018-04-01"
    assert doc["points"][0]["centre"] == pytest.approx(c["expected"]["points"][0]["centre"])
    (series,) = doc["series"]
    assert series["variation"] == c["expected"]["variation"]
    assert series["assurance"] == c["expected"]["assurance"]
    assert set(series["phases"][0]) >= {"phase", "runs_signal", "longest_run", "longest_run_max",
                                        "crossings", "crossings_min", "trial_limits"}


def test_csv_output_to_stdout_with_rebase_and_exclude(tmp_path: Path) -> None:
    c = case("pp-101-040")  # qicharts2: Laney p′ with a rebase and an exclusion
    src = tmp_path / "in.parquet"
    pl.DataFrame(c["input"]).drop("value").write_parquet(src)
    o = c["options"]
    args = [str(src), "--chart", "pp", "--rebase", o["rebase"][0], "--exclude", o["exclude"][0]]
    code, output, exc = run(*args)
    assert code == 0, exc
    got = pl.read_csv(output.encode())
    assert got["phase"].to_list() == [p["phase"] for p in c["expected"]["points"]]
    assert got["upper"].to_list() == pytest.approx([p["upper"] for p in c["expected"]["points"]],
                                                   rel=5e-4)
    assert got.filter(pl.col("excluded"))["period"].to_list() == o["exclude"]


def test_many_series_in_one_file_are_analysed_separately(tmp_path: Path) -> None:
    a, b = case("xmr-101-003"), case("xmr-101-021")
    frames = [pl.DataFrame(x["input"]).with_columns(series=pl.lit(x["id"])) for x in (a, b)]
    src = tmp_path / "many.csv"
    pl.concat(frames, how="vertical_relaxed").write_csv(src)
    code, output, exc = run(str(src), "--no-screen-outliers", "--format", "json")
    assert code == 0, exc
    doc = json.loads(output)
    assert [s["series"] for s in doc["series"]] == sorted([a["id"], b["id"]])
    for x in (a, b):
        pts = [p for p in doc["points"] if p["series"] == x["id"]]
        assert [p["centre"] for p in pts] == pytest.approx(
            [p["centre"] for p in x["expected"]["points"]], rel=5e-4)


def test_bad_value_is_one_line_naming_file_row_and_column(tmp_path: Path) -> None:
    src = tmp_path / "bad.csv"
    src.write_text("period,value\n2024-01-01,5\n2024-02-01,7\n2024-03-01,seven\n")
    code, _, exc = run(str(src))
    assert code != 0 and isinstance(exc, SpcError)
    message = str(exc)
    assert "\n" not in message
    for word in (str(src), "row 4", "column value", "seven"):
        assert word in message


def test_missing_file_and_unknown_chart(tmp_path: Path) -> None:
    code, _, exc = run(str(tmp_path / "nope.csv"))
    assert code != 0 and isinstance(exc, SpcError) and "no such file" in str(exc)
    src = tmp_path / "ok.csv"
    src.write_text("period,value\n2024-01-01,5\n2024-02-01,7\n")
    code, output, _ = run(str(src), "--chart", "np")
    assert code == 2  # rejected by the option parser, listing the choices


def test_cli_and_api_agree(tmp_path: Path) -> None:
    c = case("u-101-013")
    src = tmp_path / "in.csv"
    pl.DataFrame(c["input"]).write_csv(src)
    out = tmp_path / "out.csv"
    code, _, exc = run(str(src), "--chart", "u", "--rebase", c["options"]["rebase"][0],
                       "--output", str(out))
    assert code == 0, exc
    spec = SeriesSpec(chart="u", rebase=tuple(c["options"]["rebase"]))
    api = analyse(pl.DataFrame(c["input"]), spec)
    cli = pl.read_csv(out, try_parse_dates=True)
    assert cli["rule"].to_list() == api.points["rule"].to_list()
    assert cli["upper"].to_list() == pytest.approx(api.points["upper"].to_list())


def test_xbar_and_s_charts_of_measurements(tmp_path: Path) -> None:
    """`--chart xbar|s`: one row per measurement; each period becomes one point (its subgroup's
    mean or standard deviation), as the Python API; a duplicate period still fails for xmr."""
    rows = ["period,value"]
    for month, values in enumerate([(5, 7, 6), (6, 6, 9), (4, 8, 6), (7, 5, 6), (6, 7, 8)], 1):
        rows += [f"2024-{month:02d}-01,{v}" for v in values]
    src = tmp_path / "measurements.csv"
    src.write_text("\n".join(rows) + "\n")
    data = pl.read_csv(src, try_parse_dates=True)
    for kind in ("xbar", "s"):
        code, output, exc = run(str(src), "--chart", kind, "--format", "json")
        assert code == 0, exc
        doc = json.loads(output)
        api = analyse(data, SeriesSpec(chart=kind))
        assert len(doc["points"]) == 5
        assert [p["value"] for p in doc["points"]] == pytest.approx(api.points["value"].to_list())
        assert [p["upper"] for p in doc["points"]] == pytest.approx(api.points["upper"].to_list())
        assert doc["series"][0]["chart"] == kind
    code, output, _ = run(str(src), "--chart", "xbar")
    assert pl.read_csv(output.encode())["value"][0] == pytest.approx(6.0)
    code, _, exc = run(str(src))
    assert code != 0 and isinstance(exc, SpcError)
    assert "row 3" in str(exc) and "duplicate period" in str(exc)
