"""police.uk street and outcomes files: every real file imported, counts checked against the
derived counts in ../shared/realdata/derived/, and the store's no-loss guarantees."""

from __future__ import annotations

import csv
import gzip
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from test_ingest_support import REALDATA, SAMPLES_DIR, STREET_DIR, make_store, snapshot

from spc.ingest import run_import
from spc.ingest.police_uk import CRIME_TYPES, NEIGHBOURHOOD_CRIME
from spc.store import connect
from spc.store.catalogue import read_catalogue

DERIVED = REALDATA / "derived"
MONTHS = sorted(p.name for p in STREET_DIR.iterdir())
LOCAL = {a.name: a.code for a in read_catalogue().local_areas}


def _observations(db: Path) -> pl.DataFrame:
    con = connect(db, read_only=True)
    try:
        return pl.from_arrow(con.sql(
            "SELECT indicator_id, area_code, strftime(period_start, '%Y-%m') AS month, value FROM observation"
        ).to_arrow_table())
    finally:
        con.close()


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """A store with every real Staffordshire street file, imported as one folder of months."""
    db = make_store(tmp_path_factory.mktemp("police") / "store.duckdb")
    con = connect(db)
    try:
        report = run_import(con, "police-uk", [STREET_DIR])
    finally:
        con.close()
    return db, report


def test_every_real_street_file_loads_without_rejections(imported: tuple[Path, object]) -> None:
    _, report = imported
    assert [Path(f.file).parent.name for f in report.files] == MONTHS
    assert report.rows_rejected == 0
    # rows read = the data rows of each file (README table)
    assert [f.rows_read for f in report.files] == [10938, 9959, 8429, 9728, 8914, 8515, 7590, 7913, 9020]


def test_force_wide_counts_match_the_derived_counts_per_month_and_crime_type(imported: tuple[Path, object]) -> None:
    db, _ = imported
    derived = (pl.read_csv(DERIVED / "police_uk_force_month_crime_type_counts.csv")
               .filter((pl.col("falls_within") == "Staffordshire Police") & pl.col("month").is_in(MONTHS))
               .select("month", pl.col("crime_type").replace_strict(CRIME_TYPES).alias("indicator_id"),
                       pl.col("count").cast(pl.Float64).alias("expected")))
    got = _observations(db).filter((pl.col("area_code") == "staffordshire")
                                   & pl.col("indicator_id").is_in(list(CRIME_TYPES.values())))
    joined = got.join(derived, on=["month", "indicator_id"], how="full", coalesce=True)
    assert joined.height == len(MONTHS) * len(CRIME_TYPES)
    # a type absent from the derived file for a month is a true zero in the store
    assert joined.filter(pl.col("value") != pl.col("expected").fill_null(0)).is_empty()
    asb = got.filter(pl.col("indicator_id") == "asb_incidents").sort("month").get_column("value").to_list()
    assert asb == [3160, 2677, 2462, 2449, 2616, 920, 905, 1054, 1049]  # README's ASB rows per month


def test_area_counts_match_the_derived_counts_per_month_area_and_crime_type(imported: tuple[Path, object]) -> None:
    db, _ = imported
    derived = (pl.read_csv(DERIVED / "staffordshire_month_lad_crime_type_counts.csv")
               .filter(pl.col("lad_name_from_lsoa").is_in(list(LOCAL)) & pl.col("month").is_in(MONTHS))
               .select("month", pl.col("lad_name_from_lsoa").replace_strict(LOCAL).alias("area_code"),
                       pl.col("crime_type").replace_strict(CRIME_TYPES).alias("indicator_id"),
                       pl.col("count").cast(pl.Float64).alias("expected")))
    got = _observations(db).filter(pl.col("area_code").is_in(list(LOCAL.values()))
                                   & pl.col("indicator_id").is_in(list(CRIME_TYPES.values())))
    assert got.height == len(MONTHS) * len(LOCAL) * len(CRIME_TYPES)
    joined = got.join(derived, on=["month", "area_code", "indicator_id"], how="left")
    assert joined.filter(pl.col("value") != pl.col("expected").fill_null(0)).is_empty()
    assert derived.get_column("expected").sum() == got.get_column("value").sum()


def test_no_location_and_outside_rows_are_counted_and_reported_not_dropped(imported: tuple[Path, object]) -> None:
    db, report = imported
    lad = pl.read_csv(DERIVED / "staffordshire_month_lad_crime_type_counts.csv").filter(pl.col("month").is_in(MONTHS))
    no_location = lad.filter(pl.col("lad_name_from_lsoa") == "(no location)").group_by("month").agg(pl.col("count").sum())
    outside = lad.filter(~pl.col("lad_name_from_lsoa").is_in([*LOCAL, "(no location)"])) \
        .group_by("month").agg(pl.col("count").sum())
    by_month = {Path(f.file).parent.name: f.extra for f in report.files}
    assert {m: e["no location"] for m, e in by_month.items()} == dict(no_location.iter_rows())
    assert {m: e["outside areas"] for m, e in by_month.items()} == dict(outside.iter_rows())
    # force-wide = the nine areas + no location + outside: nothing is lost between them
    obs = _observations(db).filter(pl.col("indicator_id").is_in(list(CRIME_TYPES.values())))
    force = obs.filter(pl.col("area_code") == "staffordshire").group_by("month").agg(pl.col("value").sum())
    areas = obs.filter(pl.col("area_code") != "staffordshire").group_by("month").agg(pl.col("value").sum())
    for month, total in force.iter_rows():
        local = areas.filter(pl.col("month") == month).item(0, "value")
        assert total == local + by_month[month]["no location"] + by_month[month]["outside areas"]
    con = connect(db, read_only=True)
    try:
        messages = [r[0] for r in con.execute("SELECT message FROM load_batch ORDER BY id").fetchall()]
    finally:
        con.close()
    assert all("'No Location' rows" in m and "outside the force's areas" in m for m in messages)


def test_neighbourhood_crime_is_burglary_robbery_theft_from_the_person_and_vehicle_crime(
        imported: tuple[Path, object]) -> None:
    db, _ = imported
    obs = _observations(db)
    parts = obs.filter(pl.col("indicator_id").is_in(NEIGHBOURHOOD_CRIME)).group_by("area_code", "month") \
        .agg(pl.col("value").sum().alias("expected"))
    total = obs.filter(pl.col("indicator_id") == "neighbourhood_crime").join(parts, on=["area_code", "month"])
    assert total.height == len(MONTHS) * (len(LOCAL) + 1)
    assert (total.get_column("value") == total.get_column("expected")).all()


def test_reimporting_changes_nothing(imported: tuple[Path, object], tmp_path: Path) -> None:
    db = tmp_path / "again.duckdb"
    shutil.copy(imported[0], db)
    con = connect(db)
    try:
        before = snapshot(con)
        report = run_import(con, "police-uk", [STREET_DIR / "2024-01", STREET_DIR / "2018-10"])
        assert snapshot(con) == before
    finally:
        con.close()
    assert [(f.status, f.loaded, f.revised, f.unchanged) for f in report.files] == [("unchanged", 0, 0, 150)] * 2


def _write_month(folder: Path, month: str, keep: int | None = None, crlf_to_lf: bool = False) -> Path:
    """A copy of a real month file in `folder` (optionally its first `keep` data rows, or LF endings)."""
    source = STREET_DIR / month / f"{month}-staffordshire-street.csv"
    data = source.read_bytes()
    if keep is not None:
        lines = data.splitlines(keepends=True)
        data = b"".join(lines[:keep + 1])
    if crlf_to_lf:
        data = data.replace(b"\r\n", b"\n")
    target = folder / month / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def test_zip_gzip_month_folder_and_line_endings_give_the_same_counts(tmp_path: Path) -> None:
    months = ["2018-10", "2024-01"]            # LF and CRLF originals
    archive = tmp_path / "archive.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for m in months:
            zf.write(STREET_DIR / m / f"{m}-staffordshire-street.csv", f"{m}/{m}-staffordshire-street.csv")
            zf.writestr(f"{m}/{m}-west-midlands-street.csv", "not for this force")  # skipped: another force
    gz_dir = tmp_path / "gz"
    for m in months:
        target = gz_dir / m / f"{m}-staffordshire-street.csv.gz"
        target.parent.mkdir(parents=True)
        target.write_bytes(gzip.compress((STREET_DIR / m / f"{m}-staffordshire-street.csv").read_bytes()))
    lf = _write_month(tmp_path / "lf", "2024-01", crlf_to_lf=True)
    variants = {
        "month folders": [STREET_DIR / m for m in months],
        "zip": [archive],
        "gzip": [gz_dir],
        "LF copy of a CRLF file": [lf, STREET_DIR / "2018-10"],
    }
    results = {}
    for name, paths in variants.items():
        db = make_store(tmp_path / f"{len(results)}.duckdb")
        con = connect(db)
        try:
            report = run_import(con, "police-uk", paths)
        finally:
            con.close()
        assert report.rows_rejected == 0, name
        assert len(report.files) == 2, name
        results[name] = _observations(db).sort(pl.all())
    first = results.pop("month folders")
    assert first.height == 2 * 150
    for name, frame in results.items():
        assert frame.equals(first), name


def test_a_revised_file_updates_values_and_keeps_the_earlier_revision(tmp_path: Path) -> None:
    db = make_store(tmp_path / "store.duckdb")
    first = _write_month(tmp_path / "v1", "2024-02")
    revised = _write_month(tmp_path / "v2", "2024-02", keep=7000)    # a later archive with different rows
    con = connect(db)
    try:
        run_import(con, "police-uk", [STREET_DIR / "2024-01", first])
        old = dict(con.execute("SELECT indicator_id || '/' || area_code, value FROM observation "
                               "WHERE period_start = '2024-02-01'").fetchall())
        old_batch = con.execute("SELECT max(id) FROM load_batch").fetchone()[0]
        january = snapshot(con, ("observation",))["observation"]
        report = run_import(con, "police-uk", [revised])
        new = dict(con.execute("SELECT indicator_id || '/' || area_code, value FROM observation "
                               "WHERE period_start = '2024-02-01'").fetchall())
        revisions = con.execute("SELECT indicator_id || '/' || area_code, value, load_batch_id, superseded_by_batch "
                                "FROM observation_revision").fetchall()
        january_after = con.execute("SELECT count(*) FROM observation WHERE period_start = '2024-01-01'").fetchone()[0]
        new_batch = con.execute("SELECT max(id) FROM load_batch").fetchone()[0]
    finally:
        con.close()
    changed = {k for k in old if old[k] != new[k]}
    assert report.files[0].revised == len(changed) > 0
    assert report.files[0].unchanged == 150 - len(changed)
    assert {r[0]: r[1] for r in revisions} == {k: old[k] for k in changed}
    assert {(r[2], r[3]) for r in revisions} == {(old_batch, new_batch)}
    # the month absent from the revised import stays as it was
    assert january_after == 150 == sum(1 for row in january if str(row[2]) == "2024-01-01")


def test_the_same_month_twice_in_one_import_is_rejected(tmp_path: Path) -> None:
    db = make_store(tmp_path / "store.duckdb")
    copy = _write_month(tmp_path / "copy", "2024-03", crlf_to_lf=True)
    con = connect(db)
    try:
        report = run_import(con, "police-uk", [STREET_DIR / "2024-03", copy])
    finally:
        con.close()
    assert [f.status for f in report.files] == ["loaded", "rejected"]
    reasons = report.files[1].rejections.get_column("reason").to_list()
    assert reasons == [f"150 rows for 2024-03-01 are also in {STREET_DIR / '2024-03' / copy.name} in this import "
                       "(the same period twice)"]
    assert report.files[1].rows_rejected == 1


def test_real_sample_files_of_another_force_are_rejected_clearly(tmp_path: Path) -> None:
    db = make_store(tmp_path / "store.duckdb")
    con = connect(db)
    try:
        report = run_import(con, "police-uk", sorted(SAMPLES_DIR.glob("*.csv")))
    finally:
        con.close()
    assert len(report.files) == 4
    for f in report.files:
        assert f.status == "rejected"
        assert f.rejections.get_column("reason")[0].startswith("file is for force '")


@pytest.mark.parametrize("force", ["avon-and-somerset", "bedfordshire"])
def test_real_outcomes_and_street_samples_load_for_their_force(tmp_path: Path, force: str) -> None:
    """The samples are real files cut short by their copier: the street file's last line lost its
    final field and line ending, so that line is rejected (its last value may be cut) and the
    other rows load with --load-good-rows."""
    db = make_store(tmp_path / "store.duckdb", force=force)
    outcomes = SAMPLES_DIR / f"2018-01-{force}-outcomes.csv"
    street = SAMPLES_DIR / f"2018-01-{force}-street.csv"
    with outcomes.open(newline="") as fh:
        expected = Counter(row["Outcome type"] for row in csv.DictReader(fh))
    with street.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    crimes = Counter(row["Crime type"] for row in rows[:-1])
    con = connect(db)
    try:
        strict = run_import(con, "police-uk", [SAMPLES_DIR])   # the folder: only this force's files
        assert con.execute("SELECT count(*) FROM observation WHERE indicator_id LIKE 'crime_%'").fetchone()[0] == 0
        report = run_import(con, "police-uk", [SAMPLES_DIR], load_good_rows=True)
        got = dict(con.execute("SELECT indicator_id, value FROM observation WHERE area_code = ? "
                               "AND period_start = '2018-01-01'", [force]).fetchall())
    finally:
        con.close()
    assert [(Path(f.file).name, f.status) for f in strict.files] == [
        (outcomes.name, "loaded"), (street.name, "rejected")]
    truncated = strict.files[1].rejections.row(0, named=True)
    assert truncated["line"] == len(rows) + 1 and truncated["reason"].startswith("truncated last line")
    assert [f.status for f in report.files] == ["unchanged", "partial"]
    assert report.files[1].rows_read == len(rows)
    for outcome, n in expected.items():
        key = "outcome_" + "".join(c if c.isalnum() else "_" for c in outcome.lower())
        key = "_".join(part for part in key.split("_") if part)
        assert got[key] == n
    assert sum(v for k, v in got.items() if k.startswith("outcome_")) == sum(expected.values())
    for crime, n in crimes.items():
        assert got[CRIME_TYPES[crime]] == n
    assert sum(v for k, v in got.items() if k in CRIME_TYPES.values()) == len(rows) - 1


def test_unknown_crime_type_and_wrong_month_are_rejected_by_line(tmp_path: Path) -> None:
    header = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
              "Last outcome category,Context\n")
    rows = [",2024-01,Staffordshire Police,Staffordshire Police,,,On or near X,E01029846,Tamworth 001A,Burglary,,",
            ",2024-01,Staffordshire Police,Staffordshire Police,,,On or near X,E01029846,Tamworth 001A,Violent crime,,",
            ",2024-02,Staffordshire Police,Staffordshire Police,,,On or near X,E01029846,Tamworth 001A,Drugs,,",
            ",2024-01,Staffordshire Police,Staffordshire Police,,,No Location,,,Drugs,,"]
    path = tmp_path / "2024-01" / "2024-01-staffordshire-street.csv"
    path.parent.mkdir()
    path.write_text(header + "\n".join(rows) + "\n")
    db = make_store(tmp_path / "store.duckdb")
    con = connect(db)
    try:
        report = run_import(con, "police-uk", [path], load_good_rows=True)
        got = dict(con.execute("SELECT indicator_id || '/' || area_code, value FROM observation "
                               "WHERE value > 0").fetchall())
    finally:
        con.close()
    rejected = {(r["line"], r["column_name"], r["reason"].split(" (")[0])
                for r in report.files[0].rejections.iter_rows(named=True)}
    assert rejected == {(3, "Crime type", "unknown crime type 'Violent crime'"),
                        (4, "Month", "month does not match the file name's month 2024-01")}
    assert got == {"crime_burglary/staffordshire": 1, "crime_burglary/tamworth": 1, "crime_drugs/staffordshire": 1,
                   "neighbourhood_crime/staffordshire": 1, "neighbourhood_crime/tamworth": 1}
    assert report.files[0].extra == {"no location": 1, "outside areas": 0}


def test_import_inside_the_callers_transaction_is_undone_by_its_rollback(tmp_path: Path) -> None:
    db = make_store(tmp_path / "store.duckdb")
    con = connect(db)
    try:
        before = snapshot(con, ("observation", "load_batch", "rejected_row"))
        con.execute("BEGIN TRANSACTION")
        report = run_import(con, "police-uk", [STREET_DIR / "2024-04"], own_transaction=False)
        assert con.execute("SELECT count(*) FROM observation").fetchone()[0] == 150
        con.execute("ROLLBACK")
        assert snapshot(con, ("observation", "load_batch", "rejected_row")) == before
    finally:
        con.close()
    assert report.files[0].loaded == 150
