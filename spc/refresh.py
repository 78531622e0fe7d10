"""The scheduled refresh: import new files, recompute, record signals, write a digest.

`run_refresh` is the pipeline behind `spc refresh`. It is built around two facts about DuckDB:
one process may write at a time, and while it writes no other process can even read. So:

1. An exclusive `flock` on ``<db>.refresh.lock`` keeps refreshes apart (a second one waits up
   to ``wait_seconds`` or stops with a clear message). The lock file, not the database, is
   locked, so the app is never blocked by a refresh that is only reading or computing.
2. A short write records the run as ``running`` in `refresh_run` (and marks runs that died
   without finishing as failed).
3. The slow part works on a private in-memory copy: a short read-only connection copies the
   store into memory and closes; new files are parsed and imported into the copy, the engine
   runs over it (`spc.results.compute`, then the stored views: narratives, trends,
   comparisons), signals are reconciled and the digest is built. The
   app's readers are never held up by any of this.
4. One short read-write transaction then writes everything: the same imports, the results of
   the series that changed, the signal changes and the finished `refresh_run` row. If the store
   changed since the copy was taken (someone imported, annotated or changed a setting), the
   transaction is abandoned and steps 3 and 4 are repeated on a fresh copy, so nothing an
   analyst wrote is overwritten by results computed without it.

A crash or SIGKILL at any point leaves the store as it was before step 4's commit (DuckDB's
write-ahead log replays only committed transactions); the next run marks the dead run failed.
Everything is idempotent: files already imported (by SHA-256) are skipped, results identical
to the stored ones (views included, so a new version's wording reaches the store on its first
refresh) are not rewritten, and unchanged signals are not touched, so a second run
with nothing new changes nothing but its own `refresh_run` row.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import json
import os
import shlex
import subprocess
import time
import tomllib
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from spc import signals as sig
from spc.digest import build_digest, overdue_series, render_markdown
from spc.errors import SpcError
from spc.store import SCHEMA_VERSION, connect, migrate, schema_version, transaction
from spc.store.observations import now
from spc.store.queries import frame

#: Exit codes of `spc refresh` (cron wrappers alert on 1 and 3).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NEW_CONCERN = 0, 1, 2, 3
#: How many times a refresh recomputes when the store changed under it before giving up.
ATTEMPTS = 3


# --------------------------------------------------------------------------------------------
# sources.toml


@dataclass(frozen=True)
class Source:
    """One `[[source]]` of sources.toml: an importer reading files from a folder."""

    name: str
    importer: str
    path: Path                      # a folder (searched recursively) or a single file
    patterns: tuple[str, ...]       # file name globs
    indicators: tuple[str, ...] = ()  # the indicators it feeds (empty: any)
    options: dict[str, Any] = field(default_factory=dict)  # importer options (area, encoding, ...)

    def files(self) -> list[Path]:
        """The files the source offers now, in name order."""
        if self.path.is_file():
            return [self.path]
        if not self.path.is_dir():
            return []
        found = {p for pattern in self.patterns for p in self.path.rglob(pattern) if p.is_file()}
        return sorted(found)


@dataclass(frozen=True)
class SourcesConfig:
    """sources.toml: the sources and how late each indicator's data may be."""

    path: Path
    sources: list[Source]
    default_lag_periods: int = 1
    lag_periods: dict[str, int] = field(default_factory=dict)


def read_sources(path: str | Path) -> SourcesConfig:
    """Read and check sources.toml; relative paths are relative to the file's folder."""
    path = Path(path)
    if not path.exists():
        raise SpcError(f"{path}: no such sources file (see data/sources.toml for an example)")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpcError(f"{path}: not valid TOML ({exc})") from exc
    sources: list[Source] = []
    names: set[str] = set()
    for i, entry in enumerate(raw.get("source", []), start=1):
        where = f"{path}: [[source]] number {i}"
        if not isinstance(entry, dict):
            raise SpcError(f"{where}: expected a table")
        for key in ("name", "importer", "path"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise SpcError(f"{where}: `{key}` is required (a non-empty string)")
        from spc.ingest import SOURCES

        if entry["importer"] not in SOURCES:
            raise SpcError(f"{where} ({entry['name']}): unknown importer {entry['importer']!r}; expected one of "
                           f"{', '.join(SOURCES)}")
        if entry["name"] in names:
            raise SpcError(f"{where}: name {entry['name']!r} is used twice")
        names.add(entry["name"])
        patterns = entry.get("pattern", "*")
        patterns = (patterns,) if isinstance(patterns, str) else tuple(patterns)
        indicators = entry.get("indicators", [])
        if not isinstance(indicators, list) or not all(isinstance(x, str) for x in indicators):
            raise SpcError(f"{where} ({entry['name']}): `indicators` must be a list of indicator ids")
        options = entry.get("options", {})
        if not isinstance(options, dict):
            raise SpcError(f"{where} ({entry['name']}): `options` must be a table")
        folder = Path(entry["path"]).expanduser()
        sources.append(Source(
            name=entry["name"], importer=entry["importer"],
            path=folder if folder.is_absolute() else path.parent / folder,
            patterns=patterns, indicators=tuple(indicators), options=options))
    expect = raw.get("expect", {})
    lag = expect.get("lag_periods", {})
    if not isinstance(lag, dict) or not all(isinstance(v, int) and v >= 0 for v in lag.values()):
        raise SpcError(f"{path}: [expect.lag_periods] must map indicator ids to whole numbers >= 0")
    default = expect.get("default_lag_periods", 1)
    if not isinstance(default, int) or default < 0:
        raise SpcError(f"{path}: [expect] default_lag_periods must be a whole number >= 0")
    return SourcesConfig(path=path, sources=sources, default_lag_periods=default, lag_periods=lag)


# --------------------------------------------------------------------------------------------
# locking and logging


class RefreshBusy(SpcError):
    """Another refresh holds the lock."""


def lock_path(db: Path) -> Path:
    """The lock file beside the database."""
    return db.with_name(db.name + ".refresh.lock")


@contextmanager
def refresh_lock(db: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the exclusive refresh lock on `db`, waiting up to `wait_seconds` for it.

    An flock is released by the kernel when its process dies, so a killed refresh never
    leaves a stale lock behind.
    """
    path = lock_path(db)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o664)
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown process"
                    raise RefreshBusy(
                        f"{db}: another refresh is running ({holder}); not starting a second one "
                        f"(use --wait SECONDS to wait for it)") from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {now():%Y-%m-%d %H:%M:%S} UTC".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


class JsonLog:
    """Structured log: one JSON object per line (`ts`, `level`, `event`, details), appended."""

    def __init__(self, path: Path | None, run: dict[str, Any] | None = None) -> None:
        self.path = path
        self.context = run if run is not None else {}
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, event: str, level: str = "info", **details: Any) -> None:
        if self.path is None:
            return
        record = {"ts": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), "level": level,
                  "event": event, **self.context, **details}
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, default=str) + "\n")


# --------------------------------------------------------------------------------------------
# the pipeline


@dataclass
class RefreshOutcome:
    """What a refresh did; `exit_code` follows the EXIT_* constants."""

    run_id: int | None
    status: str                     # success, failed, dry-run
    exit_code: int
    digest: dict[str, Any]
    markdown: str
    digest_paths: list[Path] = field(default_factory=list)
    error: str | None = None


@dataclass
class _Work:
    """The in-memory part of a refresh: what will be written."""

    imports: list[dict[str, Any]]            # one per file: source, file, status, counts
    errors: list[str]                        # sources that could not be imported
    since_batch: int                         # load batches above this id are this run's imports
    results: Any                             # spc.results.Results of the changed series
    series_computed: int
    series_reworded: int                     # of the changed series, those whose figures did not change
    changes: pl.DataFrame                    # spc.signals.reconcile output
    fingerprint: tuple[Any, ...]
    mem: duckdb.DuckDBPyConnection


def _fingerprint(con: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    """A cheap summary of everything a refresh reads, to notice changes made since a copy."""
    return con.execute("""
        SELECT (SELECT count(*) FROM load_batch), (SELECT max(id) FROM load_batch),
               (SELECT count(*) FROM observation), (SELECT max(loaded_at) FROM observation),
               (SELECT count(*) FROM annotation), (SELECT max(id) FROM annotation),
               (SELECT count(deleted_at) FROM annotation), (SELECT max(deleted_at) FROM annotation),
               (SELECT count(*) FROM series_setting), (SELECT max(updated_at) FROM series_setting),
               (SELECT count(*) FROM signal), (SELECT max(updated_at) FROM signal),
               (SELECT count(*) FROM result_summary), (SELECT max(computed_at) FROM result_summary),
               (SELECT count(*) FROM indicator), (SELECT count(*) FROM area)
    """).fetchall()[0]


def snapshot(db: Path, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    """A private in-memory copy of the store, taken through a short read-only attach."""
    # The read-only open retries while a writer holds the file (the app saving an annotation).
    connect(db, read_only=True, wait_seconds=wait_seconds).close()
    mem = duckdb.connect(":memory:")
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            mem.execute(f"ATTACH '{_sql_path(db)}' AS src (READ_ONLY)")
            break
        except duckdb.IOException as exc:
            if time.monotonic() >= deadline:
                raise SpcError(f"{db}: the database is in use by another process ({exc})") from exc
            time.sleep(0.1)
    try:
        mem.execute("COPY FROM DATABASE src TO memory")
    finally:
        mem.execute("DETACH src")
    return mem


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _new_files(mem: duckdb.DuckDBPyConnection, config: SourcesConfig,
               only: Sequence[str] | None) -> tuple[list[tuple[Source, list[Path]]], list[str]]:
    """Per source, the files (or zip archives) holding anything the store has not loaded yet.

    Files are found with the importer's own discovery and compared by the SHA-256 it stores
    with each load. A file is "seen" once any load recorded its hash, whatever the outcome: a
    rejected file is reported once, not every night; fixing it changes its hash. Returns the
    work and the errors of sources that could not be read (the other sources still run).
    """
    from spc import ingest

    seen = {r[0] for r in mem.execute(
        "SELECT DISTINCT file_sha256 FROM load_batch WHERE file_sha256 IS NOT NULL").fetchall()}
    work: list[tuple[Source, list[Path]]] = []
    errors: list[str] = []
    for source in config.sources:
        if only and source.indicators and not set(only) & set(source.indicators):
            continue
        candidates = source.files()
        if not candidates:
            continue
        try:
            _ctx, files = ingest.find_files(mem, source.importer, candidates, **_import_options(source))
        except SpcError as exc:
            errors.append(f"source {source.name}: {exc}")
            continue
        fresh: list[Path] = []
        for file in files:
            try:
                sha = file.sha256()
            except Exception:  # unreadable: let the importer reject it with its reason
                sha = None
            file.release()
            if sha is None or sha not in seen:
                if sha is not None:
                    seen.add(sha)  # the same content offered twice is imported once
                # a zip member's name is "archive!member": the archive is what the importer takes
                outer = Path(file.name.split("!", 1)[0])
                if outer not in fresh:
                    fresh.append(outer)
        if fresh:
            work.append((source, fresh))
    return work, errors


def _import_options(source: Source) -> dict[str, Any]:
    return {k: v for k, v in source.options.items() if k != "load_good_rows"}


def _changed_series(mem: duckdb.DuckDBPyConnection, results: Any) -> pl.DataFrame:
    """The (indicator_id, area_code) series whose computed results, or stored views (when
    `results.views` holds them), differ from the stored ones; `words_only` is True where only
    the views differ (the same figures, worded or tested differently by a new version)."""
    keys = results.series.select("indicator_id", "area_code")
    changed = [keys.head(0).with_columns(words_only=pl.lit(False))]
    skip = {"status", "computed_at", "refresh_run_id"}
    for table, new in (("result_point", results.points), ("result_phase", results.phases),
                       ("result_summary", results.summary), ("result_view", results.views)):
        if new is None or new.is_empty():
            continue
        stored = frame(mem, f"SELECT * FROM {table}").join(keys, on=["indicator_id", "area_code"], how="semi")
        common = [c for c in new.columns if c in stored.columns and c not in skip]
        new_c = new.select(common)
        stored_c = stored.select([pl.col(c).cast(new.schema[c]) for c in common])
        # list columns (warnings) compare as text: joins need plain keys
        lists = [c for c in common if isinstance(new_c.schema[c], pl.List)]
        new_c = new_c.with_columns([pl.col(c).list.join("\n") for c in lists])
        stored_c = stored_c.with_columns([pl.col(c).list.join("\n") for c in lists])
        for a, b in ((new_c, stored_c), (stored_c, new_c)):
            changed.append(a.join(b, on=common, how="anti", nulls_equal=True)
                           .select("indicator_id", "area_code", words_only=pl.lit(table == "result_view")))
    return (pl.concat(changed).group_by("indicator_id", "area_code").agg(pl.col("words_only").all())
            .sort("indicator_id", "area_code"))


def _subset(results: Any, keys: pl.DataFrame) -> Any:
    """`results` restricted to the series in `keys`."""
    from spc.results import Results

    def pick(df: pl.DataFrame) -> pl.DataFrame:
        return df if df.is_empty() else df.join(keys, on=["indicator_id", "area_code"], how="semi")

    return Results(series=keys, points=pick(results.points), phases=pick(results.phases),
                   summary=pick(results.summary), computed_at=results.computed_at,
                   views=None if results.views is None else pick(results.views))


def _prepare(db: Path, config: SourcesConfig, only: Sequence[str] | None, wait_seconds: float,
             log: JsonLog) -> _Work:
    """Step 3: copy the store, import new files into the copy, compute, reconcile signals."""
    from spc import ingest
    from spc.results import build_views, compute

    mem = snapshot(db, wait_seconds)
    fingerprint = _fingerprint(mem)
    since = int(mem.execute("SELECT coalesce(max(id), 0) FROM load_batch").fetchall()[0][0])
    imports: list[dict[str, Any]] = []
    work, errors = _new_files(mem, config, only)
    for source, paths in work:
        try:
            report = ingest.run_import(mem, source.importer, paths,
                                       load_good_rows=bool(source.options.get("load_good_rows", False)),
                                       **_import_options(source))
        except SpcError as exc:
            errors.append(f"source {source.name}: {exc}")
            log("import_failed", level="error", source=source.name, error=str(exc))
            continue
        for f in report.files:
            entry = {"source": source.name, "importer": source.importer, "file": f.file, "status": f.status,
                     "rows_read": f.rows_read, "loaded": f.loaded, "revised": f.revised,
                     "unchanged": f.unchanged, "rejected": f.rows_rejected}
            imports.append(entry)
            log("imported", **entry)
    touched = {r[0] for r in mem.execute(
        "SELECT DISTINCT indicator_id FROM observation WHERE load_batch_id > ?", [since]).fetchall()}
    scope = None if not only else sorted(set(only) | touched)
    results = compute(mem, scope)
    # the stored views too: a new version of spc may word a narrative or judge a trend
    # differently from the same engine results, and its first refresh must put that in the store
    results = dataclasses.replace(results, views=build_views(mem, results))
    changed = _changed_series(mem, results)
    stored = sig.load_signals(mem)
    patterns = sig.find_patterns(results.points)
    changes = sig.reconcile(stored, patterns, results.series)
    log("computed", series=results.series.height, series_changed=changed.height,
        signal_changes=changes.height)
    return _Work(imports=imports, errors=errors, since_batch=since,
                 results=_subset(results, changed.select("indicator_id", "area_code")),
                 series_computed=results.series.height, series_reworded=int(changed["words_only"].sum()),
                 changes=changes, fingerprint=fingerprint, mem=mem)


def _replay_imports(mem: duckdb.DuckDBPyConnection, con: duckdb.DuckDBPyConnection, since: int) -> None:
    """Write the copy's new load batches, observations, revisions and rejected rows to the store.

    The copy's batch ids are renumbered from the store's own sequence (inside the caller's
    transaction); everything else is the importer's work, copied as it is.
    """
    batches = frame(mem, "SELECT * FROM load_batch WHERE id > ? ORDER BY id", [since])
    if batches.is_empty():
        return
    columns = [c for c in batches.columns if c != "id"]
    mapping: list[tuple[int, int]] = []
    for row in batches.iter_rows(named=True):  # one row per imported file
        new_id = con.execute(
            f"INSERT INTO load_batch ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) RETURNING id",
            [row[c] for c in columns]).fetchall()[0][0]
        mapping.append((row["id"], int(new_id)))
    ids = pl.DataFrame(mapping, schema={"_old": pl.Int64, "_new": pl.Int64}, orient="row")

    def remap(df: pl.DataFrame, column: str) -> pl.DataFrame:
        return (df.join(ids, left_on=column, right_on="_old", how="left")
                .with_columns(pl.coalesce("_new", column).alias(column)).drop("_new"))

    obs = remap(frame(mem, "SELECT * FROM observation WHERE load_batch_id > ?", [since]), "load_batch_id")
    rev = remap(remap(frame(mem, "SELECT * FROM observation_revision WHERE superseded_by_batch > ?", [since]),
                      "superseded_by_batch"), "load_batch_id")
    rej = remap(frame(mem, "SELECT * EXCLUDE (id) FROM rejected_row WHERE load_batch_id > ? ORDER BY id",
                      [since]), "load_batch_id")
    for table, df, verb in (("observation", obs, "INSERT OR REPLACE INTO"),
                            ("observation_revision", rev, "INSERT INTO"), ("rejected_row", rej, "INSERT INTO")):
        if df.is_empty():
            continue
        con.register("_rows", df.to_arrow())
        try:
            names = ", ".join(f'"{c}"' for c in df.columns)
            con.execute(f"{verb} {table} ({names}) SELECT {names} FROM _rows")
        finally:
            with contextlib.suppress(duckdb.Error):  # an aborted transaction: keep the first error
                con.unregister("_rows")


class _StoreChanged(Exception):
    """The store changed between the copy and the write: compute again."""


def _begin_run(db: Path, wait_seconds: float, started_at: dt.datetime) -> int:
    """Migrate the store if needed, mark runs that died unfinished, record this run as running."""
    con = connect(db, wait_seconds=wait_seconds)
    try:
        if schema_version(con) < SCHEMA_VERSION:
            migrate(con)
        with transaction(con):
            # We hold the refresh lock, so any other 'running' row belongs to a dead process.
            con.execute("UPDATE refresh_run SET status = 'failed', finished_at = coalesce(finished_at, ?), "
                        "errors = coalesce(errors || '; ', '') || 'the process ended before finishing "
                        "(killed or crashed); nothing it computed was written' WHERE status = 'running'",
                        [started_at])
            return int(con.execute(
                "INSERT INTO refresh_run (started_at, status, trigger) VALUES (?, 'running', 'refresh') RETURNING id",
                [started_at]).fetchall()[0][0])
    finally:
        con.close()


def _fail_run(db: Path, run_id: int, error: str, wait_seconds: float, digest: dict[str, Any] | None) -> None:
    """Record a failed run (best effort: the store may be the thing that failed)."""
    try:
        con = connect(db, wait_seconds=wait_seconds)
    except SpcError:
        return
    try:
        with transaction(con):
            con.execute("UPDATE refresh_run SET status = 'failed', finished_at = ?, errors = ?, digest_json = ? "
                        "WHERE id = ?", [now(), error, json.dumps(digest) if digest else None, run_id])
    except duckdb.Error:
        pass
    finally:
        con.close()


def _commit(db: Path, work: _Work, run_id: int, digest: dict[str, Any], wait_seconds: float,
            log: JsonLog) -> None:
    """Step 4: everything in one short transaction, or nothing if the store changed meanwhile."""
    from spc.results import write_results

    con = connect(db, wait_seconds=wait_seconds)
    try:
        with transaction(con):
            if _fingerprint(con) != work.fingerprint:
                raise _StoreChanged
            log("writing")
            _replay_imports(work.mem, con, work.since_batch)
            if work.results.series.height:
                write_results(con, work.results, run_id)
            sig.apply(con, work.changes, run_id, now())
            pause = float(os.environ.get("SPC_REFRESH_TEST_PAUSE", "0") or 0)
            if pause > 0:  # tests only: hold the write open, to kill or race it
                log("test_pause", seconds=pause)
                time.sleep(pause)
            con.execute(
                "UPDATE refresh_run SET finished_at = ?, status = ?, files_imported = ?, rows_loaded = ?, "
                "rows_rejected = ?, series_computed = ?, new_signals = ?, errors = ?, digest_json = ? WHERE id = ?",
                [now(), digest["status"], digest["files_imported"], digest["rows_loaded"] + digest["rows_revised"],
                 digest["rows_rejected"], digest["series_changed"],
                 len(digest["new_concerns"]) + len(digest["new_improvements"]) + len(digest["new_neutral"]),
                 "; ".join(digest["errors"]) or None, json.dumps(digest), run_id])
    finally:
        con.close()


def write_digest(digest: dict[str, Any], markdown: str, folder: Path) -> list[Path]:
    """Write `refresh-<run>.md` and `.json` to `folder`; returns the two paths."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"refresh-{digest['run_id']}" if digest.get("run_id") is not None else \
        f"refresh-dry-run-{digest['started_at'].replace(':', '')}"
    md, js = folder / f"{stem}.md", folder / f"{stem}.json"
    md.write_text(markdown, encoding="utf-8")
    js.write_text(json.dumps(digest, indent=2, default=str) + "\n", encoding="utf-8")
    return [md, js]


def notify(command: str, markdown: str, env: dict[str, str], log: JsonLog, timeout: float = 120) -> str | None:
    """Pipe the Markdown digest to `command` (run by the shell); returns an error or None."""
    try:
        done = subprocess.run(command, shell=True, input=markdown.encode("utf-8"), capture_output=True,
                              timeout=timeout, env={**os.environ, **env})
    except (OSError, subprocess.TimeoutExpired) as exc:
        log("notify_failed", level="error", command=command, error=str(exc))
        return f"--notify-command {shlex.quote(command)}: {exc}"
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip()[-300:]
        log("notify_failed", level="error", command=command, returncode=done.returncode, stderr=err)
        return f"--notify-command {shlex.quote(command)} exited {done.returncode}: {err}"
    log("notified", command=command)
    return None


def run_refresh(db: str | Path, sources: str | Path, *, dry_run: bool = False, only: Sequence[str] | None = None,
                wait_seconds: float = 0.0, log_file: str | Path | None = None,
                digest_dir: str | Path | None = None, notify_command: str | None = None,
                today: dt.date | None = None) -> RefreshOutcome:
    """Run one refresh of `db` from the sources in `sources` (see the module docstring).

    `only`: indicator ids to recompute (plus any indicator a new file touched). `wait_seconds`:
    how long to wait for another refresh's lock and for the app's readers. `today` sets the date
    "expected data" is judged against (default: today, UTC). Raises `SpcError` for user
    mistakes found before anything starts; failures after that are recorded and returned.
    """
    db = Path(db)
    config = read_sources(sources)
    if not db.exists():
        raise SpcError(f"{db}: no such database; build it with `spc db init --db {db}`")
    if only:
        con = connect(db, read_only=True, wait_seconds=max(wait_seconds, 30))
        try:
            known = {r[0] for r in con.execute("SELECT id FROM indicator").fetchall()}
        finally:
            con.close()
        unknown = [i for i in only if i not in known]
        if unknown:
            raise SpcError(f"--only {unknown[0]!r}: no such indicator (see `spc db status`)", exit_code=EXIT_USAGE)
    today = today or dt.datetime.now(dt.UTC).date()
    digest_dir = Path(digest_dir) if digest_dir else db.parent / "digests"
    context: dict[str, Any] = {"db": str(db)}
    log = JsonLog(Path(log_file) if log_file else None, context)
    # The app's reads take milliseconds; waiting for them is never "the database is busy".
    io_wait = max(wait_seconds, 30.0)
    started_at = now()
    with refresh_lock(db, wait_seconds):
        run_id = None if dry_run else _begin_run(db, io_wait, started_at)
        context["run_id"] = run_id
        log("start", sources=str(config.path), dry_run=dry_run, only=list(only or []))
        digest: dict[str, Any] | None = None
        work: _Work | None = None
        try:
            for attempt in range(1, ATTEMPTS + 1):
                work = _prepare(db, config, only, io_wait, log)
                scope = sorted(set(only)) if only else None
                overdue = overdue_series(work.mem, today, default_lag=config.default_lag_periods,
                                         lag=config.lag_periods, indicator_ids=scope)
                digest = build_digest(
                    work.mem, run_id=run_id, started_at=started_at,
                    status="dry-run" if dry_run else ("success" if not work.errors else "success with errors"),
                    changes=work.changes, imports=work.imports, since_batch=work.since_batch,
                    series_computed=work.series_computed, series_changed=work.results.series.height,
                    series_reworded=work.series_reworded,
                    overdue=overdue, errors=work.errors, dry_run=dry_run,
                    # signals change only where results changed, so the changed series' points suffice
                    points=work.results.points)
                if dry_run:
                    break
                try:
                    _commit(db, work, run_id, digest, io_wait, log)
                    break
                except _StoreChanged:
                    log("store_changed", level="warning", attempt=attempt)
                    work.mem.close()
                    if attempt == ATTEMPTS:
                        raise SpcError(f"{db}: the store kept changing during the refresh "
                                       f"({ATTEMPTS} attempts); nothing was written") from None
        except Exception as exc:  # recorded, reported, and turned into exit code 1
            error = str(exc) if isinstance(exc, SpcError) else f"{type(exc).__name__}: {exc}"
            log("failed", level="error", error=error, traceback=traceback.format_exc(limit=8))
            failed = {"run_id": run_id, "started_at": started_at.isoformat(timespec="seconds"), "status": "failed",
                      "dry_run": dry_run, "files_imported": 0, "rows_loaded": 0, "rows_revised": 0,
                      "rows_rejected": 0, "series_computed": 0, "series_changed": 0, "series_reworded": 0,
                      "new_concerns": [],
                      "new_improvements": [], "new_neutral": [], "ended": [], "withdrawn": [], "continuing": 0,
                      "history_recorded": 0, "missing_data": [], "imports": [], "rejected_rows": [],
                      "errors": [error]}
            if run_id is not None:
                _fail_run(db, run_id, error, io_wait, failed)
            markdown = render_markdown(failed)
            paths = write_digest(failed, markdown, digest_dir)
            if notify_command:
                notify(notify_command, markdown, {"SPC_REFRESH_STATUS": "failed", "SPC_DIGEST_JSON": str(paths[1])},
                       log)
            return RefreshOutcome(run_id=run_id, status="failed", exit_code=EXIT_FAILED, digest=failed,
                                  markdown=markdown, digest_paths=paths, error=error)
        finally:
            if work is not None:
                work.mem.close()
    assert digest is not None and work is not None
    markdown = render_markdown(digest)
    paths = write_digest(digest, markdown, digest_dir)
    code = EXIT_FAILED if work.errors else (EXIT_NEW_CONCERN if digest["new_concerns"] else EXIT_OK)
    log("finish", status=digest["status"], exit_code=code, files_imported=digest["files_imported"],
        series_changed=digest["series_changed"], new_concerns=len(digest["new_concerns"]),
        new_improvements=len(digest["new_improvements"]), ended=len(digest["ended"]),
        withdrawn=len(digest["withdrawn"]), missing=len(digest["missing_data"]), digest=str(paths[0]))
    for item in digest["new_concerns"]:
        log("new_concern", level="warning", **item)
    if notify_command:
        error = notify(notify_command, markdown, {"SPC_REFRESH_STATUS": digest["status"],
                                                  "SPC_REFRESH_EXIT": str(code), "SPC_DIGEST_JSON": str(paths[1])},
                       log)
        if error:
            digest["errors"].append(error)
    return RefreshOutcome(run_id=run_id, status=digest["status"], exit_code=code, digest=digest,
                          markdown=markdown, digest_paths=paths)
