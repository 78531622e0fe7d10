"""Database access for the app: cached reads and the analyst's few writes.

Why it looks like this: the scheduled refresh (another process) writes to the same DuckDB file,
and DuckDB lets one process write at a time. So the app never keeps a connection open across
reruns. Each read opens a short-lived read-only connection (waiting up to 30 s for a refresh
to finish), fetches frames and closes; the frames are cached keyed on the file's modification
time, so a refresh (which changes the file) invalidates them. Writes (analyst controls only)
open a short-lived read-write connection, run one transaction and close. One in-process lock
serialises connections, because DuckDB refuses a read-only and a read-write connection to
the same file at once within one process.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import streamlit as st

from spc import audit
from spc.auth import (Identity, authorize, has_accounts, refuse_slowly, resolve_local, session_from_token,
                      session_token)
from spc.auth import sign_in as auth_sign_in
from spc.config import db_path
from spc.errors import SpcError
from spc.store import connect, transaction
from spc.store.areas import EVERY_AREA, area_forces, covers, force_scope
from spc.store.areas import setting_scopes as scopes_of
from spc.store.observations import now
from spc.store.queries import frame, load_areas, load_indicators
from spc.text import MAX_ANNOTATION_TEXT

WAIT_SECONDS = 30.0
_LOCK = threading.RLock()

#: Result and store tables the app needs; a file without them has not been built.
_REQUIRED = ("indicator", "area", "observation", "result_summary", "result_point")


def database_path() -> Path:
    """The database the app shows: $SPC_DB, else indicators.duckdb."""
    return db_path()


def stamp(path: str | Path) -> tuple[int, int] | None:
    """The cache key of the file's contents: modification times of the file and its WAL.

    None when the file does not exist.
    """
    path = Path(path)
    try:
        main = path.stat().st_mtime_ns
    except FileNotFoundError:
        return None
    wal = Path(str(path) + ".wal")
    return main, (wal.stat().st_mtime_ns if wal.exists() else 0)


@contextmanager
def reading(path: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection, closed on exit."""
    with _LOCK:
        con = connect(path, read_only=True, wait_seconds=WAIT_SECONDS)
        try:
            yield con
        finally:
            con.close()


@contextmanager
def writing(path: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-write connection running one transaction, closed on exit."""
    with _LOCK:
        con = connect(path, read_only=False, wait_seconds=WAIT_SECONDS)
        try:
            with transaction(con):
                yield con
        finally:
            con.close()


@contextmanager
def exclusive() -> Iterator[None]:
    """Hold the in-process database lock while other code (e.g. spc.brief) opens the file itself."""
    with _LOCK:
        yield


# --------------------------------------------------------------------------------------------
# is there a database to show?
# --------------------------------------------------------------------------------------------


def build_command(path: str | Path) -> str:
    """The command that builds the demo database at `path`."""
    return f"spc db init --db {path}"


@st.cache_data(show_spinner=False)
def database_problem(path: str, key: tuple[int, int] | None) -> str | None:
    """A plain-English reason the database cannot be shown yet, or None when it can."""
    if key is None:
        return f"There is no database at `{path}` yet."
    # a file that is not DuckDB would make connect() retry as if the file were locked
    with open(path, "rb") as fh:
        header = fh.read(16)
    if not header:
        return f"`{path}` is an empty file, not an indicator database."
    if header[8:12] != b"DUCK":
        return f"`{path}` is not a DuckDB database file."
    try:
        with reading(path) as con:
            tables = {r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables").fetchall()}
            missing = [t for t in _REQUIRED if t not in tables]
            if missing:
                return f"`{path}` is not an indicator database yet (no {', '.join(missing)} tables)."
            n_ind = con.execute("SELECT count(*) FROM indicator").fetchone()[0]
            n_res = con.execute("SELECT count(*) FROM result_summary").fetchone()[0]
    except SpcError as exc:
        return str(exc)
    except duckdb.Error as exc:
        return f"`{path}` could not be read as a DuckDB database ({exc})."
    if n_ind == 0:
        return f"`{path}` has no indicators loaded."
    if n_res == 0:
        return f"`{path}` has indicators but no computed results yet."
    return None


# --------------------------------------------------------------------------------------------
# cached reads
# --------------------------------------------------------------------------------------------


_CHANGE_SCHEMA = {"indicator_id": pl.String, "area_code": pl.String, "rule": pl.String,
                  "point_type": pl.String, "change": pl.String}
_NO_CHANGES = pl.DataFrame(schema=_CHANGE_SCHEMA)
#: digest lists (spc.refresh) and the change each one means for the summary's marker
_DIGEST_CHANGES = {"new_concerns": "new", "new_improvements": "new", "new_neutral": "new",
                   "ended": "ended", "withdrawn": "withdrawn"}


def _changes(con: duckdb.DuckDBPyConnection, run_id: int, digest_json: str | None) -> pl.DataFrame:
    """Signals new, ended or withdrawn in refresh run `run_id`: from its digest (what the refresh
    reported), else from the signal history (signals first seen in that run)."""
    rows: list[dict[str, Any]] = []
    try:
        digest = json.loads(digest_json) if digest_json else None
    except ValueError:
        digest = None
    if isinstance(digest, dict):
        for key, change in _DIGEST_CHANGES.items():
            for item in digest.get(key) or []:
                if isinstance(item, dict) and item.get("indicator_id") and item.get("area_code"):
                    rows.append({"indicator_id": item["indicator_id"], "area_code": item["area_code"],
                                 "rule": item.get("rule"), "point_type": item.get("point_type"), "change": change})
        return pl.DataFrame(rows, schema=_CHANGE_SCHEMA)
    return frame(con, """
        SELECT indicator_id, area_code, rule, point_type, 'new' AS change FROM signal
        WHERE status = 'new' AND first_seen_run = ?""", [run_id])


# --------------------------------------------------------------------------------------------
# the forces of the store: a store may hold one force or many (issue 11)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Forces:
    """The forces a store holds and which force each area belongs to."""

    forces: pl.DataFrame      # code, name: every force-wide area, by name
    area_force: pl.DataFrame  # area_code, force_code: a force is its own; national areas have no row
    areas: pl.DataFrame       # every area of the store (code, name, type, ...), as load_areas orders them

    @property
    def codes(self) -> list[str]:
        return self.forces["code"].to_list()

    @property
    def names(self) -> dict[str, str]:
        return dict(zip(self.forces["code"].to_list(), self.forces["name"].to_list()))

    @property
    def many(self) -> bool:
        """True when the store holds more than one force (the app then asks which)."""
        return self.forces.height > 1

    def default(self) -> str | None:
        """The force shown when none is chosen: the first by name."""
        return self.forces["code"][0] if self.forces.height else None

    def force_of(self, area_code: str) -> str | None:
        """The force an area belongs to (None for a national area or an unknown code)."""
        found = self.area_force.filter(pl.col("area_code") == area_code)["force_code"]
        return found[0] if found.len() else None

    def covering(self, rows: pl.DataFrame, area_code: str) -> pl.DataFrame:
        """The `rows` (annotations or chart settings) whose area scope covers `area_code`: its own,
        its force's and every area's, never another force's (spc.store.areas.covers)."""
        return rows.filter(covers(area_code, self.force_of(area_code)))

    def scope(self, force: str | None) -> list[str] | None:
        """The area codes a page shows for `force`: the force, its local areas and the national
        context areas. None (every area) when the store holds one force or none."""
        if not self.many or force is None:
            return None
        mine = set(self.area_force.filter(pl.col("force_code") == force)["area_code"].to_list()) | {force}
        national = set(self.areas.filter(pl.col("type") == "national")["code"].to_list())
        return [c for c in self.areas["code"].to_list() if c in mine or c in national]


def read_forces(con: duckdb.DuckDBPyConnection) -> Forces:
    """The store's forces and each area's force (spc.store area_force, schema 9). A store from
    before schema 9 holds one force: every area but the national ones is that force's."""
    areas = load_areas(con)
    forces = areas.filter(pl.col("type") == "force").select("code", "name").sort("name", "code")
    schema = {"area_code": pl.String, "force_code": pl.String}
    rows = area_forces(con)  # none before schema 9
    own = forces.select(area_code="code", force_code="code")
    if forces.height == 1:  # every local area is the one force's, whether or not a row says so
        own = areas.filter(pl.col("type") != "national").select(
            area_code="code", force_code=pl.lit(forces["code"][0], pl.String))
    known = pl.concat([rows.select(list(schema)).cast(schema), own.cast(schema)]).unique("area_code", keep="first")
    return Forces(forces=forces, area_force=known, areas=areas)


@st.cache_data(show_spinner=False, max_entries=4)
def store_forces(path: str, key: tuple[int, int] | None) -> Forces:
    """The forces of the store at `path` (cached per version of the file)."""
    with reading(path) as con:
        return read_forces(con)


def _in_scope(column: str, codes: list[str] | None) -> tuple[str, list[Any]]:
    """An SQL condition keeping the rows of these area codes (TRUE for every area)."""
    if codes is None:
        return "TRUE", []
    return f"list_contains(?::VARCHAR[], {column})", [codes]


@dataclass(frozen=True)
class Overview:
    """What the summary, briefing and most pages need, read in one connection: for one force
    of the store (its areas and the national context areas), or the whole store when it
    holds one force."""

    indicators: pl.DataFrame      # the catalogue
    areas: pl.DataFrame           # force first (the chosen force's areas and national context only)
    summary: pl.DataFrame         # result_summary joined with indicator and area names
    spark: pl.DataFrame           # the last 24 points of every series (with the rule that fired)
    changes: pl.DataFrame         # signals new, ended or withdrawn in the latest refresh
    freshness: dict[str, Any]     # newest data, oldest/newest result, stale series
    demo: bool                    # the data came from the illustrative demo loader
    last_refresh: dict[str, Any] | None
    compared: bool                # there was a successful run before the latest one
    options: pl.DataFrame         # each series' rule options (spc.chance.OPTION_COLUMNS)
    force: str | None = None      # the force shown (None: the store has no force-wide area)
    forces: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema={"code": pl.String, "name": pl.String}))
    store_areas: pl.DataFrame = field(default_factory=pl.DataFrame)  # every area of the store

    @property
    def many_forces(self) -> bool:
        """True when the store holds more than one force."""
        return self.forces.height > 1

    @property
    def force_name(self) -> str | None:
        names = dict(zip(self.forces["code"].to_list(), self.forces["name"].to_list()))
        return names.get(self.force or "", self.force)

    @property
    def force_param(self) -> str | None:
        """The force to keep in addresses (links): only when the store holds more than one."""
        return self.force if self.many_forces else None


@st.cache_data(show_spinner=False, max_entries=8)
def overview(path: str, key: tuple[int, int] | None, force: str | None = None) -> Overview:
    """Everything for the summary page, read in one short connection: for `force` (default:
    the first force by name) when the store holds many, else for the whole store."""
    with reading(path) as con:
        indicators = load_indicators(con)
        known = read_forces(con)
        if force not in known.codes:
            force = known.default()
        codes = known.scope(force)
        where, params = _in_scope("area_code", codes)
        areas = known.areas if codes is None else known.areas.filter(pl.col("code").is_in(codes))
        # latest_rule, run_start, run_points: the rule at the latest point and how long the
        # latest point's kind (concern, improvement, ...) has held, so the summary can say
        # "since May 2026" without reading every point
        summary = frame(con, f"""
            WITH last AS (
                SELECT indicator_id, area_code, arg_max(point_type, period) AS latest_type,
                       arg_max(rule, period) AS latest_rule
                FROM result_point WHERE {where} GROUP BY ALL),
            brk AS (
                SELECT p.indicator_id, p.area_code, max(p.period) AS before_run
                FROM result_point p JOIN last l USING (indicator_id, area_code)
                WHERE p.point_type IS DISTINCT FROM l.latest_type GROUP BY ALL),
            runs AS (
                SELECT l.indicator_id, l.area_code, any_value(l.latest_rule) AS latest_rule,
                       min(p.period) AS run_start, count(*) AS run_points
                FROM last l LEFT JOIN brk b USING (indicator_id, area_code)
                JOIN result_point p ON p.indicator_id = l.indicator_id AND p.area_code = l.area_code
                     AND (b.before_run IS NULL OR p.period > b.before_run)
                GROUP BY ALL)
            SELECT r.*, i.name, i.unit, i.kind, i.priority, i.frequency, i.sort_order, i.local,
                   i.target AS catalogue_target, a.name AS area_name, a.type AS area_type,
                   u.latest_rule, u.run_start, u.run_points
            FROM result_summary r
            JOIN indicator i ON i.id = r.indicator_id
            JOIN area a ON a.code = r.area_code
            LEFT JOIN runs u ON u.indicator_id = r.indicator_id AND u.area_code = r.area_code
            WHERE {where.replace("area_code", "r.area_code")}
            ORDER BY i.sort_order, i.id, CASE a.type WHEN 'force' THEN 0 ELSE 1 END, a.name""", params * 2)
        spark = frame(con, f"""
            SELECT indicator_id, area_code, period, value, point_type, rule FROM (
                SELECT *, row_number() OVER (PARTITION BY indicator_id, area_code ORDER BY period DESC) AS k
                FROM result_point WHERE {where}) WHERE k <= 24 ORDER BY indicator_id, area_code, period""", params)
        runs = frame(con, "SELECT * FROM refresh_run ORDER BY id DESC LIMIT 1")
        done = frame(con, "SELECT id, digest_json FROM refresh_run WHERE status = 'success' "
                           "ORDER BY id DESC LIMIT 2")
        # what changed: the latest successful run compared with the one before it; the very
        # first run (db init) has nothing before it, so nothing is marked as changed
        changes = _changes(con, done["id"][0], done["digest_json"][0]) if done.height == 2 else _NO_CHANGES
        if codes is not None:
            changes = changes.filter(pl.col("area_code").is_in(codes))
        settings = frame(con, "SELECT * FROM series_setting")
        fresh = con.execute(f"""
            SELECT max(o.loaded) AS newest_data, min(r.computed_at) AS oldest_result,
                   max(r.computed_at) AS newest_result,
                   count(*) FILTER (WHERE r.indicator_id IS NULL OR r.data_loaded_at IS NULL
                                    OR r.data_loaded_at < o.loaded) AS stale_series,
                   count(*) AS series
            FROM (SELECT indicator_id, area_code, max(loaded_at) AS loaded FROM observation
                  WHERE {where} GROUP BY ALL) o
            LEFT JOIN result_summary r USING (indicator_id, area_code)""", params).fetchone()
        demo = bool(con.execute("SELECT count(*) FROM load_batch WHERE source = 'demo'").fetchone()[0])
    options = _rule_options(summary, indicators, settings, known.area_force)
    freshness = dict(zip(("newest_data", "oldest_result", "newest_result", "stale_series", "series"), fresh))
    last = runs.row(0, named=True) if runs.height else None
    return Overview(indicators, areas, summary, spark, changes, freshness, demo, last, done.height == 2, options,
                    force=force, forces=known.forces, store_areas=known.areas)


def setting_scopes(ov: Overview, path: str, area: str) -> dict[str, str]:
    """The scopes a chart setting for `area` can have, nearest first, as series_setting.area_code
    to what the page calls it (spc.store.areas.setting_scopes). In a store of many forces, "every area"
    of one force is offered apart from every area of every force, so one force's analysts do not
    change another's charts without saying so."""
    force = store_forces(path, stamp(path)).force_of(area) if ov.many_forces else None
    codes = scopes_of(area, force)
    names = {area: "this area", EVERY_AREA: "every area of this indicator"}
    if force:
        force_names = dict(zip(ov.forces["code"].to_list(), ov.forces["name"].to_list()))
        names[force_scope(force)] = f"every area of {force_names.get(force, force)}"
        names[EVERY_AREA] = "every area of this indicator, in every force"
    return {c: names[c] for c in codes}


def scope_words(ov: Overview) -> dict[str, str]:
    """What pages call the scopes of many areas (spc.store.areas) wherever they are listed:
    EVERY_AREA is "every area", `force_scope(f)` "every area of <f's name>"."""
    force_names = dict(zip(ov.forces["code"].to_list(), ov.forces["name"].to_list()))
    return {EVERY_AREA: "every area", **{force_scope(c): f"every area of {n}" for c, n in force_names.items()}}


def scope_name(ov: Overview, code: str | None, area_names: dict[str, str]) -> str:
    """An annotation's or a setting's area scope in words: a scope of many areas
    (`scope_words`; NULL is an annotation's every area) or the area's name."""
    return "every area" if code is None else scope_words(ov).get(code) or area_names.get(code, code)


def _rule_options(summary: pl.DataFrame, indicators: pl.DataFrame, settings: pl.DataFrame,
                  forces_of_areas: pl.DataFrame) -> pl.DataFrame:
    """Each series' rule options, resolved as the engine's specs were (spc.results.series_specs)."""
    from spc.chance import OPTION_COLUMNS
    from spc.results import SEPARATOR, series_specs

    schema = {"indicator_id": pl.String, "area_code": pl.String, "rule_set": pl.String, "shift": pl.Int64,
              "trend": pl.Int64, "two_sigma": pl.String, "screen_outliers": pl.Boolean}
    if summary.is_empty():
        return pl.DataFrame(schema=schema)
    keys = summary.select("indicator_id", "area_code").with_columns(
        series=pl.concat_str("indicator_id", "area_code", separator=SEPARATOR), has_denominator=pl.lit(True))
    no_annotations = pl.DataFrame(schema={"indicator_id": pl.String, "area_code": pl.String,
                                          "kind": pl.String, "date": pl.Date})
    specs, _ = series_specs(keys, indicators, settings, no_annotations, forces_of_areas)
    rows = [{"indicator_id": k["indicator_id"], "area_code": k["area_code"],
             **{c: getattr(specs[k["series"]], c) for c in OPTION_COLUMNS}}
            for k in keys.iter_rows(named=True)]
    return pl.DataFrame(rows, schema=schema)


@dataclass(frozen=True)
class SeriesData:
    """Everything the indicator page needs for one indicator (all its areas)."""

    points: pl.DataFrame         # result_point with area_name, area_type
    phases: pl.DataFrame         # result_phase
    annotations: pl.DataFrame    # live annotations that apply to the indicator
    all_annotations: pl.DataFrame  # including withdrawn, for the audit list
    observations: pl.DataFrame   # current observations with loaded_at
    settings: pl.DataFrame       # series_setting rows of the indicator


@st.cache_data(show_spinner=False, max_entries=32)
def series_data(path: str, key: tuple[int, int] | None, indicator_id: str) -> SeriesData:
    """Result points, phases, annotations, observations and settings of one indicator."""
    with reading(path) as con:
        points = frame(con, """
            SELECT p.*, a.name AS area_name, a.type AS area_type FROM result_point p
            JOIN area a ON a.code = p.area_code WHERE p.indicator_id = ?
            ORDER BY CASE a.type WHEN 'force' THEN 0 ELSE 1 END, a.name, p.period""", [indicator_id])
        phases = frame(con, "SELECT * FROM result_phase WHERE indicator_id = ? ORDER BY area_code, phase",
                        [indicator_id])
        all_ann = frame(con, """
            SELECT * FROM annotation WHERE indicator_id = ? OR indicator_id IS NULL
            ORDER BY date, id""", [indicator_id])
        obs = frame(con, """
            SELECT o.area_code, a.name AS area_name, o.period_start AS period, o.value, o.numerator,
                   o.denominator, o.loaded_at, o.load_batch_id
            FROM observation o JOIN area a ON a.code = o.area_code WHERE o.indicator_id = ?
            ORDER BY CASE a.type WHEN 'force' THEN 0 ELSE 1 END, a.name, o.period_start""", [indicator_id])
        settings = frame(con, "SELECT * FROM series_setting WHERE indicator_id = ?", [indicator_id])
    live = all_ann.filter(pl.col("deleted_at").is_null())
    return SeriesData(points, phases, live, all_ann, obs, settings)


@st.cache_data(show_spinner=False, max_entries=32)
def series_views(path: str, key: tuple[int, int] | None, indicator_id: str) -> dict[str, dict[str, Any]]:
    """The stored views of one indicator (spc.results.build_views), by area code: narrative,
    trend, season, year_on_year, interventions and the data_version they were made from.
    Empty for a store whose results predate them (the page then makes them itself)."""
    from spc.results import VIEW_COLUMNS, Results, build_views, from_json

    with reading(path) as con:
        try:
            rows = frame(con, "SELECT * FROM result_view WHERE indicator_id = ?", [indicator_id])
        except duckdb.CatalogException:  # a store from before schema 8
            rows = pl.DataFrame()
        if rows.is_empty():
            # results written before views were stored: made once here, cached by the file's version
            summary = frame(con, "SELECT * FROM result_summary WHERE indicator_id = ?", [indicator_id])
            rows = build_views(con, Results(
                series=summary.select("indicator_id", "area_code"),
                points=frame(con, "SELECT * FROM result_point WHERE indicator_id = ? ORDER BY area_code, period",
                             [indicator_id]),
                phases=frame(con, "SELECT * FROM result_phase WHERE indicator_id = ? ORDER BY area_code, phase",
                             [indicator_id]),
                summary=summary, computed_at=now()))
    return {r["area_code"]: {"data_version": r["data_version"], **{c: from_json(r[c]) for c in VIEW_COLUMNS}}
            for r in rows.iter_rows(named=True)}


@st.cache_data(show_spinner=False, max_entries=4)
def data_status(path: str, key: tuple[int, int] | None) -> dict[str, pl.DataFrame]:
    """What is loaded (per indicator and per series, with every observed period), loads, refresh
    runs, rejected rows."""
    with reading(path) as con:
        coverage = frame(con, """
            SELECT i.priority, i.name AS indicator, i.id AS indicator_id, i.frequency,
                   count(DISTINCT o.area_code) AS areas, count(o.period_start) AS observations,
                   min(o.period_start) AS first_period, max(o.period_start) AS latest_period,
                   max(o.loaded_at) AS last_loaded
            FROM indicator i LEFT JOIN observation o ON o.indicator_id = i.id
            GROUP BY ALL ORDER BY any_value(i.sort_order), i.id""")
        # late and missing data follow spc.timeliness (the Data page applies it to these)
        series = frame(con, """
            SELECT o.indicator_id, o.area_code, any_value(i.name) AS indicator, any_value(a.name) AS area,
                   any_value(a.type) AS area_type, any_value(i.frequency) AS frequency,
                   min(o.period_start) AS first_period, max(o.period_start) AS latest_period, count(*) AS n
            FROM observation o JOIN indicator i ON i.id = o.indicator_id JOIN area a ON a.code = o.area_code
            GROUP BY o.indicator_id, o.area_code
            ORDER BY any_value(i.sort_order), o.indicator_id, CASE any_value(a.type) WHEN 'force' THEN 0 ELSE 1 END,
                     any_value(a.name)""")
        periods = frame(con, """
            SELECT o.indicator_id, o.area_code, o.period_start AS period, i.frequency
            FROM observation o JOIN indicator i ON i.id = o.indicator_id""")
        batches = frame(con, "SELECT * FROM load_batch ORDER BY id DESC LIMIT 50")
        runs = frame(con, "SELECT * FROM refresh_run ORDER BY id DESC LIMIT 20")
        rejected = frame(con, """
            SELECT r.id, r.load_batch_id, b.source, r.file, r.line, r.column_name, r.value, r.reason, r.raw
            FROM rejected_row r LEFT JOIN load_batch b ON b.id = r.load_batch_id
            ORDER BY r.id DESC LIMIT 1000""")
        n_rejected = con.execute("SELECT count(*) FROM rejected_row").fetchone()[0]
    return {"coverage": coverage, "series": series, "periods": periods, "batches": batches, "runs": runs, "rejected": rejected,
            "n_rejected": pl.DataFrame({"n": [n_rejected]})}


def clear_cache() -> None:
    """Forget every cached read (after the app itself wrote)."""
    st.cache_data.clear()


# --------------------------------------------------------------------------------------------
# writes (analyst controls and accounts only)
# --------------------------------------------------------------------------------------------
# Every write names who asks (spc.auth.Identity, resolved from the sign-in in this request) and
# checks their role inside its own transaction; the change and its audit event commit together.
# A refused write (the wrong role, a session that ended, an over-long note) writes nothing but
# one `refused` audit event.

SETTING_FIELDS = ("chart", "improvement", "two_sigma", "screen_outliers", "shift", "trend", "rule_set",
                  "baseline_points", "ewma_lambda", "cusum_h", "multiplier", "seasonal_limits")


def _guarded(path: str | Path, who: Identity, role: str, action: str, body: Callable[[duckdb.DuckDBPyConnection], Any],
             **where: Any) -> Any:
    """Run `body` in one transaction after checking `who` may `action`; record a refusal if not."""
    try:
        with writing(path) as con:
            authorize(con, who, role, action=action)
            return body(con)
    except SpcError as exc:
        with writing(path) as con:
            audit.record(con, who, "refused", detail={"action": action, "why": str(exc)}, **where)
        raise


def save_setting(path: str | Path, who: Identity, indicator_id: str, area_code: str, reason: str,
                 **fields: Any) -> None:
    """Store an analyst's chart settings for a series, with why. `area_code` is the area, or a
    scope of many (spc.results: `force_scope(force)` for every area of a force, `EVERY_AREA`).

    Fields left out or None fall back to the catalogue. One transaction.
    """
    unknown = set(fields) - set(SETTING_FIELDS)
    if unknown:
        raise SpcError(f"unknown chart setting(s): {', '.join(sorted(unknown))}")
    values = [fields.get(f) for f in SETTING_FIELDS]

    def body(con: duckdb.DuckDBPyConnection) -> None:
        why = audit.check_reason(reason)
        con.execute(
            f"INSERT OR REPLACE INTO series_setting (indicator_id, area_code, {', '.join(SETTING_FIELDS)}, "
            f"author, updated_at) VALUES (?, ?, {', '.join('?' for _ in SETTING_FIELDS)}, ?, ?)",
            [indicator_id, area_code, *values, who.name, now()])
        audit.record(con, who, "setting", indicator_id=indicator_id, area_code=area_code, reason=why,
                     detail=dict(zip(SETTING_FIELDS, values)))

    _guarded(path, who, "analyst", "change chart settings", body, indicator_id=indicator_id, area_code=area_code)


def clear_setting(path: str | Path, who: Identity, indicator_id: str, area_code: str, reason: str) -> None:
    """Go back to the catalogue's chart settings for a series."""
    def body(con: duckdb.DuckDBPyConnection) -> None:
        why = audit.check_reason(reason)
        con.execute("DELETE FROM series_setting WHERE indicator_id = ? AND area_code = ?", [indicator_id, area_code])
        audit.record(con, who, "setting_cleared", indicator_id=indicator_id, area_code=area_code, reason=why)

    _guarded(path, who, "analyst", "change chart settings", body, indicator_id=indicator_id, area_code=area_code)


def add_annotation(path: str | Path, who: Identity, indicator_id: str | None, area_code: str | None,
                   date: dt.date, kind: str, text: str) -> int:
    """Record a rebase ('recalculate'), an exclusion, an intervention or a note, with who, when and why."""
    if kind not in ("intervention", "recalculate", "exclude", "note"):
        raise SpcError(f"annotation kind {kind!r}: expected intervention, recalculate, exclude or note")

    def body(con: duckdb.DuckDBPyConnection) -> int:
        why = audit.check_reason(text, "reason", MAX_ANNOTATION_TEXT)
        new_id = int(con.execute(
            "INSERT INTO annotation (indicator_id, area_code, date, kind, text, author, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [indicator_id, area_code, date, kind, why, who.name, now()]).fetchall()[0][0])
        audit.record(con, who, "annotation", indicator_id=indicator_id, area_code=area_code, subject=str(new_id),
                     reason=why, detail={"kind": kind, "date": date})
        return new_id

    return _guarded(path, who, "analyst", f"add a {kind}", body, indicator_id=indicator_id, area_code=area_code)


def _annotation(con: duckdb.DuckDBPyConnection, annotation_id: int) -> dict[str, Any]:
    rows = frame(con, "SELECT * FROM annotation WHERE id = ?", [annotation_id])
    if not rows.height:
        raise SpcError(f"annotation {annotation_id} does not exist")
    return rows.row(0, named=True)


def withdraw_annotation(path: str | Path, who: Identity, annotation_id: int, reason: str) -> None:
    """Withdraw an annotation with a reason: it is kept, marked with who withdrew it, when and why."""
    def body(con: duckdb.DuckDBPyConnection) -> None:
        why = audit.check_reason(reason)
        ann = _annotation(con, annotation_id)
        if ann["deleted_at"] is not None:
            raise SpcError(f"annotation {annotation_id} is already withdrawn")
        con.execute("UPDATE annotation SET deleted_at = ?, withdrawn_by = ?, withdrawn_reason = ? WHERE id = ?",
                    [now(), who.name, why, annotation_id])
        audit.record(con, who, "withdraw", indicator_id=ann["indicator_id"], area_code=ann["area_code"],
                     subject=str(annotation_id), reason=why, detail={"kind": ann["kind"], "date": ann["date"]})

    _guarded(path, who, "analyst", "withdraw an annotation", body, subject=str(annotation_id))


def reinstate_annotation(path: str | Path, who: Identity, annotation_id: int, reason: str) -> None:
    """Put a withdrawn annotation back in force (the audit trail keeps the withdrawal and this)."""
    def body(con: duckdb.DuckDBPyConnection) -> None:
        why = audit.check_reason(reason)
        ann = _annotation(con, annotation_id)
        if ann["deleted_at"] is None:
            raise SpcError(f"annotation {annotation_id} is not withdrawn")
        con.execute("UPDATE annotation SET deleted_at = NULL, withdrawn_by = NULL, withdrawn_reason = NULL "
                    "WHERE id = ?", [annotation_id])
        audit.record(con, who, "reinstate", indicator_id=ann["indicator_id"], area_code=ann["area_code"],
                     subject=str(annotation_id), reason=why,
                     detail={"kind": ann["kind"], "date": ann["date"], "was_withdrawn_by": ann["withdrawn_by"],
                             "was_withdrawn_at": ann["deleted_at"]})

    _guarded(path, who, "analyst", "reinstate an annotation", body, subject=str(annotation_id))


def request_recompute(path: str | Path, who: Identity, indicator_id: str, reason: str) -> None:
    """Record an analyst's request to recompute an indicator (the caller then runs `recompute`)."""
    def body(con: duckdb.DuckDBPyConnection) -> None:
        audit.record(con, who, "recompute", indicator_id=indicator_id, reason=audit.check_reason(reason))

    _guarded(path, who, "analyst", "recompute an indicator", body, indicator_id=indicator_id)


def reload_catalogue(path: str | Path, who: Identity, catalogue: str | Path | None = None) -> list[str]:
    """Read the indicator catalogue again and update the store (admin only); returns the indicator ids.

    The caller recomputes them (`recompute`), as `spc db init` does after loading the catalogue.
    """
    from spc.store.catalogue import CATALOGUE_PATH, load_catalogue, read_catalogue

    source = Path(catalogue or CATALOGUE_PATH)

    def body(con: duckdb.DuckDBPyConnection) -> list[str]:
        cat = read_catalogue(source)
        load_catalogue(con, cat)
        audit.record(con, who, "catalogue_reload", subject=str(source),
                     detail={"indicators": len(cat.indicators), "areas": len(cat.areas)})
        return [i.id for i in cat.indicators]

    return _guarded(path, who, "admin", "reload the catalogue", body, subject=str(source))


def sign_in(path: str | Path, name: str, password: str) -> tuple[Identity, dict[str, Any]] | None:
    """Check a local account's password (spc.auth.sign_in) in one short write transaction; a
    refusal comes after spc.auth.FAILED_SIGN_IN_DELAY, waited outside the transaction."""
    started = time.monotonic()
    with writing(path) as con:
        result = auth_sign_in(con, name, password)
    if result is None:
        refuse_slowly(started)
    return result


def record_event(path: str | Path, who: Identity, kind: str, *, once: bool = False, **fields: Any) -> None:
    """Append one audit event on its own (a sign-out, a session that ended). With `once`, skip it
    when the same person already has this event with the same detail (a single sign-on seen again
    on every new browser tab is one sign-in)."""
    with writing(path) as con:
        if once and con.execute(
                "SELECT count(*) FROM audit_event WHERE kind = ? AND actor = ? AND method = ? AND detail = ?",
                [kind, who.name, who.method, json.dumps(fields.get("detail"), default=str, sort_keys=True)],
        ).fetchall()[0][0]:
            return
        audit.record(con, who, kind, **fields)


def accounts(path: str | Path, action: Callable[..., Any], who: Identity, *args: Any) -> Any:
    """Run one spc.auth account change (add_user, remove_user, set_password, set_role) for the
    Accounts page, in one transaction; a refusal is recorded."""
    return _guarded(path, who, "viewer", "change an account", lambda con: action(con, who, *args))


def identity_now(path: str | Path, session: dict[str, Any], hours: float) -> Identity:
    """The identity a local session stands for now (spc.auth.resolve_local); Refused when ended."""
    with reading(path) as con:
        return resolve_local(con, session, hours)


def session_cookie(path: str | Path, session: dict[str, Any]) -> str:
    """The signed token a browser keeps for a local sign-in (spc.auth.session_token)."""
    with reading(path) as con:
        return session_token(con, session)


def session_from_cookie(path: str | Path, token: str) -> dict[str, Any]:
    """The local session a browser's token carries; Refused when the store did not sign it."""
    with reading(path) as con:
        return session_from_token(con, token)


def local_accounts_exist(path: str | Path) -> bool:
    """True when the store has a local account, so the app offers local sign-in."""
    with reading(path) as con:
        return has_accounts(con)


def recompute(path: str | Path, indicator_ids: Sequence[str]) -> int:
    """Recompute and store the results of these indicators (spc.results); returns series written."""
    from spc.results import compute_results

    with _LOCK:
        con = connect(path, read_only=False, wait_seconds=WAIT_SECONDS)
        try:
            return compute_results(con, list(indicator_ids), trigger="app")
        finally:
            con.close()
