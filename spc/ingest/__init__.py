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
    REJECTION_COLUMNS,
    WriteCounts,
    finish_batch,
    record_rejections,
    start_batch,
    write_observations,
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
    if good is not None and (rejected.is_empty() or load_good_rows):
        counts = write_observations(con, good, batch)
        seen = pl.concat([seen, good.select(_KEY).with_columns(pl.lit(file.name).alias("_from"))])
        status = "partial" if not rejected.is_empty() else (
            "unchanged" if counts.loaded == counts.revised == 0 and counts.unchanged else "loaded")
    else:
        status = "rejected"
        if good is not None:
            notes = [*notes, f"nothing loaded: {good.height} good rows held back because the file has errors "
                             "(--load-good-rows loads them)"]
    rejected = _attach_raw(rejected, file, ctx.encoding)
    record_rejections(con, batch, rejected)
    n_rejected = rejected_row_count(rejected)
    finish_batch(con, batch, status=status, rows_read=rows_read, counts=counts, rows_rejected=n_rejected,
                 message="; ".join(notes) or None)
    result = FileResult(file=file.name, batch_id=batch, status=status, rows_read=rows_read, loaded=counts.loaded,
                        unchanged=counts.unchanged, revised=counts.revised, rows_rejected=n_rejected,
                        rejections=rejected, notes=notes, extra=extra)
    return result, seen


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
        for index, file in enumerate(files):
            result, seen = _import_file(con, module, source, file, ctx, seen, load_good_rows)
            file.release()
            results.append(result)
            if on_file is not None:
                on_file(index, len(files), result)
    return ImportReport(source=source, files=results, skipped=skipped)


__all__ = ["SOURCES", "FileResult", "ImportReport", "find_files", "run_import"]
