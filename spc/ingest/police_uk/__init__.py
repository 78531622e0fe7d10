"""police.uk street and outcomes files (`YYYY-MM-<force>-street.csv`, `...-outcomes.csv`).

Street files give one row per crime or anti-social behaviour incident. They become monthly
counts of anti-social behaviour (`asb_incidents`), of each crime type (`crime_<snake case of
the crime type>`) and of neighbourhood crime, force-wide and per local area of the force.

The package: `selection` (which files, their forces and month folders, the crime types),
`reading` (probing, scanning or reading each file, its hash), `street` and `outcomes` (the
counts), `checks` (row checks both share); `parse` and `parse_many` here put them together.

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

from concurrent.futures import ThreadPoolExecutor

import polars as pl

from spc.ingest.base import Context, Parsed
from spc.ingest.files import FileRejected, SourceFile, read_table
from spc.ingest.police_uk.selection import (CRIME_TYPES, NEIGHBOURHOOD_CRIME, SOURCE, check_context, group_files,
                                           patterns, select_files)
from spc.ingest.police_uk.outcomes import _outcomes, _outcomes_scanned
from spc.ingest.police_uk.reading import READ_THREADS, _Read, _hash, _read
from spc.ingest.police_uk.street import _street

__all__ = ["CRIME_TYPES", "NEIGHBOURHOOD_CRIME", "SOURCE", "check_context", "group_files", "parse", "parse_many",
           "patterns", "select_files"]


def parse(file: SourceFile, ctx: Context) -> Parsed:
    """Read one street or outcomes file and count it by month, indicator and area."""
    result = parse_many([file], ctx)[0]
    if isinstance(result, FileRejected):
        raise result
    return result


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
