"""police.uk street and outcomes files (`YYYY-MM-<force>-street.csv`, `...-outcomes.csv`).

Street files give one row per crime or anti-social behaviour incident. They become monthly
counts of anti-social behaviour (`asb_incidents`), of each crime type (`crime_<snake case of
the crime type>`) and of neighbourhood crime, force-wide and per local area of the force.

One force or many: `spc import police-uk PATH` takes a file, a month folder, the police.uk
archive layout (month folders `YYYY-MM/` holding every force's `YYYY-MM-<force>-street.csv`
and `-outcomes.csv`, plain or gzipped) or the archive zip.

How it reads (national scale: ~500,000 street rows and 44 files a month): a month's files at a
time (`group_files`), so memory holds one month, not the archive. Plain UTF-8 files on disk are
scanned by polars in one query reading only the needed columns (month, crime type, LSOA code,
Falls within, Reported by); files in a zip, gzipped, in another encoding or failing the quick
checks (no line ending at the end, a byte-order mark) are read one by one with the line-by-line
checks. Rows are joined to the LSOA lookup and counted by file, month, crime type and district;
every check then runs once per distinct value, and the lines of rejected rows are looked up only
when there are any. A line with more fields than the header is not detected on these paths (its
extra fields are not read); a field shifted before the crime type shows as an unknown crime
type or LSOA, so the row is rejected. Each file keeps its own load batch, written in one step
per month (`spc.store.observations.write_observations_many`).

Mapping decisions:

* The force is the file name's (`2024-01-west-midlands-street.csv` -> west-midlands). A file
  named otherwise is the store's force when the store holds one force.
* The district is the row's `LSOA code` looked up in `spc.geography.lsoa_districts()` (2011 and
  2021 LSOAs -> current local authority district). Only a file without an `LSOA code` column
  falls back to the district named by the LSOA name ("Tamworth 001A" -> Tamworth); an
  unknown name there counts force-wide only, like a row outside the force.
* A row counts towards its file's force (every row: also "No Location" rows, with no LSOA, and
  rows whose LSOA lies outside the force; they are the force's recorded crimes, and this is how
  police.uk counts a force), and towards each local area OF THAT FORCE whose districts (the
  store's `area_district`) hold the row's district. A row in another force's district counts
  force-wide only. No Location and outside rows are counted per file and shown in the import
  summary and the load batch's message.
* `neighbourhood_crime` = Burglary + Robbery + Theft from the person + Vehicle crime (the Home
  Office's neighbourhood crime measure). Bicycle theft and Other theft are not included, as in
  that measure; police.uk's Burglary and Robbery also include business burglary and robbery,
  so the figure is slightly broader than the Home Office's domestic/personal definition.
* A month with no row of a type counts 0: a street file is the complete month.
* Outcomes files give one row per outcome; they become force-wide monthly counts per outcome
  type (`outcome_<snake case>`, catalogue in `data/indicators.d/police_uk.toml`), by the month
  of the outcome. police.uk revises outcomes, so re-importing a later archive revises counts.

Bad input (each names the file, the line and the value; with any rejected row a file loads
nothing unless `--load-good-rows`, and the import is one transaction):

* A file for a force the store does not hold is refused, saying how to make a store for it
  (`spc db init --force NAME`, or `--force all`). In a folder or archive such files are skipped
  and reported (the store's forces are imported); if no file is for the store's forces, the
  import is an error and nothing is written.
* A row whose `Falls within` and `Reported by` both name another force than the file's (a
  month folder mixing forces' rows) is rejected. Both columns name the force that provided the
  data (police.uk's own description; in every real file seen they are equal, also for British
  Transport Police and the City of London), so a row matches when either does.
* A row whose month is not the file name's month is rejected; a file whose name's month is not
  its month folder's (`2024-01/2024-02-x-street.csv`) is refused.
* An `LSOA code` that maps to no district is REJECTED (not counted force-wide only): the lookup
  holds every 2011 and 2021 LSOA of England and Wales, the only codes police.uk uses, so an
  unknown code is a damaged row or an out-of-date lookup. Counting it force-wide only would
  load the force's total while silently leaving a district short; rejecting it stops the file
  (nothing of it loads by default), names the row, and `--load-good-rows` loads the rest (the
  rejected row then counts nowhere, as every rejected row).
* A district in two forces is the lookup's error (`spc.geography`): the import stops before
  anything is written, with the lookup's message.
"""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from spc.errors import SpcError
from spc.ingest.base import Context, Parsed
from spc.ingest.files import FileRejected, SourceFile, read_table
from spc.ingest.validate import Field, _month, find_columns, parse_fields, with_sources
from spc.store.observations import REJECTION_COLUMNS

SOURCE = "police-uk"

#: police.uk crime types and the indicators they count towards.
CRIME_TYPES = {
    "Anti-social behaviour": "asb_incidents",
    "Bicycle theft": "crime_bicycle_theft",
    "Burglary": "crime_burglary",
    "Criminal damage and arson": "crime_criminal_damage_arson",
    "Drugs": "crime_drugs",
    "Other crime": "crime_other_crime",
    "Other theft": "crime_other_theft",
    "Possession of weapons": "crime_possession_of_weapons",
    "Public order": "crime_public_order",
    "Robbery": "crime_robbery",
    "Shoplifting": "crime_shoplifting",
    "Theft from the person": "crime_theft_from_the_person",
    "Vehicle crime": "crime_vehicle_crime",
    "Violence and sexual offences": "crime_violence_and_sexual_offences",
}
#: The crime types summed into `neighbourhood_crime` (see the module docstring).
NEIGHBOURHOOD_CRIME = ("crime_burglary", "crime_robbery", "crime_theft_from_the_person", "crime_vehicle_crime")

_NAME = re.compile(r"^(\d{4}-\d{2})-(.+)-(street|outcomes)\.csv$", re.IGNORECASE)
_MONTH_FOLDER = re.compile(r"^\d{4}-\d{2}$")

STREET_COLUMNS = {"month": ("Month",), "crime_type": ("Crime type",), "lsoa_code": ("LSOA code",),
                  "lsoa_name": ("LSOA name",), "falls_within": ("Falls within",), "reported_by": ("Reported by",)}
OUTCOME_COLUMNS = {"month": ("Month",), "outcome_type": ("Outcome type",), "falls_within": ("Falls within",),
                   "reported_by": ("Reported by",)}
_MAKE_STORE = "make a store for it with `spc db init --force {force}` (or `spc db init --force all` for every force)"


def patterns(ctx: Context) -> tuple[str, ...]:
    """File names taken from folders and archives: every force's street and outcomes files."""
    return ("*-street.csv", "*-outcomes.csv")


def name_parts(file: SourceFile) -> tuple[str, str, str] | None:
    """(month, force, kind) from a police.uk file name, or None for a file named otherwise."""
    match = _NAME.match(file.basename)
    return (match.group(1), match.group(2).lower(), match.group(3).lower()) if match else None


def _known_forces() -> list[str] | None:
    """The forces of England and Wales in the lookup (None when it cannot be read)."""
    try:
        from spc.geography import forces
        return forces().get_column("force").to_list()
    except (ImportError, SpcError, OSError):
        return None


def check_context(ctx: Context) -> None:
    """Read the geography lookups before anything is written (their own checks, e.g. a district in
    two forces, stop the import with the lookup's message)."""
    from spc.geography import districts, forces, lsoa_districts
    forces()
    districts()
    lsoa_districts()


def select_files(files: list[SourceFile], ctx: Context) -> tuple[list[SourceFile], list[str]]:
    """The files to import and notes on those skipped: files found in folders and archives for
    forces the store does not hold are skipped (a file named on the command line is kept, and
    refused by `parse` with the same advice)."""
    kept: list[SourceFile] = []
    skipped: Counter[str] = Counter()
    for file in files:
        parts = name_parts(file)
        if parts is None or file.explicit or parts[1] in ctx.forces:
            kept.append(file)
        else:
            skipped[parts[1]] += 1
    if not skipped:
        return kept, []
    known = _known_forces()
    unknown = sorted(f for f in skipped if known is not None and f not in known)
    makeable = sorted(f for f in skipped if f not in unknown)
    listed = ", ".join(f"{force} ({n} file{'s' if n > 1 else ''})" for force, n in sorted(skipped.items()))
    note = (f"skipped {sum(skipped.values())} file(s) of {len(skipped)} force(s) this store does not hold "
            f"(it holds {', '.join(ctx.forces)}): {listed}.")
    if makeable:
        note += (f" To import them, make a store for them with `spc db init --force {','.join(makeable[:3])}"
                 f"{',...' if len(makeable) > 3 else ''}` (or `spc db init --force all` for every force).")
    if unknown:
        note += (f" Not forces of England and Wales in the geography lookup (forces.csv), so no store can hold them: "
                 f"{', '.join(unknown)}.")
    if not kept:
        raise SpcError(f"no file is for this store's force{'s' if len(ctx.forces) > 1 else ''}: {note}")
    return kept, [note]


def _force_of(file: SourceFile, ctx: Context) -> str:
    parts = name_parts(file)
    if parts is None:
        if len(ctx.forces) == 1:
            return ctx.forces[0]
        raise FileRejected("cannot tell the force: police.uk files are named YYYY-MM-<force>-street.csv or "
                           f"-outcomes.csv, and this store holds {len(ctx.forces)} forces")
    force = parts[1]
    if force not in ctx.forces:
        known = _known_forces()
        held = ", ".join(ctx.forces[:8]) + (", ..." if len(ctx.forces) > 8 else "")
        if known is not None and force not in known:
            raise FileRejected(f"file is for force '{force}', which is not a force of England and Wales in the "
                               f"geography lookup (forces.csv); this store holds {held}", value=force)
        raise FileRejected(f"file is for force '{force}', which this store does not hold (it holds {held}): "
                           + _MAKE_STORE.format(force=force), value=force)
    folder = file.folder
    if folder and _MONTH_FOLDER.match(folder) and folder != parts[0]:
        raise FileRejected(f"the file name's month {parts[0]} is not its month folder's month {folder} "
                           "(a police.uk month folder holds that month's files only)", value=parts[0])
    return force


def parse(file: SourceFile, ctx: Context) -> Parsed:
    """Read one street or outcomes file and count it by month, indicator and area."""
    result = parse_many([file], ctx)[0]
    if isinstance(result, FileRejected):
        raise result
    return result


@dataclass
class _Read:
    """One file as read: its force, kind, month and the columns it names. A plain UTF-8 file on
    disk is scanned by polars with the month's other files (`path`, `header`); any other file
    (in a zip, gzipped, another encoding, or failing the quick checks) is read here (`frame`)."""

    index: int
    file: SourceFile
    force: str
    kind: str
    month: str | None
    cols: dict[str, str]
    frame: pl.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[FileRejected] = field(default_factory=list)
    path: Path | None = None
    header: tuple[str, ...] = ()


_MAGIC_PREFIXES = (b"PAR1", b"PK\x03\x04", b"%PDF", b"\x89PNG", b"\xd0\xcf\x11\xe0", b"SQLite format 3", b"\xef\xbb\xbf")


def _probe(path: Path) -> list[str] | None:
    """The header of a plain file that polars can scan as it is (UTF-8 text ending with a line
    ending, no byte-order mark), else None (it is read and checked line by line instead)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(65536)
            if size > len(head):
                fh.seek(size - 1)
                last = fh.read(1)
            else:
                last = head[-1:]
    except OSError:
        return None
    if last != b"\n" or not head.strip() or head.startswith(_MAGIC_PREFIXES) or b"\x00" in head:
        return None
    end = head.find(b"\n")
    try:
        line = head[:end].rstrip(b"\r").decode("utf-8")
    except UnicodeDecodeError:
        return None
    return next(csv.reader([line]), None)


def _street_columns(header: list[str], cols: dict[str, str]) -> list[str]:
    """The street file's needed columns (filling `cols`); a missing one refuses the file."""
    cols.update(find_columns(header, STREET_COLUMNS, ("month", "crime_type")))
    if "lsoa_code" not in cols and "lsoa_name" not in cols:
        find_columns(header, STREET_COLUMNS, ("lsoa_code",))  # raises naming the column
    if "lsoa_code" in cols:
        cols.pop("lsoa_name", None)
    return list(dict.fromkeys(cols.values()))


def _read(index: int, file: SourceFile, ctx: Context, scan: bool = True) -> _Read | FileRejected:
    """Check one file (in a worker thread) and read it, or leave it to the month's scan."""
    try:
        force = _force_of(file, ctx)
        parts = name_parts(file)
        kind = parts[2] if parts else None
        month = parts[0] if parts else None
        if kind is None:   # a file named otherwise: outcomes if it has an outcome type column
            kind = "outcomes" if "Outcome type" in read_table(file, ctx.encoding)[0].columns else "street"
        cols: dict[str, str] = {}
        if scan and file.path is not None and ctx.encoding.replace("-", "").lower() == "utf8":
            header = _probe(file.path)
            if header is not None and kind == "street":
                _street_columns(header, cols)   # the hash is made while polars counts (parse_many)
                return _Read(index, file, force, kind, month, cols, path=file.path, header=tuple(header))
            if header is not None and month is not None:   # outcomes: scanned if clean, else read below
                found = find_columns(header, OUTCOME_COLUMNS, ())
                if "month" in found and "outcome_type" in found:
                    return _Read(index, file, force, kind, month, found, path=file.path, header=tuple(header))
        file.sha256()
        select = (lambda header: _street_columns(header, cols)) if kind == "street" else None
        frame, notes, problems = read_table(file, ctx.encoding, select=select)
        return _Read(index, file, force, kind, month, cols, frame=frame, notes=notes, problems=problems)
    except FileRejected as problem:
        return problem
    finally:
        file.release()


def _hash(file: SourceFile) -> None:
    try:
        file.sha256()
    except FileRejected:
        pass
    finally:
        file.release()


#: Most files imported as one step (a month of the national archive: 44 street and 44 outcomes files).
GROUP_FILES = 100


def group_files(files: list[SourceFile]) -> list[list[SourceFile]]:
    """The files in import steps: consecutive files of the same month (file name or folder), at
    most GROUP_FILES at a time, so memory holds one month's needed columns, not the archive."""
    groups: list[list[SourceFile]] = []
    last = object()
    for file in files:
        parts = name_parts(file)
        month = parts[0] if parts else file.folder
        if not groups or month != last or len(groups[-1]) >= GROUP_FILES:
            groups.append([])
        groups[-1].append(file)
        last = month
    return groups


#: The polars engine counting a month's rows ("streaming" bounds memory by the chunk, not the month).
ENGINE = os.environ.get("SPC_POLARS_ENGINE", "auto")

#: Files checked and hashed at once (in a month of the national archive: every force's file).
READ_THREADS = max(1, min(4, os.cpu_count() or 1))


def parse_many(files: list[SourceFile], ctx: Context) -> list[Parsed | FileRejected]:
    """Read and count several files at once (a month folder: every force's file): plain files
    are scanned by polars in one query, keeping only the needed columns; the others are read one
    by one. One result per file, in order: its counts, or the problem refusing it whole."""
    def read_all(scan: bool) -> list[_Read | FileRejected]:
        if len(files) > 1 and READ_THREADS > 1:
            with ThreadPoolExecutor(READ_THREADS) as pool:
                return list(pool.map(lambda pair: _read(*pair, ctx, scan), enumerate(files)))
        return [_read(i, f, ctx, scan) for i, f in enumerate(files)]

    loaded = read_all(True)
    street = [r for r in loaded if isinstance(r, _Read) and r.kind == "street"]
    outcomes = [r for r in loaded if isinstance(r, _Read) and r.kind == "outcomes"]
    scanned = [r.file for r in street + outcomes if r.frame is None]
    try:
        # the scanned files' hashes (for the load batches) in threads while polars counts them
        with ThreadPoolExecutor(READ_THREADS) as pool:
            hashes = [pool.submit(_hash, f) for f in scanned]
            counted = _street(street, ctx) if street else []
            outcome_counts = _outcomes_scanned([r for r in outcomes if r.frame is None], ctx)
            for done in hashes:
                done.result()
    except pl.exceptions.PolarsError:
        # a scanned file polars cannot read as it is: read every file line by line for the exact problem
        loaded = read_all(False)
        street = [r for r in loaded if isinstance(r, _Read) and r.kind == "street"]
        outcomes = [r for r in loaded if isinstance(r, _Read) and r.kind == "outcomes"]
        counted, outcome_counts = _street(street, ctx) if street else [], {}
    results: list[Parsed | FileRejected] = list(loaded)   # type: ignore[arg-type]
    for r, parsed in zip(street, counted, strict=True):
        results[r.index] = parsed
    for r in outcomes:
        if r.index in outcome_counts:
            results[r.index] = outcome_counts[r.index]
            continue
        try:   # read and checked line by line (a file not scanned, or with a problem to name)
            if r.frame is None:
                r.frame, r.notes, r.problems = read_table(r.file, ctx.encoding)
            results[r.index] = _outcomes(r.file, ctx, r.force, r.frame, r.month)
        except FileRejected as problem:
            results[r.index] = problem
        finally:
            r.file.release()
    for r in loaded:
        if isinstance(r, _Read) and not isinstance(results[r.index], FileRejected):
            parsed = results[r.index]
            parsed.notes[:0] = r.notes   # type: ignore[union-attr]
            parsed.read_problems = r.problems   # type: ignore[union-attr]
    return results


def _outcomes_scanned(files: list[_Read], ctx: Context) -> dict[int, Parsed]:
    """Outcomes files scanned by polars in one query and counted by file, month and outcome type.
    Only files whose every row passes (month, outcome type, Falls within) get a result here; the
    others are read line by line by `_outcomes`, which names each problem's line."""
    if not files:
        return {}
    outcome_ids = sorted(i for i in ctx.indicators.get_column("id").to_list() if i.startswith("outcome_"))
    parts, info_rows = [], []
    for r in files:
        fw = r.cols.get("falls_within") or r.cols.get("reported_by")
        info_rows.append((r.index, r.force, r.month))
        parts.append(pl.scan_csv(r.path, infer_schema=False).select(
            pl.lit(r.index, pl.Int32).alias("_i"), pl.col(r.cols["month"]).alias("_month_raw"),
            pl.col(r.cols["outcome_type"]).alias("_type_raw"),
            (pl.col(fw) if fw else pl.lit(None, pl.String)).alias("_fw")))
    info = pl.DataFrame(info_rows, schema={"_i": pl.Int32, "_force": pl.String, "_file_month": pl.String},
                        orient="row")
    combos = pl.concat(parts).group_by("_i", "_month_raw", "_type_raw", "_fw").agg(pl.len().alias("n")).collect()
    from spc.ingest.calls_999 import force_slug
    wanted = _force_texts(info)
    month_value, _ = _month("_month_raw")
    checked = combos.join(info, on="_i").with_columns(
        month_value.alias("month"),
        ("outcome_" + pl.col("_type_raw").str.to_lowercase().str.replace_all(r"[^a-z0-9]+", "_").str.strip_chars("_"))
        .alias("indicator_id")).with_columns(
        ((pl.col("_month_raw") == pl.col("_file_month")) & pl.col("month").is_not_null()
         & pl.col("indicator_id").is_in(outcome_ids)
         & (pl.col("_fw").is_null() | pl.concat_str(pl.col("_force"), pl.lit("|"), _norm(pl.col("_fw"))).is_in(wanted)
            | (force_slug(pl.col("_fw")) == pl.col("_force")))).fill_null(False).alias("_ok"))
    clean = checked.group_by("_i").agg(pl.col("_ok").all()).filter(pl.col("_ok")).get_column("_i").to_list()
    good = checked.filter(pl.col("_i").is_in(clean))
    counts = good.group_by("_i", "_force", "month", "indicator_id").agg(pl.col("n").sum())
    grid = good.select("_i", "_force", "month").unique().join(pl.DataFrame({"indicator_id": outcome_ids}),
                                                               how="cross")
    obs = (grid.join(counts, on=["_i", "_force", "month", "indicator_id"], how="left")
           .select("_i", "indicator_id", pl.col("_force").alias("area_code"), pl.col("month").alias("period_start"),
                   pl.lit("month").alias("period_grain"), pl.col("n").fill_null(0).cast(pl.Float64).alias("value"),
                   pl.lit(None, pl.Float64).alias("numerator"), pl.lit(None, pl.Float64).alias("denominator"))
           .sort("_i", "indicator_id", "period_start"))
    rows_read = dict(checked.group_by("_i").agg(pl.col("n").sum()).iter_rows())
    by_file = obs.partition_by("_i", as_dict=True, include_key=False)
    results = {}
    for r in files:
        if r.index in clean:
            file_obs = with_sources(by_file[(r.index,)], indicator=r.cols["outcome_type"], period=r.cols["month"],
                                    value=r.cols["outcome_type"])
            results[r.index] = Parsed(observations=file_obs, rows_read=rows_read[r.index],
                                      notes=["outcome counts are force-wide, by the month of the outcome"])
    return results


def _norm(expr: pl.Expr) -> pl.Expr:
    """A force's name for comparison: lower case, '&' as 'and', letters and digits only."""
    return expr.str.to_lowercase().str.replace_all("&", "and", literal=True).str.replace_all(r"[^a-z0-9]", "")


def _force_names(force: str) -> list[str]:
    """The names a row's `Falls within` / `Reported by` may give for `force` (normalised)."""
    names = {re.sub(r"[^a-z0-9]", "", force.lower())}
    try:
        from spc.geography import forces
        row = forces().filter(pl.col("force") == force)
        names |= set(row.select(_norm(pl.col(c)) for c in ("name", "falls_within") if c in row.columns)
                     .unpivot().get_column("value").drop_nulls().to_list())
    except (ImportError, SpcError, OSError):
        pass
    return sorted(names)


def _force_rejections(rows: pl.DataFrame, file: str, cols: dict[str, str], force: str) -> pl.DataFrame:
    """Rows whose `Falls within` and `Reported by` both name another force than the file's."""
    present = [cols[name] for name in ("falls_within", "reported_by") if name in cols]
    if not present or rows.is_empty():
        return pl.DataFrame(schema=REJECTION_COLUMNS)
    from spc.ingest.calls_999 import force_slug
    names = _force_names(force)
    # compare each distinct text once (a file has one or two), then pick the rows
    distinct = rows.select(present).unique()
    matches = [(_norm(pl.col(c)).is_in(names) | (force_slug(pl.col(c)) == force)).fill_null(False) for c in present]
    given = pl.any_horizontal([pl.col(c).is_not_null() for c in present])
    wrong = distinct.filter(given & ~pl.any_horizontal(matches))
    if wrong.is_empty():
        return pl.DataFrame(schema=REJECTION_COLUMNS)
    shown = pl.coalesce([pl.col(c) for c in present])
    column = pl.when(pl.col(present[0]).is_not_null()).then(pl.lit(present[0])).otherwise(pl.lit(present[-1]))
    return rows.join(wrong, on=present, how="semi", nulls_equal=True).select(
        pl.lit(file).alias("file"), pl.col("_line").alias("line"), column.alias("column_name"),
        shown.alias("value"),
        pl.format(f"the row is for '{{}}', not {force}, the force in the file name (each force's rows belong "
                  f"in its own YYYY-MM-<force> file)", shown).alias("reason"),
        pl.lit(None, pl.String).alias("raw"))


def _month_rejections(parsed: pl.DataFrame, file: str, column: str, file_month: str | None) -> pl.DataFrame:
    if file_month is None:
        return pl.DataFrame(schema=REJECTION_COLUMNS)
    return parsed.filter(~pl.col("_bad") & (pl.col(column).str.strip_chars() != file_month)).select(
        pl.lit(file).alias("file"), pl.col("_line").alias("line"), pl.lit(column).alias("column_name"),
        pl.col(column).alias("value"),
        pl.lit(f"month does not match the file name's month {file_month}").alias("reason"),
        pl.lit(None, pl.String).alias("raw"))


def _unknown_rejections(rows: pl.DataFrame, file: str, column: str, what: str, known: list[str]) -> pl.DataFrame:
    shown = ", ".join(known[:30]) + (", ..." if len(known) > 30 else "")
    return rows.filter(pl.col("indicator_id").is_null()).select(
        pl.lit(file).alias("file"), pl.col("_line").alias("line"), pl.lit(column).alias("column_name"),
        pl.col(column).alias("value"), pl.format(f"unknown {what} '{{}}' (known: {shown})", pl.col(column)).alias("reason"),
        pl.lit(None, pl.String).alias("raw"))


def _districts_by_code() -> pl.DataFrame:
    from spc.geography import lsoa_districts
    return lsoa_districts().select(pl.col("lsoa_code").alias("_place"), pl.col("lad_code").alias("_lad_code"))


def _district_names() -> pl.DataFrame:
    """lad_code -> lad_name (empty when the lookup cannot be read)."""
    try:
        from spc.geography import districts
        return districts().select(pl.col("lad_code").alias("_lad_code"), pl.col("lad_name").alias("_lad_name"))
    except (ImportError, SpcError, OSError):
        return pl.DataFrame(schema={"_lad_code": pl.String, "_lad_name": pl.String})


def _street_rows(frame: pl.LazyFrame, cols: dict[str, str], index: pl.Expr) -> pl.LazyFrame:
    """A street file's needed columns under common names: _src (the file), _line, _month_raw,
    _crime_raw, _lsoa_raw (the LSOA code, or name in a file without codes), _fw, _rb."""
    place = cols["lsoa_code" if "lsoa_code" in cols else "lsoa_name"]
    force_cols = [cols[n] for n in ("falls_within", "reported_by") if n in cols]
    absent = pl.lit(None, pl.String)
    return frame.select(
        index.cast(pl.Categorical).alias("_src"), pl.col("_line").cast(pl.Int64), pl.col(cols["month"]).alias("_month_raw"),
        pl.col(cols["crime_type"]).alias("_crime_raw"), pl.col(place).alias("_lsoa_raw"),
        (pl.col(force_cols[0]) if force_cols else absent).alias("_fw"),
        (pl.col(force_cols[-1]) if len(force_cols) > 1 else absent).alias("_rb"))


_FILE_SCHEMA = {"_i": pl.Int32, "_file": pl.String, "_force": pl.String, "_file_month": pl.String,
                "_by_code": pl.Boolean, "_c_month": pl.String, "_c_crime": pl.String, "_c_place": pl.String,
                "_c_force": pl.String, "_c_force2": pl.String}


def _street(files: list[_Read], ctx: Context, reported_by: bool = False) -> list[Parsed]:
    """Count street files (one or many, each with its own force) in one polars query.

    Scanned files are read without `Reported by` (a fifth less to read) unless `reported_by`:
    only when a row's `Falls within` names another force is the count made again with it, as a
    row matches its file's force when either column does."""
    info_rows = []
    parts: list[pl.LazyFrame] = []
    sources: dict[str, int] = {}   # `_src` (a scanned file's path, or #k) -> the file's index
    scans: dict[tuple[str, ...], list[_Read]] = {}
    for k, r in enumerate(files):
        by_code = "lsoa_code" in r.cols
        place = r.cols["lsoa_code" if by_code else "lsoa_name"]
        force_cols = [r.cols[n] for n in ("falls_within", "reported_by") if n in r.cols]
        info_rows.append((k, r.file.name, r.force, r.month, by_code, r.cols["month"], r.cols["crime_type"], place,
                          force_cols[0] if force_cols else None, force_cols[-1] if force_cols else None))
        if r.frame is None:
            scans.setdefault(r.header, []).append(r)
        else:
            parts.append(_street_rows(r.frame.lazy(), r.cols, pl.lit(f"#{k}")))
            sources[f"#{k}"] = k
    info = pl.DataFrame(info_rows, schema=_FILE_SCHEMA, orient="row")
    position = {id(r): k for k, r in enumerate(files)}

    def scan_cols(r: _Read) -> dict[str, str]:
        if reported_by or "falls_within" not in r.cols:
            return r.cols
        return {n: c for n, c in r.cols.items() if n != "reported_by"}

    for group in scans.values():
        paths = {str(r.path): position[id(r)] for r in group}
        sources |= paths
        scanned = pl.scan_csv(list(paths), infer_schema=False, include_file_paths="_path").with_columns(
            pl.lit(None, pl.Int64).alias("_line"))
        parts.append(_street_rows(scanned, scan_cols(group[0]), pl.col("_path")))
    rows = pl.concat(parts, how="vertical")

    # --- the rows reduced to their distinct values and counted (after the LSOA lookup, so a
    # district, not an LSOA, is a key); each distinct value is then checked once
    key = ["_i", "_month_raw", "_crime_raw", "_lad_join", "_unknown", "_fw", "_rb"]
    file_index = pl.col("_src").cast(pl.String).replace_strict(sources, return_dtype=pl.Int32).alias("_i")
    lookup = _districts_by_code().rename({"_place": "_lsoa_raw", "_lad_code": "_lad_join"})

    def keyed(frame: pl.LazyFrame) -> pl.LazyFrame:
        return frame.join(lookup.lazy(), on="_lsoa_raw", how="left").with_columns(
            pl.when(pl.col("_lad_join").is_null()).then(pl.col("_lsoa_raw")).alias("_unknown"))

    # grouped by the file's path as a categorical (cheaper than a column of file numbers per row)
    counted = (keyed(rows).group_by("_src", *key[1:]).agg(pl.len().alias("n")).collect(engine=ENGINE)
               .with_columns(file_index).drop("_src"))
    combos = counted.lazy().join(info.lazy().select("_i", "_force", "_file_month", "_by_code"), on="_i", how="left")
    blank = lambda c: pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "")  # noqa: E731
    month_value, month_reason = _month("_month_raw")
    months = (combos.select("_month_raw", "_file_month").unique()
              .with_columns(month_value.alias("month"), month_reason.alias("_why_month"))
              .with_columns(pl.when(blank("_month_raw")).then(pl.lit("empty (a value is required)"))
                            .when(pl.col("_why_month").is_not_null()).then(pl.col("_why_month"))
                            .when(pl.col("_file_month").is_not_null()
                                  & (pl.col("_month_raw").str.strip_chars() != pl.col("_file_month")))
                            .then(pl.format("month does not match the file name's month {}", pl.col("_file_month")))
                            .alias("_why_month")))
    shown_crimes = ", ".join(list(CRIME_TYPES)[:30])
    crimes = (combos.select("_crime_raw").unique()
              .with_columns(pl.col("_crime_raw").str.strip_chars().replace_strict(CRIME_TYPES, default=None)
                            .alias("indicator_id"))
              .with_columns(pl.when(blank("_crime_raw")).then(pl.lit("empty (a value is required)"))
                            .when(pl.col("indicator_id").is_null())
                            .then(pl.format(f"unknown crime type '{{}}' (known: {shown_crimes})", pl.col("_crime_raw")))
                            .alias("_why_crime")))
    # LSOAs not found as they are: blank (No Location), padded, named (a file without codes), unknown
    unknown = (combos.filter(pl.col("_unknown").is_not_null()).select("_unknown", "_by_code").unique()
               .with_columns(pl.when(~blank("_unknown")).then(pl.col("_unknown").str.strip_chars()).alias("_place"))
               .join(_districts_by_code().lazy().rename({"_lad_code": "_lad_found"}), on="_place", how="left"))
    if not info.get_column("_by_code").all():
        names = (_district_names().select(pl.col("_lad_name").str.to_lowercase().alias("_key"),
                                          pl.col("_lad_code").alias("_lad_by_name")).unique("_key").lazy())
        unknown = (unknown.with_columns(pl.col("_place").str.replace(r"\s*\d{3}[A-Z]$", "").str.to_lowercase()
                                        .alias("_key"))
                   .join(names, on="_key", how="left")
                   .with_columns(pl.when(pl.col("_by_code")).then(pl.col("_lad_found"))
                                 .otherwise(pl.col("_lad_by_name")).alias("_lad_found")).drop("_key", "_lad_by_name"))
    unknown = unknown.with_columns(
        pl.when(pl.col("_by_code") & pl.col("_place").is_not_null() & pl.col("_lad_found").is_null())
        .then(pl.format("LSOA code '{}' maps to no district (not in the geography lookup lsoa_districts.csv.gz "
                        "of 2011 and 2021 LSOAs of England and Wales)", pl.col("_place"))).alias("_why_place"))
    from spc.ingest.calls_999 import force_slug
    wanted = _force_texts(info)
    force_ok = pl.any_horizontal(
        [(pl.concat_str(pl.col("_force"), pl.lit("|"), _norm(pl.col(c))).is_in(wanted)
          | (force_slug(pl.col(c)) == pl.col("_force"))).fill_null(False) for c in ("_fw", "_rb")]
    ) | (pl.col("_fw").is_null() & pl.col("_rb").is_null())
    named = (combos.select("_force", "_fw", "_rb").unique()
             .with_columns(pl.when(~force_ok).then(pl.format(
                 "the row is for '{}', not {}, the force in the file name (each force's rows belong in its own "
                 "YYYY-MM-<force> file)", pl.coalesce("_fw", "_rb"), pl.col("_force"))).alias("_why_force")))
    reasons = ("month", "crime", "place", "force")
    checked = (combos.join(months, on=["_month_raw", "_file_month"], how="left", nulls_equal=True)
               .join(crimes, on="_crime_raw", how="left", nulls_equal=True)
               .join(unknown, on=["_unknown", "_by_code"], how="left", nulls_equal=True)
               .join(named, on=["_force", "_fw", "_rb"], how="left", nulls_equal=True)
               .with_columns(pl.coalesce("_lad_join", "_lad_found").alias("_lad_code"),
                             (pl.col("_lad_join").is_null() & pl.col("_place").is_null()).alias("_noloc"),
                             pl.any_horizontal(pl.col(f"_why_{k}").is_not_null() for k in reasons).alias("_bad")))
    checked, = pl.collect_all([checked])
    if not reported_by and scans and not checked.filter(pl.col("_why_force").is_not_null()).is_empty():
        return _street(files, ctx, reported_by=True)
    bad_combos = checked.filter(pl.col("_bad"))
    rows_read = dict(checked.group_by("_i").agg(pl.col("n").sum()).iter_rows())
    if bad_combos.is_empty():
        rejected_plan = pl.LazyFrame(schema={"_i": pl.Int32, "line": pl.Int64, "value": pl.String,
                                             "reason": pl.String, "_what": pl.String})
    else:   # the lines of the rejected rows (only when there are any): scanned files are read again
        bad_files = set(bad_combos.get_column("_i").unique().to_list())
        again = [_street_rows(read_table(r.file, ctx.encoding, select=lambda h, r=r: _street_columns(h, {}))[0]
                              .lazy(), scan_cols(r), pl.lit(f"#{k}"))
                 for k, r in enumerate(files) if k in bad_files and r.path is not None and r.header]
        sources |= {f"#{k}": k for k in range(len(files))}
        lines = keyed(pl.concat([rows.filter(pl.col("_line").is_not_null()), *again])).with_columns(file_index).join(
            bad_combos.lazy().select(*key, *(f"_why_{k}" for k in reasons)), on=key, how="inner", nulls_equal=True)
        raw_value = {"month": "_month_raw", "crime": "_crime_raw", "place": "_lsoa_raw", "force": None}
        rejected_plan = pl.concat([
            lines.filter(pl.col(f"_why_{k}").is_not_null()).select(
                "_i", pl.col("_line").alias("line"),
                (pl.col(raw_value[k]) if raw_value[k] else pl.coalesce("_fw", "_rb")).alias("value"),
                pl.col(f"_why_{k}").alias("reason"),
                (pl.when(pl.col("_fw").is_null()).then(pl.lit("force2")).otherwise(pl.lit(k)) if k == "force"
                 else pl.lit(k)).alias("_what"))
            for k in reasons]).sort("_i", "line", maintain_order=True)

    # --- counts of the good rows
    local = ctx.local_areas.select(pl.col("force_code").alias("_force"), pl.col("lad_code").alias("_lad_code"),
                                   "area_code")
    local_lads = local.select("_force", "_lad_code").unique().with_columns(pl.lit(True).alias("_in_area"))
    per_file = (checked.lazy().filter(~pl.col("_bad"))
                .group_by("_i", "_force", "month", "indicator_id", "_noloc", "_lad_code").agg(pl.col("n").sum())
                .join(local_lads.lazy(), on=["_force", "_lad_code"], how="left").collect().lazy())
    force_counts = per_file.group_by("_i", "month", "indicator_id", "_force").agg(pl.col("n").sum()) \
        .rename({"_force": "area_code"})
    local_counts = per_file.join(local.lazy(), on=["_force", "_lad_code"], how="inner") \
        .group_by("_i", "month", "indicator_id", "area_code").agg(pl.col("n").sum())
    counts = pl.concat([force_counts, local_counts.select(force_counts.collect_schema().names())])
    areas = pl.concat([info.select("_force", pl.col("_force").alias("area_code")),
                       info.select("_force").unique().join(local.select("_force", "area_code").unique(), on="_force")])
    grid = (per_file.select("_i", "_force", "month").unique()
            .join(pl.LazyFrame({"indicator_id": list(CRIME_TYPES.values())}), how="cross")
            .join(areas.unique().lazy(), on="_force"))
    full = grid.join(counts, on=["_i", "month", "indicator_id", "area_code"], how="left") \
        .with_columns(pl.col("n").fill_null(0))
    neighbourhood = full.filter(pl.col("indicator_id").is_in(NEIGHBOURHOOD_CRIME)) \
        .group_by("_i", "month", "area_code").agg(pl.col("n").sum()) \
        .with_columns(pl.lit("neighbourhood_crime").alias("indicator_id"))
    obs_plan = pl.concat([full.select("_i", "month", "indicator_id", "area_code", "n"),
                          neighbourhood.select("_i", "month", "indicator_id", "area_code", "n")]).select(
        "_i", "indicator_id", "area_code", pl.col("month").alias("period_start"), pl.lit("month").alias("period_grain"),
        pl.col("n").cast(pl.Float64).alias("value"), pl.lit(None, pl.Float64).alias("numerator"),
        pl.lit(None, pl.Float64).alias("denominator")).sort("_i", "indicator_id", "area_code", "period_start")
    sources = info.lazy().select(   # with_sources' columns, per file
        "_i", pl.lit(None, pl.Int64).alias("_line"), pl.col("_c_crime").alias("_col_indicator"),
        pl.col("_c_place").alias("_col_area"), pl.col("_c_month").alias("_col_period"),
        pl.col("_c_crime").alias("_col_value"), pl.lit(None, pl.String).alias("_col_numerator"),
        pl.lit(None, pl.String).alias("_col_denominator"))
    obs_plan = obs_plan.join(sources, on="_i", how="left", maintain_order="left")
    outside = ~pl.col("_noloc") & pl.col("_in_area").is_null()
    summary_plan = per_file.group_by("_i").agg(pl.col("n").filter(pl.col("_noloc")).sum().alias("no_location"),
                                               pl.col("n").filter(outside).sum().alias("outside"))
    top_plan = (per_file.filter(outside).group_by("_i", "_lad_code").agg(pl.col("n").sum().alias("len"))
                .join(_district_names().lazy(), on="_lad_code", how="left")
                .select("_i", pl.coalesce("_lad_name", "_lad_code", pl.lit("(no district)")).alias("_where"), "len")
                .sort(["_i", "len", "_where"], descending=[False, True, False]))
    obs, rejected, summary, top = pl.collect_all([obs_plan, rejected_plan, summary_plan, top_plan])

    results = []
    obs_by = obs.partition_by("_i", as_dict=True, include_key=False)
    rej_by = rejected.partition_by("_i", as_dict=True, include_key=False)
    top_by = top.partition_by("_i", as_dict=True, include_key=False)
    totals = {i: (int(a), int(b)) for i, a, b in summary.iter_rows()}
    empty_obs = obs.clear().drop("_i")
    for k, row in enumerate(info.iter_rows(named=True)):
        names = {"month": row["_c_month"], "crime": row["_c_crime"], "place": row["_c_place"]}
        file_obs = obs_by.get((k,), empty_obs)
        file_rej = rej_by.get((k,))
        if file_rej is None:
            file_rej = pl.DataFrame(schema=REJECTION_COLUMNS)
        else:
            names |= {"force": row["_c_force"], "force2": row["_c_force2"]}
            file_rej = file_rej.select(
                pl.lit(row["_file"]).alias("file"), "line",
                pl.col("_what").replace_strict(names, default=None, return_dtype=pl.String).alias("column_name"),
                "value", "reason", pl.lit(None, pl.String).alias("raw")).cast(REJECTION_COLUMNS)  # type: ignore[arg-type]
        no_location, outside_n = totals.get(k, (0, 0))
        notes: list[str] = [] if row["_by_code"] else [
            "the file has no 'LSOA code' column: districts taken from the LSOA names"]
        if no_location:
            notes.append(f"{no_location} 'No Location' rows: in the force-wide counts, in no area")
        if outside_n:
            places = top_by.get((k,))
            listed = ", ".join(f"{r[0]} {r[1]}" for r in places.head(5).iter_rows()) if places is not None else ""
            more = ", ..." if places is not None and places.height > 5 else ""
            notes.append(f"{outside_n} rows in LSOAs outside the force's areas ({listed}{more}): "
                         "in the force-wide counts, in no area")
        results.append(Parsed(observations=file_obs, rows_read=rows_read.get(k, 0), rejected=file_rej, notes=notes,
                              extra={"no location": no_location, "outside areas": outside_n}))
    return results


def _force_texts(info: pl.DataFrame) -> list[str]:
    """'force|normalised name' for every name a row may give for its file's force."""
    mine = info.get_column("_force").unique().to_list()
    texts = {f"{force}|{re.sub(r'[^a-z0-9]', '', force.lower())}" for force in mine}
    try:
        from spc.geography import forces
        table = forces().filter(pl.col("force").is_in(mine))
        for column in ("name", "falls_within"):
            texts |= set(table.select(pl.concat_str(pl.col("force"), pl.lit("|"), _norm(pl.col(column))))
                         .to_series().drop_nulls().to_list())
    except (ImportError, SpcError, OSError):
        pass
    return sorted(texts)


def _outcomes(file: SourceFile, ctx: Context, force: str, frame: pl.DataFrame, file_month: str | None) -> Parsed:
    cols = find_columns(frame.columns, OUTCOME_COLUMNS, ("month", "outcome_type"))
    parsed, rejected = parse_fields(frame, file.name, [
        Field(cols["month"], "month", "month"), Field(cols["outcome_type"], "outcome_type", "text")])
    outcome_ids = sorted(i for i in ctx.indicators.get_column("id").to_list() if i.startswith("outcome_"))
    rows = parsed.with_columns(
        ("outcome_" + pl.col("outcome_type").str.to_lowercase().str.replace_all(r"[^a-z0-9]+", "_")
         .str.strip_chars("_")).alias("_id"))
    rows = rows.with_columns(pl.when(pl.col("_id").is_in(outcome_ids)).then(pl.col("_id")).alias("indicator_id"))
    month_bad = _month_rejections(rows, file.name, cols["month"], file_month)
    unknown = _unknown_rejections(rows.filter(~pl.col("_bad")), file.name, cols["outcome_type"],
                                  "outcome type: no outcome_<snake case> indicator in the catalogue for",
                                  outcome_ids)
    wrong_force = _force_rejections(rows.filter(~pl.col("_bad")), file.name, cols, force)
    rejected = pl.concat([rejected, month_bad, unknown, wrong_force]).sort("line")
    good = rows.filter(~pl.col("_line").is_in(rejected.get_column("line").implode()))
    counts = good.group_by("month", "indicator_id").agg(pl.len().alias("n"))
    grid = (good.select("month").unique().join(pl.DataFrame({"indicator_id": outcome_ids}), how="cross")
            .with_columns(pl.lit(force).alias("area_code")))
    full = grid.join(counts, on=["month", "indicator_id"], how="left").with_columns(pl.col("n").fill_null(0))
    obs = full.select(
        "indicator_id", "area_code", pl.col("month").alias("period_start"), pl.lit("month").alias("period_grain"),
        pl.col("n").cast(pl.Float64).alias("value"), pl.lit(None, pl.Float64).alias("numerator"),
        pl.lit(None, pl.Float64).alias("denominator"))
    obs = with_sources(obs, indicator=cols["outcome_type"], period=cols["month"], value=cols["outcome_type"])
    return Parsed(observations=obs.sort("indicator_id", "period_start"), rows_read=frame.height,
                  rejected=rejected,
                  notes=["outcome counts are force-wide, by the month of the outcome"])
