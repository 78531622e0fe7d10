"""`spc compare --funnel` on stores: the README's example on the demo store (`spc db init`), the
year-on-year view, forces and most similar groups in a store of many forces, and the errors."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from spc.cli import main

AREAS = {"Cannock Chase", "East Staffordshire", "Lichfield", "Newcastle-under-Lyme", "South Staffordshire",
         "Stafford", "Staffordshire Moorlands", "Tamworth", "Stoke-on-Trent"}
FIXTURE = Path(__file__).resolve().parent / "data" / "geography"


def test_readme_funnel_example_works_as_written(demo_db: Path, tmp_path: Path, monkeypatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SPC_DB", str(demo_db))
    monkeypatch.chdir(tmp_path)
    args = "compare --indicator asb_incidents --funnel --period 2024-01 --figure funnel.html".split()
    assert main(args) == 0
    out = capsys.readouterr()
    table = pl.read_csv(out.out.encode())
    assert set(table["area_name"]) == AREAS and table.height == 9
    assert (table["population"] > 50_000).all()
    assert table.filter(pl.col("area") == "stoke-on-trent")["population"][0] > 200_000
    assert ((table["count"] / table["population"] * 1000 - table["rate_per_1000"]).abs() < 1e-3).all()
    assert set(table["band"]) <= {"within", "above_95", "below_95", "above_99.8", "below_99.8"}
    assert (table["periods"] == 1).all() and table["population_years"].cast(pl.String).to_list() == ["2024"] * 9
    html = (tmp_path / "funnel.html").read_text()
    assert "Stoke-on-Trent" in html and "per 1,000 residents" in html and "resident population" in html
    # which year's estimate was used is said
    used = str(table["estimate_years"][0])
    if used != "2024":
        assert f"nearest one ({used})" in out.err
    assert main(args[:-2] + ["--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["view"] == "rate" and doc["level"] == "district" and doc["force"] == "staffordshire"
    assert doc["areas"] == "the local areas of Staffordshire" and len(doc["units"]) == 9
    assert doc["kind"] == "rate" and doc["target"] > 0


def test_year_on_year_view_stays(demo_db: Path, monkeypatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SPC_DB", str(demo_db))
    assert main(["compare", "--indicator", "asb_incidents", "--funnel", "--change", "--period",
                 "2024-01:2024-12"]) == 0
    table = pl.read_csv(capsys.readouterr().out.encode())
    assert set(table["area_name"]) == AREAS
    assert ((table["count"] / table["count_a_year_earlier"] - table["ratio"]).abs() < 1e-9).all()


def test_funnel_errors_on_a_one_force_store(demo_db: Path, tmp_path: Path, monkeypatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SPC_DB", str(demo_db))
    base = ["compare", "--indicator", "asb_incidents", "--funnel", "--period", "2024-01"]
    cases = [
        (["--group", "msg"], "spc db init --force all"),
        (["--level", "force"], "holds one force (staffordshire)"),
        (["--force", "west-midlands"], "no such force"),
        (["--level", "lsoa"], "expected district or force"),
        (["--area", "stafford"], "--area does not apply to --funnel"),
        (["--indicator", "crime_robbery"], "for one indicator"),
    ]
    for extra, said in cases:
        assert main(base + extra) == 1, extra
        assert said in capsys.readouterr().err, extra
    assert main(["compare", "--indicator", "asb_incidents", "--change"]) == 1
    assert "--change is a funnel option" in capsys.readouterr().err
    path = tmp_path / "v.csv"
    pl.DataFrame({"period": ["2024-01-01"], "value": [1]}).write_csv(path)
    assert main(["compare", str(path), "--funnel", "--period", "2024-01", "--level", "force"]) == 1
    assert "use it with --indicator" in capsys.readouterr().err


@pytest.fixture(scope="module")
def many_forces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of four forces (the test geography), with a month of ASB counts for every force and
    local area at one true rate (Poisson, seeded), and a year earlier."""
    from spc.store import connect, transaction
    from spc.store.observations import start_batch, write_observations

    db = tmp_path_factory.mktemp("many") / "national.duckdb"
    old = os.environ.get("SPC_GEOGRAPHY")
    os.environ["SPC_GEOGRAPHY"] = str(FIXTURE)
    try:
        assert main(["db", "init", "--force", "staffordshire,nottinghamshire,wiltshire,city-of-london",
                     "--db", str(db)]) == 0
    finally:
        if old is None:
            os.environ.pop("SPC_GEOGRAPHY")
        else:
            os.environ["SPC_GEOGRAPHY"] = old
    con = connect(db)
    pops = con.sql("SELECT area_code, population FROM area_population WHERE year = 2022").pl()
    rng = np.random.default_rng(5)
    rows = []
    for when in (dt.date(2023, 1, 1), dt.date(2024, 1, 1)):
        rows.append(pops.select(pl.lit("asb_incidents").alias("indicator_id"), "area_code",
                                pl.lit(when).alias("period_start"), pl.lit("month").alias("period_grain"),
                                pl.Series("value", rng.poisson(pops["population"].to_numpy() * 8e-4), pl.Float64),
                                pl.lit(None, pl.Float64).alias("numerator"),
                                pl.lit(None, pl.Float64).alias("denominator")))
    with transaction(con):
        write_observations(con, pl.concat(rows), start_batch(con, "test", "many.csv"))
    con.close()
    return db


def _table(args: list[str], capsys) -> pl.DataFrame:
    assert main(args) == 0, capsys.readouterr().err
    return pl.read_csv(capsys.readouterr().out.encode())


def test_forces_nationally_and_a_most_similar_group(many_forces: Path, monkeypatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SPC_GEOGRAPHY", str(FIXTURE))
    base = ["compare", "--db", str(many_forces), "--indicator", "asb_incidents", "--funnel", "--period", "2024-01"]
    forces = _table(base, capsys)  # a store of many forces: the forces by default
    assert set(forces["area"]) == {"staffordshire", "nottinghamshire", "wiltshire", "city-of-london"}
    assert forces.filter(pl.col("area") == "staffordshire")["population"][0] > 1_000_000
    assert main(base + ["--group", "msg", "--force", "staffordshire", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["level"] == "msg" and doc["areas"] == "Staffordshire Police and its most similar group of forces"
    assert [u["area"] for u in sorted(doc["units"], key=lambda u: u["area"])] == \
        ["nottinghamshire", "staffordshire", "wiltshire"]  # city-of-london is in no group of Staffordshire's
    local = _table(base + ["--level", "district", "--force", "staffordshire"], capsys)
    assert set(local["area_name"]) == AREAS
    # Nottinghamshire: two partnership areas (one of three districts): the districts are not added
    assert main(base + ["--level", "district", "--force", "nottinghamshire"]) == 1
    assert "only 2 of the local areas of Nottinghamshire Police have figures" in capsys.readouterr().err
    assert main(base + ["--group", "msg"]) == 1
    assert "--group msg needs --force NAME" in capsys.readouterr().err
    assert main(base + ["--level", "district"]) == 1
    assert "needs --force NAME" in capsys.readouterr().err
