"""police.uk imports for any force and many forces at once (issue 11), with real files.

A store for three forces (`spc db init --force staffordshire,avon-and-somerset,bedfordshire`,
the shipped geography) takes the police.uk archive layout (month folders holding every force's
files), its zip, and gzipped CRLF copies; counts per force and per local area are checked
against counts made here from the raw files with polars (the force from the file name, the
district from the LSOA code in the shipped lookup, read directly). Bad input: other forces'
files, a month folder mixing forces, a file in another month's folder, an LSOA code in no
district, a district in two forces, each with a clear message and nothing else changed.
"""

from __future__ import annotations

import gzip
import shutil
import zipfile
from pathlib import Path

import duckdb
import polars as pl
import pytest
from test_ingest_support import SAMPLES_DIR, STREET_DIR, snapshot

from spc.cli import main
from spc.errors import SpcError
from spc.ingest import run_import
from spc.ingest.police_uk import CRIME_TYPES
from spc.store import connect

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "data" / "geography"
FIXTURE = Path(__file__).resolve().parent / "data" / "police_uk_forces" / "geography"
FORCES = "staffordshire,avon-and-somerset,bedfordshire"
STAFFS_MONTHS = ["2018-10", "2024-01"]          # LF and CRLF originals
_STORES: dict[tuple[str, str], bytes] = {}


def _store(path: Path, forces: str = FORCES, geography: Path = SHIPPED) -> Path:
    """A store made by `spc db init --force` (built once per forces and geography, then copied)."""
    key = (forces, str(geography))
    if key not in _STORES:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SPC_GEOGRAPHY", str(geography))
            built = path.with_name("template.duckdb")
            assert main(["db", "init", "--force", forces, "--db", str(built)]) == 0
        _STORES[key] = built.read_bytes()
        built.unlink()
    path.write_bytes(_STORES[key])
    return path


@pytest.fixture(autouse=True)
def shipped_geography(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPC_GEOGRAPHY", str(SHIPPED))


def _clean_sample(name: str) -> bytes:
    """A real sample file without its last line, which its copier cut short (no line ending)."""
    data = (SAMPLES_DIR / name).read_bytes()
    return data[:data.rfind(b"\n") + 1]


def _archive(folder: Path) -> Path:
    """The police.uk archive layout from real files: 2018-01 holds Avon and Somerset's and
    Bedfordshire's street and outcomes files, 2018-10 and 2024-01 Staffordshire's street files."""
    for force in ("avon-and-somerset", "bedfordshire"):
        for kind in ("street", "outcomes"):
            name = f"2018-01-{force}-{kind}.csv"
            (folder / "2018-01").mkdir(parents=True, exist_ok=True)
            (folder / "2018-01" / name).write_bytes(_clean_sample(name))
    for month in STAFFS_MONTHS:
        (folder / month).mkdir(parents=True, exist_ok=True)
        shutil.copy(STREET_DIR / month / f"{month}-staffordshire-street.csv", folder / month)
    return folder


def _zip(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*.csv")):
            zf.write(path, path.relative_to(folder).as_posix())
    return target


def _gzipped_crlf(folder: Path, target: Path) -> Path:
    """Every file gzipped with CRLF line endings (as some force downloads come)."""
    for path in sorted(folder.rglob("*.csv")):
        data = path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        out = target / path.relative_to(folder).parent / (path.name + ".gz")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(gzip.compress(data))
    return target


def _observations(db: Path) -> pl.DataFrame:
    con = connect(db, read_only=True)
    try:
        return pl.from_arrow(con.sql(
            "SELECT indicator_id, area_code, strftime(period_start, '%Y-%m') AS month, value FROM observation"
        ).to_arrow_table()).sort(pl.all())
    finally:
        con.close()


def _expected(folder: Path, db: Path) -> pl.DataFrame:
    """Counts made here from the raw street files: per force (every row of its files) and per
    local area of that force (rows whose LSOA code's district, in the shipped lookup read directly,
    the store's area_district gives the area)."""
    lookup = pl.read_csv(SHIPPED / "lsoa_districts.csv.gz", infer_schema=False).unique("lsoa_code")
    rows = pl.concat([
        pl.read_csv(path, infer_schema=False).select(
            pl.lit(path.name.split("-", 2)[2].rsplit("-street", 1)[0]).alias("force"),
            pl.col("Month").alias("month"), pl.col("Crime type").replace_strict(CRIME_TYPES).alias("indicator_id"),
            pl.col("LSOA code").alias("lsoa_code"))
        for path in sorted(folder.rglob("*-street.csv"))])
    con = duckdb.connect(str(db), read_only=True)
    try:
        local = pl.from_arrow(con.sql(
            "SELECT f.force_code AS force, d.lad_code, d.area_code FROM area_district d JOIN area_force f "
            "USING (area_code) JOIN area a ON a.code = d.area_code WHERE a.type <> 'force'").to_arrow_table())
    finally:
        con.close()
    force = rows.group_by("force", "month", "indicator_id").len().rename({"force": "area_code"})
    areas = (rows.join(lookup, on="lsoa_code").join(local, on=["force", "lad_code"])
             .group_by("area_code", "month", "indicator_id").len())
    return pl.concat([force, areas]).select("indicator_id", "area_code", "month",
                                            pl.col("len").cast(pl.Float64).alias("expected"))


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    folder = _archive(tmp_path_factory.mktemp("archive") / "police-uk")
    db = tmp_path_factory.mktemp("store") / "store.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPC_GEOGRAPHY", str(SHIPPED))
        _store(db)
        con = connect(db)
        try:
            report = run_import(con, "police-uk", [folder])
        finally:
            con.close()
    return folder, db, report


def test_the_archive_layout_of_three_forces_imports_every_file(imported: tuple[Path, Path, object]) -> None:
    folder, _, report = imported
    assert report.rows_rejected == 0 and report.skipped == []
    assert [Path(f.file).name for f in report.files] == sorted(p.name for p in folder.rglob("*.csv"))
    assert all(f.status == "loaded" for f in report.files)


def test_counts_per_force_and_local_area_match_counts_from_the_raw_files(
        imported: tuple[Path, Path, object]) -> None:
    folder, db, _ = imported
    got = _observations(db).filter(pl.col("indicator_id").is_in(list(CRIME_TYPES.values())))
    expected = _expected(folder, db)
    joined = got.join(expected, on=["indicator_id", "area_code", "month"], how="full", coalesce=True)
    # every expected count is stored, and every stored count absent from the raw files is a true zero
    assert joined.filter(pl.col("value").is_null()).is_empty()
    assert joined.filter(pl.col("value") != pl.col("expected").fill_null(0)).is_empty()
    forces = got.filter(pl.col("area_code").is_in(FORCES.split(","))).group_by("area_code").agg(pl.col("value").sum())
    raw_rows = {f: sum(pl.read_csv(p, infer_schema=False).height for p in folder.rglob(f"*-{f}-street.csv"))
                for f in FORCES.split(",")}
    assert dict(forces.iter_rows()) == raw_rows
    # each force's rows count towards its own local areas only
    con = connect(db, read_only=True)
    try:
        owner = dict(con.execute("SELECT area_code, force_code FROM area_force").fetchall())
    finally:
        con.close()
    for month, force in (("2018-01", "avon-and-somerset"), ("2018-01", "bedfordshire"), ("2024-01", "staffordshire")):
        areas = set(got.filter((pl.col("month") == month) & (pl.col("value") > 0)).get_column("area_code"))
        assert force in areas
        assert {owner[a] for a in areas} <= ({force, "avon-and-somerset", "bedfordshire"} if month == "2018-01"
                                             else {force})


def test_staffordshire_in_a_store_of_three_forces_counts_as_in_the_demo_store(
        imported: tuple[Path, Path, object]) -> None:
    """The derived counts (districts from the LSOA names, made independently of this project)
    agree with the areas found through the LSOA codes."""
    _, db, _ = imported
    derived = (pl.read_csv(STREET_DIR.parents[1] / "derived" / "staffordshire_month_lad_crime_type_counts.csv")
               .filter(pl.col("month").is_in(STAFFS_MONTHS)))
    con = connect(db, read_only=True)
    try:
        names = dict(con.execute("SELECT name, code FROM area WHERE code IN "
                                 "(SELECT area_code FROM area_force WHERE force_code = 'staffordshire')").fetchall())
    finally:
        con.close()
    expected = (derived.filter(pl.col("lad_name_from_lsoa").is_in(list(names)))
                .select("month", pl.col("lad_name_from_lsoa").replace_strict(names).alias("area_code"),
                        pl.col("crime_type").replace_strict(CRIME_TYPES).alias("indicator_id"),
                        pl.col("count").cast(pl.Float64).alias("expected")))
    got = _observations(db).join(expected, on=["month", "area_code", "indicator_id"])
    assert got.height == expected.height > 0
    assert (got.get_column("value") == got.get_column("expected")).all()


def test_zip_and_gzipped_crlf_copies_give_the_same_observations(imported: tuple[Path, Path, object],
                                                                  tmp_path: Path) -> None:
    folder, db, _ = imported
    first = _observations(db)
    for paths in ([_zip(folder, tmp_path / "police-uk.zip")], [_gzipped_crlf(folder, tmp_path / "gz")]):
        copy = _store(tmp_path / "copy.duckdb")
        con = connect(copy)
        try:
            report = run_import(con, "police-uk", paths)
        finally:
            con.close()
        assert report.rows_rejected == 0 and len(report.files) == 6
        assert _observations(copy).equals(first)


def test_other_forces_files_in_an_archive_are_skipped_and_reported(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    folder = _archive(tmp_path / "archive")
    shutil.copy(STREET_DIR / "2018-10" / "2018-10-staffordshire-street.csv",
                folder / "2018-10" / "2018-10-west-midlands-street.csv")
    (folder / "2018-10" / "2018-10-northern-ireland-street.csv").write_text("Month\n2018-10\n")
    db = _store(tmp_path / "store.duckdb", "staffordshire")
    assert main(["import", "police-uk", str(folder), "--db", str(db), "--no-recompute"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert ("skipped 6 file(s) of 4 force(s) this store does not hold (it holds staffordshire): "
            "avon-and-somerset (2 files), bedfordshire (2 files), northern-ireland (1 file), "
            "west-midlands (1 file).") in out
    assert ("To import them, make a store for them with `spc db init --force avon-and-somerset,bedfordshire,"
            "west-midlands` (or `spc db init --force all` for every force).") in out
    assert "Not forces of England and Wales in the geography lookup (forces.csv), so no store can hold them: " \
           "northern-ireland." in out
    assert set(_observations(db).get_column("area_code")) >= {"staffordshire", "tamworth"}


def test_an_archive_with_no_file_of_the_stores_forces_is_an_error_that_changes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "archive" / "2018-01"
    folder.mkdir(parents=True)
    (folder / "2018-01-bedfordshire-street.csv").write_bytes(_clean_sample("2018-01-bedfordshire-street.csv"))
    db = _store(tmp_path / "store.duckdb", "staffordshire")
    con = connect(db)
    try:
        before = snapshot(con, ("observation", "load_batch", "rejected_row"))
    finally:
        con.close()
    assert main(["import", "police-uk", str(folder.parent), "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("spc: error: no file is for this store's force: skipped 1 file(s)")
    assert "`spc db init --force bedfordshire`" in err and "--force all" in err
    con = connect(db)
    try:
        assert snapshot(con, ("observation", "load_batch", "rejected_row")) == before
    finally:
        con.close()


def test_a_file_named_for_a_force_not_in_the_store_is_refused_with_how_to_make_a_store(tmp_path: Path) -> None:
    path = tmp_path / "2018-01-bedfordshire-street.csv"
    path.write_bytes(_clean_sample(path.name))
    db = _store(tmp_path / "store.duckdb", "staffordshire")
    con = connect(db)
    try:
        before = snapshot(con)
        report = run_import(con, "police-uk", [path])
        assert snapshot(con) == before
    finally:
        con.close()
    (row,) = report.files[0].rejections.iter_rows(named=True)
    assert report.files[0].status == "rejected"
    assert row["value"] == "bedfordshire"
    assert row["reason"] == ("file is for force 'bedfordshire', which this store does not hold (it holds "
                             "staffordshire): make a store for it with `spc db init --force bedfordshire` "
                             "(or `spc db init --force all` for every force)")


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_a_row_of_another_force_is_rejected_naming_file_line_and_value(tmp_path: Path) -> None:
    """A month folder mixing forces: a Bedfordshire row inside Avon and Somerset's file."""
    avon = _clean_sample("2018-01-avon-and-somerset-street.csv")
    beds_row = _clean_sample("2018-01-bedfordshire-street.csv").splitlines(keepends=True)[2]
    path = _write(tmp_path / "2018-01" / "2018-01-avon-and-somerset-street.csv", avon + beds_row)
    db = _store(tmp_path / "store.duckdb")
    con = connect(db)
    try:
        before = snapshot(con)
        report = run_import(con, "police-uk", [path.parent])
        assert snapshot(con) == before
        stored = con.execute("SELECT line, column_name, value, reason FROM rejected_row").fetchall()
    finally:
        con.close()
    line = avon.count(b"\n") + 1
    assert report.files[0].status == "rejected" and report.rows_rejected == 1
    assert stored == [(line, "Falls within", "Bedfordshire Police",
                       "the row is for 'Bedfordshire Police', not avon-and-somerset, the force in the file name "
                       "(each force's rows belong in its own YYYY-MM-<force> file)")]


def test_a_file_in_another_months_folder_is_refused(tmp_path: Path) -> None:
    data = _clean_sample("2018-01-bedfordshire-street.csv")
    path = _write(tmp_path / "2018-02" / "2018-01-bedfordshire-street.csv", data)
    db = _store(tmp_path / "store.duckdb")
    con = connect(db)
    try:
        before = snapshot(con)
        report = run_import(con, "police-uk", [tmp_path / "2018-02"])
        assert snapshot(con) == before
    finally:
        con.close()
    (row,) = report.files[0].rejections.iter_rows(named=True)
    assert (row["value"], row["reason"]) == ("2018-01", "the file name's month 2018-01 is not its month folder's "
                                             "month 2018-02 (a police.uk month folder holds that month's files only)")
    assert row["file"] == str(path)


def test_an_lsoa_code_in_no_district_is_rejected_and_kept_with_its_reason(tmp_path: Path) -> None:
    lines = _clean_sample("2018-01-bedfordshire-street.csv").splitlines(keepends=True)
    lines[3] = lines[3].replace(b"E01017626", b"E01999999")
    path = _write(tmp_path / "2018-01" / "2018-01-bedfordshire-street.csv", b"".join(lines))
    db = _store(tmp_path / "store.duckdb")
    con = connect(db)
    try:
        strict = run_import(con, "police-uk", [path])
        assert con.execute("SELECT count(*) FROM observation").fetchone()[0] == 0
        report = run_import(con, "police-uk", [path], load_good_rows=True)
        force = con.execute("SELECT sum(value) FROM observation WHERE area_code = 'bedfordshire' "
                            "AND indicator_id LIKE 'crime_%'").fetchone()[0]
        kept = con.execute("SELECT DISTINCT line, column_name, value FROM rejected_row").fetchall()
    finally:
        con.close()
    (row,) = strict.files[0].rejections.iter_rows(named=True)
    assert (row["line"], row["column_name"], row["value"]) == (4, "LSOA code", "E01999999")
    assert row["reason"].startswith("LSOA code 'E01999999' maps to no district")
    assert kept == [(4, "LSOA code", "E01999999")]
    assert report.files[0].status == "partial"
    assert force == len(lines) - 2      # the data rows but the rejected one


def test_a_district_in_two_forces_stops_the_import_with_the_lookups_message(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "geography"
    shutil.copytree(SHIPPED, broken)
    districts = (broken / "districts.csv").read_text().splitlines()
    tamworth = next(line for line in districts if line.startswith("E07000199,"))
    other = next(line for line in districts if line.endswith(",west-midlands"))
    districts.append(",".join(tamworth.split(",")[:2] + other.split(",")[2:]))
    (broken / "districts.csv").write_text("\n".join(districts) + "\n")
    db = _store(tmp_path / "store.duckdb", "staffordshire")
    monkeypatch.setenv("SPC_GEOGRAPHY", str(broken))
    con = connect(db)
    try:
        before = snapshot(con, ("observation", "load_batch", "rejected_row"))
        with pytest.raises(SpcError, match="is a second force for district E07000199"):
            run_import(con, "police-uk", [STREET_DIR / "2024-01"])
        assert snapshot(con, ("observation", "load_batch", "rejected_row")) == before
    finally:
        con.close()
    assert main(["import", "police-uk", str(STREET_DIR / "2024-01"), "--db", str(db)]) == 1
    assert "a district belongs to exactly one force" in capsys.readouterr().err


def test_a_row_counts_towards_its_partnership_and_its_district_when_the_partnership_has_several(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test geography's invented Bedford and Central Bedfordshire partnership."""
    monkeypatch.setenv("SPC_GEOGRAPHY", str(FIXTURE))
    path = _write(tmp_path / "2018-01" / "2018-01-bedfordshire-street.csv",
                  _clean_sample("2018-01-bedfordshire-street.csv"))
    db = _store(tmp_path / "store.duckdb", "bedfordshire", FIXTURE)
    con = connect(db)
    try:
        report = run_import(con, "police-uk", [path])
        got = dict(con.execute("SELECT area_code, sum(value) FROM observation WHERE indicator_id LIKE 'crime_%' "
                               "GROUP BY 1").fetchall())
    finally:
        con.close()
    rows = pl.read_csv(path, infer_schema=False)
    central = rows.filter(pl.col("LSOA name").str.starts_with("Central Bedfordshire")).height
    assert report.rows_rejected == 0 and central > 0
    assert got == {"bedfordshire": rows.height, "bedford-and-central-bedfordshire": central,
                   "central-bedfordshire": central, "bedford": 0, "luton": 0}


def test_a_file_without_lsoa_codes_takes_districts_from_the_lsoa_names(tmp_path: Path) -> None:
    rows = pl.read_csv(STREET_DIR / "2024-01" / "2024-01-staffordshire-street.csv", infer_schema=False)
    path = _write(tmp_path / "2024-01" / "2024-01-staffordshire-street.csv",
                  rows.drop("LSOA code").write_csv().encode())
    db = _store(tmp_path / "store.duckdb", "staffordshire")
    con = connect(db)
    try:
        report = run_import(con, "police-uk", [path])
        tamworth = con.execute("SELECT sum(value) FROM observation WHERE area_code = 'tamworth' "
                               "AND indicator_id LIKE 'crime_%' OR area_code = 'tamworth' "
                               "AND indicator_id = 'asb_incidents'").fetchone()[0]
    finally:
        con.close()
    assert report.rows_rejected == 0
    assert "districts taken from the LSOA names" in report.files[0].notes[0]
    assert tamworth == rows.filter(pl.col("LSOA name").str.starts_with("Tamworth ")).height


def test_figures_without_an_area_need_area_in_a_store_of_many_forces(tmp_path: Path) -> None:
    fire = tmp_path / "fire.csv"
    fire.write_text("Month,Incidents attended,Incidents meeting the standard,Mean attendance minutes\n"
                    "2024-01,100,80,8.5\n")
    db = _store(tmp_path / "store.duckdb")
    con = connect(db)
    try:
        with pytest.raises(SpcError, match="this store holds 3 forces .* say which area its figures are for "
                                           "with --area"):
            run_import(con, "fire", [fire])
        report = run_import(con, "fire", [fire], area="bedfordshire")
    finally:
        con.close()
    assert report.rows_rejected == 0 and report.files[0].loaded > 0


def test_a_999_file_with_a_force_column_is_stored_under_each_rows_force(tmp_path: Path) -> None:
    calls = tmp_path / "calls.csv"
    calls.write_text("Month,Force,Calls received,Answered under 10s,Answered 60s plus,Mean answer seconds\n"
                     "2024-01,Staffordshire Police,1000,900,20,6.1\n"
                     "2024-01,Bedfordshire Police,500,400,30,8.0\n"
                     "2024-01,West Midlands Police,3000,2500,100,7.0\n")
    db = _store(tmp_path / "store.duckdb")
    con = connect(db)
    try:
        report = run_import(con, "calls-999", [calls])
        got = dict(con.execute("SELECT area_code, value FROM observation "
                               "WHERE indicator_id = 'calls_999_received'").fetchall())
    finally:
        con.close()
    assert got == {"staffordshire": 1000, "bedfordshire": 500}
    assert "1 rows of other forces skipped" in report.files[0].notes


def test_a_line_with_an_extra_field_is_rejected_by_the_shifted_values(tmp_path: Path) -> None:
    """Only the needed columns are read, so a line with more fields than the header is caught
    by what the shift puts in them (an unquoted comma in Location moves the LSOA name into the
    crime type)."""
    lines = _clean_sample("2018-01-bedfordshire-street.csv").splitlines(keepends=True)
    lines[2] = lines[2].replace(b"On or near ", b"On or near Market Square, ")
    path = _write(tmp_path / "2018-01" / "2018-01-bedfordshire-street.csv", b"".join(lines))
    db = _store(tmp_path / "store.duckdb")
    con = connect(db)
    try:
        report = run_import(con, "police-uk", [path])
    finally:
        con.close()
    reasons = {(r["line"], r["column_name"]): r["reason"] for r in report.files[0].rejections.iter_rows(named=True)}
    assert report.files[0].status == "rejected"
    assert reasons[(3, "Crime type")].startswith("unknown crime type 'Central Bedfordshire 031D'")


def test_a_row_matches_its_force_when_either_reported_by_or_falls_within_names_it(tmp_path: Path) -> None:
    lines = _clean_sample("2018-01-avon-and-somerset-street.csv").splitlines(keepends=True)
    lines[2] = lines[2].replace(b"Constabulary,Avon and Somerset Constabulary", b"Constabulary,British Transport Police")
    assert b",Avon and Somerset Constabulary,British Transport Police," in lines[2]
    path = _write(tmp_path / "2018-01" / "2018-01-avon-and-somerset-street.csv", b"".join(lines))
    db = _store(tmp_path / "store.duckdb")
    con = connect(db)
    try:
        report = run_import(con, "police-uk", [path.parent])
        total = con.execute("SELECT sum(value) FROM observation WHERE area_code = 'avon-and-somerset' "
                            "AND indicator_id LIKE 'crime_%'").fetchone()[0]
    finally:
        con.close()
    assert report.rows_rejected == 0 and total == len(lines) - 1


def test_outcomes_files_in_the_archive_count_each_outcome_type_force_wide(imported: tuple[Path, Path, object]) -> None:
    folder, db, _ = imported
    raw = pl.concat([pl.read_csv(p, infer_schema=False).select(
        pl.lit(p.name[8:].rsplit("-outcomes", 1)[0]).alias("area_code"), "Outcome type")
        for p in sorted(folder.rglob("*-outcomes.csv"))])
    expected = raw.group_by("area_code", "Outcome type").len().with_columns(
        ("outcome_" + pl.col("Outcome type").str.to_lowercase().str.replace_all(r"[^a-z0-9]+", "_")
         .str.strip_chars("_")).alias("indicator_id"))
    got = _observations(db).filter(pl.col("indicator_id").str.starts_with("outcome_"))
    assert set(got.get_column("area_code")) == {"avon-and-somerset", "bedfordshire"}
    joined = got.join(expected, on=["area_code", "indicator_id"], how="left")
    assert joined.filter(pl.col("value") != pl.col("len").fill_null(0)).is_empty()
    assert got.get_column("value").sum() == raw.height


def test_an_outcomes_file_with_a_bad_row_is_read_line_by_line_to_name_it(tmp_path: Path) -> None:
    lines = _clean_sample("2018-01-bedfordshire-outcomes.csv").splitlines(keepends=True)
    lines[2] = lines[2].replace(b"2018-01,", b"2018-02,", 1)
    path = _write(tmp_path / "2018-01" / "2018-01-bedfordshire-outcomes.csv", b"".join(lines))
    db = _store(tmp_path / "store.duckdb")
    con = connect(db)
    try:
        report = run_import(con, "police-uk", [path.parent])
    finally:
        con.close()
    (row,) = report.files[0].rejections.iter_rows(named=True)
    assert (row["line"], row["column_name"], row["value"]) == (3, "Month", "2018-02")
    assert row["reason"] == "month does not match the file name's month 2018-01"
