"""`spc import SOURCE PATH...`: load published files into the store (see `spc.ingest`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from spc.config import db_path
from spc.errors import SpcError
from spc.ingest import SOURCES, FileResult, ImportReport, run_import
from spc.ingest.calls_999 import COLUMNS as CALLS_COLUMNS
from spc.store import connect

_PARAGRAPHS = [
    "Import published files: SOURCE is police-uk, calls-999, reoffending, fire or tidy.",
    "PATH may be a file (CSV or gzipped CSV; tidy also takes Parquet and Excel), a folder (searched recursively, "
    "e.g. a police.uk month folder or a folder of months) or a zip archive.",
    "Every file is validated (columns, types, dates, ranges, numerator <= denominator, known indicator and area "
    "codes, duplicate keys, period grain) and every problem is kept in the rejected_row table with its file, line, "
    "column, value and reason. A file with any problem loads nothing unless --load-good-rows is given. The whole "
    "import is one transaction: if it is interrupted, the store is as it was. Exit code 1 when anything was rejected.",
    "police-uk: monthly counts of ASB and each crime type, force-wide and per local area (community safety "
    "partnership area, district) of the force; PATH may be one force's files, a month folder, the police.uk archive "
    "layout (YYYY-MM/ folders holding every force's YYYY-MM-<force>-street.csv and -outcomes.csv) or the archive "
    "zip. The force comes from the file name, the district from the row's LSOA code; No Location rows and rows "
    "outside the force's areas count force-wide only and are reported. Files of forces the store does not hold "
    "are skipped and listed (a file named on its own is refused): make a store for them with "
    "`spc db init --force NAME` or `--force all`. Outcomes files give force-wide outcome counts.",
    "calls-999: headers match ignoring case, spaces and punctuation; accepted: " + "; ".join(
        f"{names[0]} (or {', '.join(names[1:])})" for names in CALLS_COLUMNS.values()) + ".",
    "reoffending: geography comes from the file. MoJ's long file has no area column: it is the England and Wales "
    "series and is stored under the national area (England and Wales), never under the force; --area naming "
    "another area is refused for it. A file with an area column (MoJ's PCC-area tables) is stored row by row "
    "under its areas; --area then loads only that area's rows. "
    "fire: stored under the force unless the file has an area column or --area is given (a store of many forces "
    "needs --area). calls-999 in a store of many forces: a file with a force column is stored under each row's "
    "force; one without needs --area. "
    "tidy: indicator, area, period, value (or numerator, denominator).",
]
_HELP = "\n\n".join(_PARAGRAPHS)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Database file (default: $SPC_DB, else indicators.duckdb).", show_default=False),
]


def _short(name: str) -> str:
    """A file's name for the table: archive member or file name, without long folders."""
    if "!" in name:
        archive, member = name.split("!", 1)
        return f"{Path(archive).name}!{member}"
    return Path(name).name


#: Above this many files the table has a row per folder (a month of the police.uk archive), and
#: a row of its own for each file not loaded cleanly.
MANY_FILES = 60


def _table_rows(files: list[FileResult]) -> list[tuple[str, str, list[FileResult]]]:
    """(name, status, files) per table row: each file, or each folder when there are many."""
    if len(files) <= MANY_FILES:
        return [(_short(f.file), f.status, [f]) for f in files]
    rows: list[tuple[str, str, list[FileResult]]] = []
    folders: dict[str, list[FileResult]] = {}
    for f in files:
        folders.setdefault(str(Path(f.file.replace("!", "/")).parent.name) + "/", []).append(f)
    for folder, members in folders.items():
        counts: dict[str, int] = {}
        for f in members:
            counts[f.status] = counts.get(f.status, 0) + 1
        rows.append((f"{folder} ({len(members)} files)", ", ".join(f"{n} {s}" for s, n in counts.items()), members))
        rows += [(_short(f.file), f.status, [f]) for f in members if f.status in ("rejected", "partial")]
    return rows


def _print_report(console: Console, report: ImportReport, show_rejections: int) -> None:
    extra_keys = sorted({k for f in report.files for k in f.extra})
    table = Table(title=f"spc import {report.source}",
                  caption="rows read / rejected: lines of the file; loaded / unchanged / revised: observations "
                          "(indicator x area x period)")
    for name in ("file", "status", "rows read", "loaded", "unchanged", "revised", "rejected", *extra_keys):
        table.add_column(name, justify="left" if name in ("file", "status") else "right")
    for name, status, files in _table_rows(report.files):
        style = {"rejected": "red", "partial": "yellow"}.get(status)
        table.add_row(name, status, *[f"{sum(getattr(f, a) for f in files):,}"
                                      for a in ("rows_read", "loaded", "unchanged", "revised", "rows_rejected")],
                      *[f"{sum(f.extra.get(k, 0) for f in files):,}" for k in extra_keys], style=style)
    if len(report.files) > 1:
        table.add_row("total", "", *[f"{sum(getattr(f, a) for f in report.files):,}"
                                     for a in ("rows_read", "loaded", "unchanged", "revised", "rows_rejected")],
                      *[f"{sum(f.extra.get(k, 0) for f in report.files):,}" for k in extra_keys], style="bold")
    console.print(table)
    for note in report.skipped:
        console.print(f"[yellow]{note}[/yellow]", highlight=False)
    many = len(report.files) > 5
    for f in report.files:
        for note in f.notes if not many or f.rows_rejected else []:
            console.print(f"{_short(f.file)}: {note}", highlight=False)
    if many:
        console.print("each file's notes are kept in load_batch.message", highlight=False)
    shown = 0
    for f in report.files:
        if f.rejections.is_empty() or shown >= show_rejections:
            continue
        for row in f.rejections.head(max(0, show_rejections - shown)).iter_rows(named=True):
            where = f"line {row['line']}" if row["line"] is not None else "file"
            column = f", column {row['column_name']!r}" if row["column_name"] else ""
            value = f", value {row['value']!r}" if row["value"] is not None else ""
            console.print(f"[red]rejected[/red] {_short(f.file)} {where}{column}{value}: {row['reason']}",
                          highlight=False)
            shown += 1
    total = report.rows_rejected
    if total:
        files = sum(1 for f in report.files if f.rows_rejected)
        batches = [str(f.batch_id) for f in report.files if f.rows_rejected]
        console.print(f"[bold red]{total:,} rows rejected in {files} file(s)[/bold red]; every problem is kept in "
                      f"the rejected_row table (load_batch_id {', '.join(batches[:10])}"
                      f"{', ...' if len(batches) > 10 else ''})", highlight=False)


def import_command(
    source: Annotated[str, typer.Argument(help=f"One of: {', '.join(SOURCES)}.", show_default=False)],
    paths: Annotated[list[Path], typer.Argument(help="Files, folders or zip archives.", show_default=False)],
    db: DbOption = None,
    load_good_rows: Annotated[bool, typer.Option(
        "--load-good-rows", help="Load the good rows of a file that has rejected rows (default: load nothing from it).")]
    = False,
    encoding: Annotated[str, typer.Option(help="Text encoding of CSV files (e.g. cp1252 for Windows files).")]
    = "utf-8",
    area: Annotated[str | None, typer.Option(
        "--area", help="fire, calls-999: area code for a file without an area column (needed in a store of many "
        "forces). reoffending: load only this area's rows of a file with an area column (a national file, with none, "
        "is stored under the national area).")] = None,
    group: Annotated[str, typer.Option(help="reoffending: offender group (All, Adult or Juvenile).")] = "All",
    proportion_scale: Annotated[str, typer.Option(
        "--proportion-scale", help="tidy: proportions in the file are 'fraction' (0-1) or 'percent' (0-100).")]
    = "fraction",
    show_rejections: Annotated[int, typer.Option(help="How many rejected rows to list.")] = 10,
    recompute: Annotated[bool, typer.Option(
        "--recompute/--no-recompute", help="Recompute the charts of the indicators that changed, so the app shows "
        "the new data at once (signal history is updated by `spc refresh`).")] = True,
) -> None:
    """Import published files (see `spc import --help`)."""
    if source not in SOURCES:
        raise SpcError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    if proportion_scale not in ("fraction", "percent"):
        raise SpcError(f"--proportion-scale must be fraction or percent, got {proportion_scale!r}")
    console = Console()
    if not console.is_terminal:  # logs and pipes: do not wrap lines at 80 columns
        console = Console(width=200)
    con = connect(db_path(db), wait_seconds=10)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=console, transient=True, disable=not console.is_terminal)
    task = progress.add_task(f"importing {source}", total=None)

    def on_file(index: int, total: int, result: FileResult) -> None:
        progress.update(task, total=total, completed=index + 1, description=_short(result.file))
        if not console.is_terminal:  # scripts and logs get one line per file as it is done
            print(f"[{index + 1}/{total}] {result.file}: {result.status}, {result.rows_read} rows read, "
                  f"{result.rows_rejected} rejected", flush=True)

    try:
        with progress:
            report = run_import(con, source, paths, load_good_rows=load_good_rows, on_file=on_file,
                                on_start=lambda total: progress.update(task, total=total),
                                encoding=encoding, area=area, group=group, proportion_scale=proportion_scale)
        batches = [f.batch_id for f in report.files if f.loaded or f.revised]
        if recompute and batches:
            from spc.results import compute_results   # the engine, only when there is something to chart

            changed = [r[0] for r in con.execute(
                f"SELECT DISTINCT indicator_id FROM observation WHERE load_batch_id IN "
                f"({', '.join('?' for _ in batches)})", batches).fetchall()]
            recomputed = compute_results(con, changed, trigger="import")
            console.print(f"results: {recomputed} series of {len(changed)} indicator(s) recomputed", highlight=False)
    finally:
        con.close()
    _print_report(console, report, show_rejections)
    if report.rows_rejected:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add `spc import` to the `spc` command."""
    app.command("import", help=_HELP)(import_command)
