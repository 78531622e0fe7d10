"""Finding the files to import and reading them as text tables.

An import names files, folders (searched recursively) or zip archives. Members may be plain or
gzipped. Every file is read as a table of strings with its 1-based line numbers (header = line
1), so validation can name the exact line, column and value of each problem. Problems with a
whole file (empty, binary, wrong encoding, ragged or truncated lines) raise `FileRejected`.
"""

from __future__ import annotations

import csv
import fnmatch
import gzip
import hashlib
import io
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from spc.errors import SpcError

#: Magic numbers of formats that are not CSV text, to name them in the error.
_MAGIC = {
    b"PAR1": "a Parquet file",
    b"PK\x03\x04": "a zip archive or an Excel workbook",
    b"%PDF": "a PDF",
    b"\x89PNG": "a PNG image",
    b"\xd0\xcf\x11\xe0": "an old Excel/Office file",
    b"SQLite format 3": "an SQLite database",
}
_BOM = b"\xef\xbb\xbf"


class FileRejected(Exception):
    """A problem with a whole file: nothing in it can be loaded.

    Carries what `rejected_row` needs (line, column, value, reason).
    """

    def __init__(self, reason: str, *, line: int | None = None, column: str | None = None,
                 value: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.column = column
        self.value = value


@dataclass
class SourceFile:
    """One file to import: a display name and a way to get its (decompressed) bytes."""

    name: str
    opener: Callable[[], bytes] = field(repr=False)
    _data: bytes | None = field(default=None, repr=False)
    _sha256: str | None = field(default=None, repr=False)
    explicit: bool = False            # named on the command line (not found in a folder or archive)
    path: Path | None = None          # a plain (not gzipped) file on disk, which readers may scan directly

    @property
    def basename(self) -> str:
        """The file's own name without folders, archive or `.gz`."""
        base = self.name.replace("!", "/").rsplit("/", 1)[-1]
        return base[:-3] if base.lower().endswith(".gz") else base

    @property
    def folder(self) -> str | None:
        """The name of the folder holding the file (in a zip archive: the member's folder), if any."""
        parts = self.name.replace("!", "/").rsplit("/", 2)
        return parts[-2] if len(parts) == 3 and parts[-2] else None

    def read(self) -> bytes:
        """The file's bytes, gunzipped when gzipped (read once, then kept)."""
        if self._data is None:
            raw = self.opener()
            if raw[:2] == b"\x1f\x8b":
                try:
                    raw = gzip.decompress(raw)
                except (OSError, EOFError) as exc:
                    raise FileRejected(f"gzip data is damaged or truncated ({exc})") from exc
            self._data = raw
        return self._data

    def release(self) -> None:
        """Drop the cached bytes (imports of many files keep one in memory at a time)."""
        self._data = None

    def sha256(self) -> str:
        """Hash of the (decompressed) content, stored with the load batch (computed once)."""
        if self._sha256 is None:
            self._sha256 = hashlib.sha256(self.read()).hexdigest()
        return self._sha256


def _zip_members(path: Path, patterns: tuple[str, ...]) -> list[SourceFile]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(n for n in archive.namelist() if not n.endswith("/"))
    except zipfile.BadZipFile as exc:
        raise SpcError(f"{path}: not a readable zip archive ({exc})") from exc

    def opener(member: str) -> Callable[[], bytes]:
        def read() -> bytes:
            with zipfile.ZipFile(path) as archive:
                return archive.read(member)
        return read

    return [SourceFile(f"{path}!{n}", opener(n)) for n in names
            if _matches(n.rsplit("/", 1)[-1], patterns)]


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    lower = name.lower()
    return any(fnmatch.fnmatch(lower, p) or fnmatch.fnmatch(lower, p + ".gz") for p in patterns)


def _plain(path: Path) -> Path | None:
    return None if path.suffix.lower() == ".gz" else path


def discover(paths: Iterable[str | Path], patterns: tuple[str, ...]) -> list[SourceFile]:
    """The files to import from `paths`, in a stable order.

    A file named explicitly is always taken (a wrong format is reported by the importer); in
    folders and zip archives only names matching `patterns` (fnmatch, lower case; `.gz` also
    accepted) are taken. A missing path is an error before anything is read.
    """
    found: list[SourceFile] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise SpcError(f"{path}: no such file or folder")
        if path.is_dir():
            members = sorted(p for p in path.rglob("*") if p.is_file())
            for member in members:
                if member.suffix.lower() == ".zip":
                    found += _zip_members(member, patterns)
                elif _matches(member.name, patterns):
                    found.append(SourceFile(str(member), member.read_bytes, path=_plain(member)))
        elif path.suffix.lower() == ".zip":
            found += _zip_members(path, patterns)
        else:
            found.append(SourceFile(str(path), path.read_bytes, explicit=True, path=_plain(path)))
    return found


def _is_utf8(encoding: str) -> bool:
    return encoding.replace("-", "").replace("_", "").lower() == "utf8"


def decode(data: bytes, encoding: str = "utf-8", check_text: bool = True) -> tuple[bytes, list[str]]:
    """Check a file is text in `encoding` and return it as UTF-8 bytes, with notes.

    A UTF-8 byte-order mark (Excel's "CSV UTF-8") is accepted and removed, so the first header
    is not mangled. Anything else that is not valid text is rejected naming the line.
    `check_text=False` skips decoding a UTF-8 file whole (the caller's CSV reader checks it).
    """
    notes: list[str] = []
    if not data[:65536].strip() and not data.strip():
        raise FileRejected("empty file: no header line and no data", line=1)
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            raise FileRejected(f"not a CSV text file: it looks like {what}", line=1)
    if data.startswith(_BOM):
        data = data[len(_BOM):]
        notes.append("UTF-8 byte-order mark removed")
    if b"\x00" in data[:65536]:
        raise FileRejected("not a CSV text file: it contains NUL bytes (binary data or UTF-16)",
                           line=data[:data.index(b"\x00")].count(b"\n") + 1)
    if check_text is False and _is_utf8(encoding):
        return data, notes   # the CSV reader checks UTF-8 itself; `decode` runs again if it fails
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        byte = data[exc.start:exc.start + 1].hex().upper()
        hint = ""
        if encoding.replace("-", "").lower() == "utf8":
            hint = ("; it looks like Windows-1252 text: re-save the file as UTF-8 or pass "
                    "--encoding cp1252")
        raise FileRejected(f"not valid {encoding} text (byte 0x{byte}){hint}", line=line,
                           value=f"0x{byte}") from exc
    except LookupError as exc:
        raise SpcError(f"--encoding {encoding!r}: unknown encoding") from exc
    if encoding.replace("-", "").lower() != "utf8":
        data = text.encode("utf-8")
        notes.append(f"read as {encoding}")
    return data, notes


def _field_counts_problem(data: bytes, n_header: int) -> FileRejected | None:
    """Find the first line whose field count differs from the header's (slow path, errors only)."""
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    for number, row in enumerate(reader, start=1):
        if row and len(row) != n_header:
            return FileRejected(
                f"line has {len(row)} fields, the header has {n_header}",
                line=reader.line_num if reader.line_num else number, value=",".join(row)[:200])
    return None


def read_table(file: SourceFile, encoding: str = "utf-8",
               select: Callable[[list[str]], list[str]] | None = None
               ) -> tuple[pl.DataFrame, list[str], list[FileRejected]]:
    """Read a CSV file as strings with a `_line` column (line number in the file; header = 1).

    Returns the table, notes, and line problems: a last line cut short (the file ends without a
    newline and its last line has fewer fields than the header, so its last value may be cut
    too) is left out of the table and returned as a problem. Raises `FileRejected` for an empty
    or binary file, bad encoding, or a line with more fields than the header.

    `select(header) -> columns` reads only those columns (for large files). Lines with more
    fields than the header are then not detected (the extra fields of a line are not read): the
    caller's checks of the columns it reads must catch a shifted line.
    """
    raw = file.read()
    data, notes = decode(raw, encoding, check_text=False)
    first_line = data[:data.find(b"\n")] if b"\n" in data[:1 << 20] else data
    first_line = first_line.rstrip(b"\r")
    try:
        first_line.decode("utf-8")
    except UnicodeDecodeError:
        decode(raw, encoding)   # raises naming the line and byte
    n_header = len(next(csv.reader([first_line.decode("utf-8")])))
    problems: list[FileRejected] = []
    body = data.rstrip(b"\r\n")
    if not data.endswith(b"\n") and b"\n" in body:
        head, last_bytes = body.rsplit(b"\n", 1)
        try:
            last = last_bytes.rstrip(b"\r").decode("utf-8")
        except UnicodeDecodeError:
            decode(raw, encoding)   # raises naming the line and byte
            raise
        fields = next(csv.reader([last]), [])
        if len(fields) < n_header:
            problems.append(FileRejected(
                f"truncated last line: {len(fields)} of {n_header} fields and no line ending "
                "(the file was cut short; its last value may be cut too)",
                line=body.count(b"\n") + 1, value=last[:200]))
            data = head + b"\n"
    try:
        if select is None:
            frame = pl.read_csv(data, infer_schema=False, has_header=True, raise_if_empty=True)
        else:
            header = next(csv.reader([first_line.decode("utf-8")]))
            wanted = select(header)
            frame = pl.read_csv(data, has_header=True, raise_if_empty=True, columns=wanted, infer_schema=False)
    except pl.exceptions.NoDataError as exc:
        raise FileRejected("empty file: no header line and no data", line=1) from exc
    except pl.exceptions.ComputeError as exc:
        if _is_utf8(encoding):
            decode(raw, encoding)   # not UTF-8 text: raises naming the line and byte
        problem = _field_counts_problem(data, n_header)
        if problem is not None:
            raise problem from exc
        raise FileRejected(f"not a readable CSV file ({str(exc).splitlines()[0]})") from exc
    frame = frame.with_columns(pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias("_line"))
    # Short lines in the middle of a file come back with nulls; the importers' required-column
    # checks reject them line by line.
    return frame, notes, problems
