"""Geography is part of the data (issue 10, item 4): the national area, schema version 3, and
`spc db init` moving the MoJ England and Wales figures that the importer before version 3
stored under the force.

The "old store" here is made the way the code before version 3 made it: the schema migrated to
version 2, the catalogue as that version allowed it (no national area), and the MoJ file's
figures written under `--area staffordshire` through the store's one write path with the load
message that importer wrote (copied from it; `spc.store.geography` recognises it).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from pathlib import Path

import duckdb
import polars as pl
import pytest
from test_ingest_support import MOJ_FILE

from spc.cli import main
from spc.commands.db import record_results
from spc.errors import SpcError
from spc.store import connect, migrate, schema_version, transaction
from spc.store.catalogue import CATALOGUE_PATH, load_catalogue, read_catalogue
from spc.store.geography import relocate_national
from spc.store.observations import finish_batch, start_batch, write_observations

IND = "proven_reoffending_rate"
NATIONAL = "england-and-wales"
FORCE = "staffordshire"


def moj_rows(path: Path = MOJ_FILE, area: str = FORCE) -> pl.DataFrame:
    """The All-offenders 3-monthly cohorts of a MoJ long file as observation rows under `area`."""
    raw = pl.read_csv(path, infer_schema=False).filter(
        (pl.col("measure") == "new") & (pl.col("temporal_unit") == "3-monthly") & (pl.col("group") == "All")
        & pl.col("rate").is_in(["cohort", "reoffenders"]) & pl.col("value").is_not_null())
    wide = raw.pivot("rate", index="date", values="value").drop_nulls()
    return wide.select(
        pl.lit(IND).alias("indicator_id"), pl.lit(area).alias("area_code"),
        pl.col("date").str.to_date().alias("period_start"), pl.lit("quarter").alias("period_grain"),
        (pl.col("reoffenders").cast(pl.Float64) / pl.col("cohort").cast(pl.Float64)).alias("value"),
        pl.col("reoffenders").cast(pl.Float64).alias("numerator"),
        pl.col("cohort").cast(pl.Float64).alias("denominator"),
    ).sort("period_start")


def old_import(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame, path: Path = MOJ_FILE,
               area: str = FORCE) -> int:
    """What `spc import reoffending FILE --area AREA` did before schema version 3 (one load)."""
    with transaction(con):
        batch = start_batch(con, "reoffending", str(path), hashlib.sha256(rows.write_csv().encode()).hexdigest())
        counts = write_observations(con, rows, batch)
        finish_batch(con, batch, status="loaded", rows_read=1368, counts=counts, rows_rejected=0, message=(
            "1197 rows of other series not used (only the new measure, 3-monthly cohorts, group All, rates "
            f"cohort/reoffenders/binary); national (England and Wales) figures stored under area '{area}' "
            "(--area); 12 rows with no published value (2001-01-01, 2001-04-01, 2001-07-01, 2001-10-01): "
            "those cohorts are not loaded"))
    return batch


def v2_store(path: Path) -> Path:
    """A store at schema version 2 with the catalogue that version allowed (no national area)."""
    cat = read_catalogue()
    con = connect(path, create=True)
    try:
        migrate(con, target=2)
        with transaction(con):
            load_catalogue(con, dataclasses.replace(cat, areas=[a for a in cat.areas if a.type != "national"]))
    finally:
        con.close()
    return path


def local_batch(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame, source: str = "tidy") -> int:
    """A load of an area's own figures (not national)."""
    with transaction(con):
        batch = start_batch(con, source, "force-export.csv")
        counts = write_observations(con, rows, batch)
        finish_batch(con, batch, status="loaded", rows_read=rows.height, counts=counts, rows_rejected=0)
    return batch


def misstored_store(path: Path, *, revised: bool = True, with_history: bool = True) -> Path:
    """A version 2 store holding the real MoJ file under the force, as the old importer left it:
    loaded, then revised by a later MoJ file (so there are revisions), its results and signals
    computed, and an analyst's annotation and chart setting on the series."""
    v2_store(path)
    rows = moj_rows()
    con = connect(path)
    try:
        old_import(con, rows)
        if revised:  # MoJ revises the 2013-10 cohort: 100 more reoffenders
            bump = pl.col("period_start") == dt.date(2013, 10, 1)
            later = rows.with_columns(pl.when(bump).then(pl.col("numerator") + 100).otherwise("numerator")
                                      .alias("numerator")).with_columns(
                (pl.col("numerator") / pl.col("denominator")).alias("value"))
            old_import(con, later, path=MOJ_FILE.with_name("revised.csv"))
        if with_history:
            with transaction(con):
                con.execute("INSERT INTO annotation (indicator_id, area_code, date, kind, text, author, created_at) "
                            "VALUES (?, ?, '2008-04-01', 'note', 'New measure of reoffending', 'analyst', now())",
                            [IND, FORCE])
                con.execute("INSERT INTO series_setting (indicator_id, area_code, chart, author, updated_at) "
                            "VALUES (?, ?, 'p', 'analyst', now())", [IND, FORCE])
                record_results(con, trigger="db init")
        assert schema_version(con) == 2
    finally:
        con.close()
    return path


def _dump(path: Path) -> dict[str, list[tuple]]:
    """Every table whose rows `db init` should leave alone once the move is done (results are
    recomputed by every init, so only their keys and values are compared)."""
    con = connect(path, read_only=True)
    try:
        out = {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
               for t in ("area", "observation", "observation_revision", "annotation", "series_setting", "load_batch",
                         "rejected_row")}
        out["signal"] = sorted(con.execute(
            "SELECT indicator_id, area_code, rule, first_period, last_period, direction, point_type, status "
            "FROM signal").fetchall(), key=repr)
        out["result_point"] = sorted(con.execute(
            "SELECT indicator_id, area_code, period, value, centre, lower, upper, point_type FROM result_point"
        ).fetchall(), key=repr)
        out["result_summary"] = sorted(con.execute(
            "SELECT indicator_id, area_code, variation, assurance, status FROM result_summary").fetchall(), key=repr)
    finally:
        con.close()
    return out


# --- the national area and schema version 3 ---------------------------------------------------

def test_catalogue_declares_england_and_wales_as_the_national_area() -> None:
    cat = read_catalogue(CATALOGUE_PATH)
    assert cat.national is not None
    assert (cat.national.code, cat.national.name, cat.national.type, cat.national.ons_code) == (
        NATIONAL, "England and Wales", "national", "K04000001")
    assert cat.force.code == FORCE and NATIONAL not in {a.code for a in cat.local_areas}


def test_a_second_national_area_is_refused(tmp_path: Path) -> None:
    text = CATALOGUE_PATH.read_text(encoding="utf-8") + (
        '\n[[area]]\ncode = "wales"\nname = "Wales"\ntype = "national"\n')
    path = tmp_path / "indicators.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpcError, match='at most one \\[\\[area\\]\\] may have type = "national"'):
        read_catalogue(path)


def test_version_3_lets_a_v2_store_hold_a_national_area_and_keeps_every_observation(tmp_path: Path) -> None:
    path = misstored_store(tmp_path / "old.duckdb", with_history=False)
    con = connect(path)
    try:
        before = con.execute("SELECT * FROM observation ORDER BY ALL").fetchall()
        with pytest.raises(duckdb.ConstraintException, match="CHECK constraint"):
            con.execute("INSERT INTO area (code, name, type) VALUES ('x', 'X', 'national')")
        assert migrate(con, 3) == 3
        assert con.execute("SELECT * FROM observation ORDER BY ALL").fetchall() == before
        con.execute("INSERT INTO area (code, name, type) VALUES ('x', 'X', 'national')")
        with pytest.raises(duckdb.ConstraintException, match="CHECK constraint"):
            con.execute("INSERT INTO area (code, name, type) VALUES ('y', 'Y', 'region')")
        # the rebuilt observation table still refers to area and indicator
        with pytest.raises(duckdb.ConstraintException, match="foreign key"):
            con.execute("INSERT INTO observation VALUES (?, 'atlantis', '2020-01-01', 'quarter', 0.2, 2, 10, now(), 1)",
                        [IND])
        with pytest.raises(duckdb.ConstraintException, match="foreign key"):
            con.execute("DELETE FROM area WHERE code = ?", [FORCE])
    finally:
        con.close()


# --- moving mis-stored national figures -------------------------------------------------------

def test_db_init_moves_national_figures_with_their_revisions_results_signals_and_notes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = misstored_store(tmp_path / "old.duckdb")
    before = _dump(path)
    assert {r[1] for r in before["observation"]} == {FORCE} and len(before["observation"]) == 53
    assert len(before["observation_revision"]) == 1 and before["signal"] and before["result_summary"]

    assert main(["db", "init", "--empty", "--db", str(path)]) == 0
    assert "53 observations of 2 load(s) moved to the national area (1 series moved whole" in capsys.readouterr().out
    after = _dump(path)
    con = connect(path, read_only=True)
    try:
        name = con.execute("SELECT name FROM area WHERE code = ?", [NATIONAL]).fetchone()[0]
        messages = [r[0] for r in con.execute("SELECT message FROM load_batch ORDER BY id").fetchall()]
    finally:
        con.close()
    assert name == "England and Wales"
    # every figure, current and revised, is the same figure under England and Wales
    assert after["observation"] == sorted([(r[0], NATIONAL, *r[2:]) for r in before["observation"]], key=repr)
    assert after["observation_revision"] == [(r[0], NATIONAL, *r[2:]) for r in before["observation_revision"]]
    # nothing of the series is left under the force: results, signals, settings, annotations moved
    for table in ("observation", "observation_revision", "series_setting", "signal", "result_point",
                  "result_summary"):
        assert {r[1] for r in after[table]} == {NATIONAL}, table
    assert [r[1:3] for r in after["annotation"]] == [(IND, NATIONAL)]   # (id, indicator, area, ...)
    assert [(r[0], r[1], r[2]) for r in after["series_setting"]] == [(IND, NATIONAL, "p")]
    assert [r[2:] for r in after["signal"]] == [r[2:] for r in before["signal"]]
    assert len(after["result_point"]) == len(before["result_point"])
    assert all("moved to area 'england-and-wales' by spc db init" in m for m in messages)
    assert after["rejected_row"] == before["rejected_row"] == []

    # re-running changes nothing
    assert main(["db", "init", "--empty", "--db", str(path)]) == 0
    assert "moved to the national area" not in capsys.readouterr().out
    assert _dump(path) == after


def test_a_local_figure_a_national_load_had_overwritten_is_current_again(tmp_path: Path) -> None:
    path = v2_store(tmp_path / "old.duckdb")
    national = moj_rows()
    own = national.filter(pl.col("period_start") >= dt.date(2013, 1, 1)).with_columns(
        pl.lit(0.31).alias("value"), pl.lit(310.0).alias("numerator"), pl.lit(1000.0).alias("denominator"))
    con = connect(path)
    try:
        own_batch = local_batch(con, own)                  # the force's own figures for 2013-2014
        moj_batch = old_import(con, national)              # then the national file on top of them
        assert con.execute("SELECT count(*) FROM observation_revision").fetchone()[0] == own.height
        migrate(con)
        with transaction(con):
            load_catalogue(con, read_catalogue())
            moved = relocate_national(con)
        force = con.execute("SELECT period_start, value, load_batch_id FROM observation WHERE area_code = ? "
                            "ORDER BY 1", [FORCE]).fetchall()
        nat = con.execute("SELECT count(*), min(load_batch_id), max(load_batch_id) FROM observation "
                          "WHERE area_code = ?", [NATIONAL]).fetchone()
        revisions = con.execute("SELECT count(*) FROM observation_revision").fetchone()[0]
        again = relocate_national(con)
    finally:
        con.close()
    assert force == [(d, 0.31, own_batch) for d in own.get_column("period_start").to_list()]
    assert nat == (national.height, moj_batch, moj_batch)
    assert revisions == 0     # two histories of one figure each, with no earlier values
    assert (moved.restored, moved.series, moved.batches) == (own.height, 0, 1)
    assert again.batches == 0


def test_a_national_figure_loaded_under_both_areas_becomes_one(tmp_path: Path) -> None:
    """The same MoJ file loaded under the force (old importer) and under the nation (new): one
    current figure each period, the first load's, and no revision of a figure by itself."""
    path = v2_store(tmp_path / "old.duckdb")
    rows = moj_rows()
    con = connect(path)
    try:
        first = old_import(con, rows)
        migrate(con)
        with transaction(con):
            load_catalogue(con, read_catalogue())
        local_batch(con, rows.with_columns(pl.lit(NATIONAL).alias("area_code")), source="reoffending")
        with transaction(con):
            relocate_national(con)
        current = con.execute("SELECT area_code, count(*), min(load_batch_id), max(load_batch_id) FROM observation "
                              "GROUP BY 1").fetchall()
        revisions = con.execute("SELECT count(*) FROM observation_revision").fetchone()[0]
    finally:
        con.close()
    assert current == [(NATIONAL, rows.height, first, first)] and revisions == 0


def test_a_store_with_misstored_figures_and_no_national_area_is_a_clear_error(tmp_path: Path) -> None:
    path = v2_store(tmp_path / "old.duckdb")
    con = connect(path)
    try:
        old_import(con, moj_rows())
        migrate(con)
        con.execute("BEGIN TRANSACTION")
        with pytest.raises(SpcError, match="no national area: add the \\[\\[area\\]\\] with type = \"national\""):
            relocate_national(con)
        con.execute("ROLLBACK")
    finally:
        con.close()


def test_other_loads_are_never_moved(tmp_path: Path) -> None:
    """Only loads the old importer marked as national move: the force's own reoffending figures
    (a tidy file, the demo data) and a MoJ file with an area column stay where they are."""
    path = v2_store(tmp_path / "old.duckdb")
    rows = moj_rows().with_columns(pl.lit(0.3).alias("value"), pl.lit(30.0).alias("numerator"),
                                   pl.lit(100.0).alias("denominator"))
    con = connect(path)
    try:
        local_batch(con, rows.head(10), source="tidy")
        local_batch(con, rows.slice(10, 10), source="reoffending")   # a PCC-area file: no national note
        before = con.execute("SELECT * FROM observation ORDER BY ALL").fetchall()
        migrate(con)
        with transaction(con):
            load_catalogue(con, read_catalogue())
            moved = relocate_national(con)
        assert con.execute("SELECT * FROM observation ORDER BY ALL").fetchall() == before
    finally:
        con.close()
    assert moved.batches == 0


# --- what readers are shown ---------------------------------------------------------------------

def _with_force_series(path: Path) -> None:
    """Give the force a series of its own in the same years, so its pack has something to show."""
    months = pl.date_range(dt.date(2012, 1, 1), dt.date(2014, 3, 1), "1mo", eager=True)
    rows = pl.DataFrame({"indicator_id": "asb_incidents", "area_code": FORCE, "period_start": months,
                         "period_grain": "month", "value": [2500.0 + 10 * (i % 7) for i in range(len(months))],
                         "numerator": None, "denominator": None})
    con = connect(path)
    try:
        local_batch(con, rows)
    finally:
        con.close()


def test_brief_on_a_migrated_store_names_england_and_wales_not_staffordshire_for_reoffending(
        tmp_path: Path) -> None:
    path = misstored_store(tmp_path / "old.duckdb")
    _with_force_series(path)
    assert main(["db", "init", "--empty", "--db", str(path)]) == 0
    national = tmp_path / "national.html"
    assert main(["brief", "--db", str(path), "--period", "2014-01", "--area", NATIONAL,
                 "--out", str(national)]) == 0
    html = national.read_text(encoding="utf-8")
    assert "England and Wales" in html and "Proven reoffending rate" in html
    assert "Staffordshire" not in html
    force = tmp_path / "force.html"
    assert main(["brief", "--db", str(path), "--period", "2014-01", "--out", str(force)]) == 0
    text = force.read_text(encoding="utf-8")
    assert "Staffordshire" in text     # the force's own pack
    assert "Proven reoffending rate (Staffordshire" not in text
    assert "reoffending" not in text.split("England and Wales")[0].lower()


def test_force_pack_shows_the_national_series_as_national_context(tmp_path: Path) -> None:
    path = misstored_store(tmp_path / "old.duckdb")
    _with_force_series(path)
    assert main(["db", "init", "--empty", "--db", str(path)]) == 0
    out = tmp_path / "force.html"
    assert main(["brief", "--db", str(path), "--period", "2014-01", "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert "Proven reoffending rate" in html and "England and Wales" in html and "national context" in html
    # the page is labelled as the nation's, the narrative names the nation, and the force's own
    # cover table (before the national context heading) does not count it
    assert "England and Wales · national context" in html
    assert "Proven reoffending rate (England and Wales)" in html
    own_table = html.split("England and Wales: national context")[0]
    assert "Proven reoffending rate" not in own_table.split("<table")[-1]


def test_export_names_the_national_area(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = misstored_store(tmp_path / "old.duckdb", with_history=False)
    assert main(["db", "init", "--empty", "--db", str(path)]) == 0
    capsys.readouterr()
    assert main(["export", "--db", str(path), "--indicator", IND]) == 0
    out = pl.read_csv(capsys.readouterr().out.encode())
    assert out.select("area", "area_name").unique().rows() == [(NATIONAL, "England and Wales")]
    assert out.height == 53



def test_demo_data_is_local_and_never_stored_under_the_national_area() -> None:
    """The demo's reoffending series is illustrative local data (cohorts of a force's size, about
    1,150 a quarter, against about 150,000 for England and Wales), so it stays under the force."""
    demo = pl.read_csv(CATALOGUE_PATH.parent / "demo" / "observations.csv")
    cat = read_catalogue()
    assert NATIONAL not in set(demo.get_column("area_code"))
    assert set(demo.get_column("area_code")) <= {a.code for a in cat.areas if a.type != "national"}
    reoffending = demo.filter(pl.col("indicator_id") == IND)
    assert set(reoffending.get_column("area_code")) == {FORCE}
    assert reoffending.get_column("denominator").max() < 2000


def test_refresh_digest_names_england_and_wales_for_the_moved_series(tmp_path: Path) -> None:
    path = misstored_store(tmp_path / "old.duckdb", with_history=False)
    assert main(["db", "init", "--empty", "--db", str(path)]) == 0
    sources = tmp_path / "sources.toml"
    sources.write_text("[expect]\ndefault_lag_periods = 1\n", encoding="utf-8")
    main(["refresh", "--db", str(path), "--sources", str(sources), "--digest-dir", str(tmp_path / "digests")])
    digest = next((tmp_path / "digests").glob("refresh-*.md")).read_text(encoding="utf-8")
    lines = [line for line in digest.splitlines() if "Proven reoffending rate" in line]
    assert lines and all("England and Wales" in line and "Staffordshire" not in line for line in lines)
