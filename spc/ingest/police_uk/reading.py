"""Reading police.uk files: the header probe, the columns needed, scanning or reading each file, its hash."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from spc.ingest.base import Context
from spc.ingest.files import FileRejected, SourceFile, read_table
from spc.ingest.validate import find_columns
from spc.ingest.police_uk.selection import OUTCOME_COLUMNS, STREET_COLUMNS, _force_of, name_parts


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


#: The polars engine counting a month's rows ("streaming" bounds memory by the chunk, not the month).
ENGINE = os.environ.get("SPC_POLARS_ENGINE", "auto")


#: Files checked and hashed at once (in a month of the national archive: every force's file).
READ_THREADS = max(1, min(4, os.cpu_count() or 1))
