"""Importers for the published formats, with one validation rule set (`spc.ingest.validate`).

`run_import(con, source, paths)` imports every file found under `paths` in ONE transaction:
a crash or kill part-way leaves the store as it was. Each file gets its own load batch and
its rejected rows (file, line, column, value, reason, the raw line) in `rejected_row`. By
default a file with any rejected row loads nothing; `load_good_rows=True` loads its good rows.
Observations are written by `spc.store.observations.write_observations`, so re-importing a
file changes nothing, a revised file keeps the earlier values as revisions, and periods
absent from a new file stay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import duckdb
import polars as pl

from spc.errors import SpcError
from spc.ingest import calls_999, fire, police_uk, reoffending, tidy
from spc.ingest.base import Context, Parsed
from spc.ingest.files import FileRejected, SourceFile, discover
from spc.ingest.validate import check_observations, file_rejection, rejected_row_count
from spc.store.connection import transaction
from spc.store.observations import (
    OBSERVATION_COLUMNS,
    REJECTION_COLUMNS,
    WriteCounts,
    finish_batch,
    now,
    record_rejections,
    start_batch,
    write_observations,
    write_observations_many,
)

#: Importer modules by the SOURCE name of `spc import SOURCE`.
SOURCES: dict[str, ModuleType] = {
    "police-uk": police_uk, "calls-999": calls_999, "reoffending": reoffending, "fire": fire, "tidy": tidy,
}

_KEY = ["indicator_id", "area_code", "period_start"]


@dataclass
class FileResult:
    """What happened to one file."""

    file: str
    batch_id: int
    status: str                       # loaded, partial, rejected, unchanged
    rows_read: int
    loaded: int
    unchanged: int
    revised: int
    rows_rejected: int
    rejections: pl.DataFrame
    notes: list[str] = field(default_factory=list)
    extra: dict[str, int] = field(default_factory=dict)


@dataclass
class ImportReport:
    """What an import did, file by file."""

    source: str
    files: list[FileResult]
    skipped: list[str] = field(default_factory=list)   # notes on files found but not imported

    @property
    def rows_rejected(self) -> int:
        """Rejected rows over all files (non-zero means the command exits non-zero)."""
        return sum(f.rows_rejected for f in self.files)


def _attach_raw(rejected: pl.DataFrame, file: SourceFile, encoding: str) -> pl.DataFrame:
    """Fill `raw` with the rejected line's text (CSV files only; read once, on the error path)."""
    if rejected.is_empty() or not file.basename.lower().endswith((".csv", ".txt")):
        return rejected
    try:
        lines = file.read().decode(encoding, errors="replace").splitlines()
    except (FileRejected, LookupError):
        return rejected
    raw = pl.Series("_raw", [""] + lines, dtype=pl.String)
    idx = rejected.get_column("line").fill_null(0).clip(0, len(lines))
    line_text = pl.when(pl.col("line").is_not_null()).then(raw.gather(idx).str.slice(0, 1000))
    return rejected.with_columns(pl.coalesce(pl.col("raw"), line_text).alias("raw"))


def _load_status(loads: bool, rejected: pl.DataFrame, counts: WriteCounts, n_good: int | None,
                 notes: list[str]) -> tuple[str, list[str]]:
    """A file's load status (loaded, unchanged, partial or rejected) and its notes, with why good
    rows were held back when the file had errors."""
    if loads:
        status = "partial" if not rejected.is_empty() else (
            "unchanged" if counts.loaded == counts.revised == 0 and counts.unchanged else "loaded")
        return status, notes
    if n_good is not None:
        notes = [*notes, f"nothing loaded: {n_good} good rows held back because the file has errors "
                         "(--load-good-rows loads them)"]
    return "rejected", notes


def _import_file(con: duckdb.DuckDBPyConnection, module: ModuleType, source: str, file: SourceFile, ctx: Context,
                 seen: pl.DataFrame, load_good_rows: bool) -> tuple[FileResult, pl.DataFrame]:
    try:
        sha = file.sha256()
    except FileRejected:
        sha = None
    batch = start_batch(con, source, file.name, sha)
    try:
        parsed: Parsed = module.parse(file, ctx)
        good, bad = check_observations(parsed.observations, file.name, ctx.indicators, ctx.areas)
        # A key already taken from an earlier file of this import (the same month twice).
        again = good.join(seen, on=_KEY, how="inner")
        if not again.is_empty():
            # one rejection per period and earlier file, not one per indicator and area
            column = parsed.observations.get_column("_col_period")[0]
            lines = parsed.observations.select(*_KEY, "_line").join(again, on=_KEY)
            bad = pl.concat([bad, lines.group_by("period_start", "_from").agg(
                pl.col("_line").min().alias("line"), pl.len().alias("n")).sort("period_start").select(
                pl.lit(file.name).alias("file"), "line", pl.lit(column, pl.String).alias("column_name"),
                pl.col("period_start").cast(pl.String).alias("value"),
                pl.format("{} rows for {} are also in {} in this import (the same period twice)", pl.col("n"),
                          pl.col("period_start"), pl.col("_from")).alias("reason"),
                pl.lit(None, pl.String).alias("raw")).cast(REJECTION_COLUMNS)])  # type: ignore[arg-type]
            good = good.join(seen, on=_KEY, how="anti")
        rejected = pl.concat([file_rejection(file.name, *parsed.read_problems),
                              parsed.rejected.cast(REJECTION_COLUMNS), bad])  # type: ignore[arg-type]
        rows_read = parsed.rows_read + len(parsed.read_problems)
        notes, extra = parsed.notes, parsed.extra
    except FileRejected as problem:
        good, rejected = None, file_rejection(file.name, problem)
        rows_read, notes, extra = 0, [], {}
    counts = WriteCounts(0, 0, 0)
    loads = good is not None and (rejected.is_empty() or load_good_rows)
    if loads:
        counts = write_observations(con, good, batch)
        seen = pl.concat([seen, good.select(_KEY).with_columns(pl.lit(file.name).alias("_from"))])
    status, notes = _load_status(loads, rejected, counts, None if good is None else good.height, notes)
    rejected = _attach_raw(rejected, file, ctx.encoding)
    record_rejections(con, batch, rejected)
    n_rejected = rejected_row_count(rejected)
    finish_batch(con, batch, status=status, rows_read=rows_read, counts=counts, rows_rejected=n_rejected,
                 message="; ".join(notes) or None)
    result = FileResult(file=file.name, batch_id=batch, status=status, rows_read=rows_read, loaded=counts.loaded,
                        unchanged=counts.unchanged, revised=counts.revised, rows_rejected=n_rejected,
                        rejections=rejected, notes=notes, extra=extra)
    return result, seen


def _file_sha(file: SourceFile) -> str | None:
    try:
        return file.sha256()
    except FileRejected:
        return None


def _quick_check(obs: pl.DataFrame, ctx: Context) -> pl.Series:
    """For the observations of several files (`_k`: the file), the files whose rows may break a
    store rule (unknown indicator or area, grain, period start, no value, duplicates): those get
    the full `check_observations`; the others pass as they are (the importer built them)."""
    known = ctx.indicators.select(pl.col("id").alias("indicator_id"), pl.col("frequency").alias("_frequency"))
    flagged = (obs.lazy().join(known.lazy(), on="indicator_id", how="left")
               .with_columns((pl.col("_frequency").is_null() | (pl.col("_frequency") != pl.col("period_grain"))
                              | ~pl.col("area_code").is_in(ctx.areas.get_column("code").implode())
                              | pl.col("period_start").is_null() | (pl.col("period_start").dt.day() != 1)
                              | pl.col("value").is_null() | (pl.col("value") < 0)
                              | (pl.len().over("_k", "indicator_id", "area_code", "period_start") > 1)).alias("_x"))
               .filter(pl.col("_x")).select(pl.col("_k").unique()).collect())
    return flagged.get_column("_k")


def _import_group(con: duckdb.DuckDBPyConnection, module: ModuleType, source: str, files: list[SourceFile],
                  ctx: Context, seen: dict[tuple, str], load_good_rows: bool) -> list[FileResult]:
    """Import several files at once (`module.parse_many`): the same rules and results as
    `_import_file` file by file, with one write to the store for the lot (a month of the national
    police.uk archive is 44 files)."""
    parsed_list = module.parse_many(files, ctx)
    started = now()
    ids = [int(r[0]) for r in con.execute("SELECT nextval('load_batch_id_seq') FROM range(?)",
                                          [len(files)]).fetchall()]
    batches = pl.DataFrame({"id": ids, "source": [source] * len(files), "path": [f.name for f in files],
                            "file_sha256": [_file_sha(f) for f in files], "started_at": [started] * len(files)},
                           schema={"id": pl.Int64, "source": pl.String, "path": pl.String, "file_sha256": pl.String,
                                   "started_at": pl.Datetime("us")})
    con.register("_batches", batches.to_arrow())
    try:
        con.execute("INSERT INTO load_batch (id, source, path, file_sha256, started_at, status) "
                    "SELECT id, source, path, file_sha256, started_at, 'loaded' FROM _batches")
    finally:
        con.unregister("_batches")
    parsed_ok = [(k, p) for k, p in enumerate(parsed_list) if not isinstance(p, FileRejected)]
    suspect: set[int] = set()
    every = pl.DataFrame(schema={**OBSERVATION_COLUMNS, "_k": pl.Int32})
    if parsed_ok:
        every = pl.concat([p.observations.select(list(OBSERVATION_COLUMNS)).with_columns(pl.lit(k, pl.Int32).alias("_k"))
                           for k, p in parsed_ok])
        suspect = set(_quick_check(every, ctx).to_list())
    keys_of: dict[int, list[tuple]] = {}
    for row in every.select("_k", *_KEY).iter_rows():
        keys_of.setdefault(row[0], []).append(row[1:])
    empty = pl.DataFrame(schema=REJECTION_COLUMNS)
    plans: list[tuple] = []
    to_write: list[pl.DataFrame] = []
    clean: list[int] = []          # files written as they are: their rows are taken from `every`
    for k, (file, parsed) in enumerate(zip(files, parsed_list, strict=True)):
        if isinstance(parsed, FileRejected):
            plans.append((None, file_rejection(file.name, parsed), 0, [], {}))
            continue
        keys = keys_of.get(k, [])
        again = [(key, seen[key]) for key in keys if key in seen]
        n_rows = parsed.rows_read + len(parsed.read_problems)
        if k not in suspect and not again and not parsed.read_problems and parsed.rejected.is_empty():
            for key in keys:
                seen[key] = file.name
            clean.append(k)
            plans.append((len(keys), empty, n_rows, parsed.notes, parsed.extra))
            continue
        if k in suspect:
            good, bad = check_observations(parsed.observations, file.name, ctx.indicators, ctx.areas)
            keys = good.select(_KEY).rows()
            again = [(key, seen[key]) for key in keys if key in seen]
        else:
            good, bad = parsed.observations.select(list(OBSERVATION_COLUMNS)), None
        parts = [file_rejection(file.name, *parsed.read_problems), parsed.rejected.cast(REJECTION_COLUMNS)]  # type: ignore[arg-type]
        if bad is not None:
            parts.append(bad)
        if again:
            # one rejection per period and earlier file, not one per indicator and area
            column = parsed.observations.get_column("_col_period")[0]
            lines = (parsed.observations.select(*_KEY, "_line")
                     .join(pl.DataFrame([(*key, other) for key, other in again], schema=[*_KEY, "_from"],
                                        orient="row").cast({"period_start": pl.Date}), on=_KEY))
            parts.append(lines.group_by("period_start", "_from").agg(
                pl.col("_line").min().alias("line"), pl.len().alias("n")).sort("period_start").select(
                pl.lit(file.name).alias("file"), "line", pl.lit(column, pl.String).alias("column_name"),
                pl.col("period_start").cast(pl.String).alias("value"),
                pl.format("{} rows for {} are also in {} in this import (the same period twice)", pl.col("n"),
                          pl.col("period_start"), pl.col("_from")).alias("reason"),
                pl.lit(None, pl.String).alias("raw")).cast(REJECTION_COLUMNS))  # type: ignore[arg-type]
            taken = {key for key, _ in again}
            good = good.join(pl.DataFrame(list(taken), schema=_KEY, orient="row").cast({"period_start": pl.Date}),
                             on=_KEY, how="anti")
            keys = [key for key in keys if key not in taken]
        rejected = pl.concat(parts)
        if rejected.is_empty() or load_good_rows:
            for key in keys:
                seen[key] = file.name
            to_write.append(good.with_columns(pl.lit(ids[k], pl.Int64).alias("load_batch_id")))
        plans.append((good.height, rejected, n_rows, parsed.notes, parsed.extra))
    if clean:
        batch_of = {k: ids[k] for k in clean}
        to_write.append(every.filter(pl.col("_k").is_in(clean)).select(
            *OBSERVATION_COLUMNS, pl.col("_k").replace_strict(batch_of, return_dtype=pl.Int64).alias("load_batch_id")))
    written = write_observations_many(con, pl.concat(to_write)) if to_write else {}
    results: list[FileResult] = []
    for k, (file, (n_good, rejected, rows_read, notes, extra)) in enumerate(zip(files, plans, strict=True)):
        loads = n_good is not None and (rejected.is_empty() or load_good_rows)
        counts = written.get(ids[k], WriteCounts(0, 0, 0))
        status, notes = _load_status(loads, rejected, counts, n_good, notes)
        if not rejected.is_empty():
            rejected = _attach_raw(rejected, file, ctx.encoding)
            record_rejections(con, ids[k], rejected)
        results.append(FileResult(file=file.name, batch_id=ids[k], status=status, rows_read=rows_read,
                                  loaded=counts.loaded, unchanged=counts.unchanged, revised=counts.revised,
                                  rows_rejected=rejected_row_count(rejected), rejections=rejected, notes=notes,
                                  extra=extra))
        file.release()
    finished = pl.DataFrame([(r.batch_id, r.status, r.rows_read, r.loaded, r.unchanged, r.revised, r.rows_rejected,
                              "; ".join(r.notes) or None) for r in results],
                            schema={"id": pl.Int64, "status": pl.String, "rows_read": pl.Int64, "loaded": pl.Int64,
                                    "unchanged": pl.Int64, "revised": pl.Int64, "rejected": pl.Int64,
                                    "message": pl.String}, orient="row")
    con.register("_finished", finished.to_arrow())
    try:
        con.execute("UPDATE load_batch b SET finished_at = ?, status = f.status, rows_read = f.rows_read, "
                    "rows_loaded = f.loaded, rows_unchanged = f.unchanged, rows_revised = f.revised, "
                    "rows_rejected = f.rejected, message = f.message FROM _finished f WHERE b.id = f.id", [now()])
    finally:
        con.unregister("_finished")
    return results


def find_files(con: duckdb.DuckDBPyConnection, source: str, paths: Iterable[str | Path],
               **options: object) -> tuple[Context, list[SourceFile]]:
    """The importer's context and the files `paths` name (checked before anything is written)."""
    ctx, files, _ = _find_files(con, source, paths, **options)
    return ctx, files


def _find_files(con: duckdb.DuckDBPyConnection, source: str, paths: Iterable[str | Path],
                **options: object) -> tuple[Context, list[SourceFile], list[str]]:
    if source not in SOURCES:
        raise SpcError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    ctx = Context.from_store(con, **options)
    module = SOURCES[source]
    if hasattr(module, "check_context"):
        module.check_context(ctx)
    paths = list(paths)
    files = discover(paths, module.patterns(ctx))
    if not files:
        raise SpcError(f"{', '.join(map(str, paths))}: no files to import (looked for "
                       f"{' or '.join(module.patterns(ctx))}, also gzipped or in zip archives)")
    skipped: list[str] = []
    if hasattr(module, "select_files"):   # e.g. police.uk: other forces' files in an archive
        files, skipped = module.select_files(files, ctx)
    return ctx, files, skipped


def run_import(con: duckdb.DuckDBPyConnection, source: str, paths: Iterable[str | Path], *,
               load_good_rows: bool = False, on_file: Callable[[int, int, FileResult], None] | None = None,
               own_transaction: bool = True, on_start: Callable[[int], None] | None = None,
               **options: object) -> ImportReport:
    """Import every file under `paths` with the `source` importer, in one transaction.

    `options`: encoding, proportion_scale ('fraction' or 'percent'), area, group (see `Context`).
    `on_start(total)` is called once the files are found, `on_file(index, total, result)` after
    each file (for progress output).
    `own_transaction=False` runs inside the caller's transaction instead (e.g. a refresh that
    imports and recomputes results as one unit); the caller must have begun it.
    """
    ctx, files, skipped = _find_files(con, source, paths, **options)
    if on_start is not None:
        on_start(len(files))
    module = SOURCES[source]
    results: list[FileResult] = []
    seen = pl.DataFrame(schema={"indicator_id": pl.String, "area_code": pl.String, "period_start": pl.Date,
                                "_from": pl.String})
    with transaction(con) if own_transaction else nullcontext(con):
        if hasattr(module, "parse_many"):   # police.uk: a month of every force's files at a time
            keys: dict[tuple, str] = {}
            for group in module.group_files(files):
                for result in _import_group(con, module, source, group, ctx, keys, load_good_rows):
                    results.append(result)
                    if on_file is not None:
                        on_file(len(results) - 1, len(files), result)
        else:
            for index, file in enumerate(files):
                result, seen = _import_file(con, module, source, file, ctx, seen, load_good_rows)
                file.release()
                results.append(result)
                if on_file is not None:
                    on_file(index, len(files), result)
    return ImportReport(source=source, files=results, skipped=skipped)


__all__ = ["SOURCES", "FileResult", "ImportReport", "find_files", "run_import"]
