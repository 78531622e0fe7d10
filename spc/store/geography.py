"""Geography is part of the data: national figures stored under a local area are moved to the
national area.

Before schema version 3 the store had no national area, and the MoJ importer stored the England
and Wales proven reoffending series under whatever area `--area` named (usually the force), so
the app and the briefing pack presented national figures as the force's own. That importer
always said so in the load's `load_batch.message`: "national (England and Wales) figures stored
under area 'X' (--area)". It wrote that note exactly when the file had no area column, which is
the file's own statement of its geography, and never for a file with an area column (one row
per area). So a *mis-stored load* is a `load_batch` with source `reoffending` whose message has
that note, and the figures it wrote belong to the national area.

`relocate_national` (run by `spc db init`, inside its one transaction, after the catalogue is
loaded) moves every version of every such figure, current or revised:

- Each affected (indicator, area, period) has a history: the current observation and its
  revisions. It is split by where each version came from. Versions from mis-stored loads join
  the national area's history of the same (indicator, period); the other versions (the area's
  own figures) stay. Each history is then rebuilt: its latest version is the current
  observation, the earlier ones its revisions (superseded by the next), and a version identical
  to the one before it is dropped (the same figure loaded twice). So an area's own figure that a
  national load had overwritten becomes current again, and nothing is lost.
- A series left with no observations under its old area moved as a whole: its results, signal
  history, analyst settings and annotations go with it to the national area (results and
  signals only where the national series has none of its own; otherwise the old ones are
  deleted or withdrawn, and the recomputation that `db init` runs next rebuilds them).
- The load's message gets a note saying where its figures were moved. Rejected rows name no
  area, so they need no change.

Re-running finds no version of a mis-stored load outside the national area and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from spc.errors import SpcError
from spc.store.observations import now

#: The note the MoJ importer before schema version 3 wrote for a file with no area column.
MISSTORED_NOTE = "national (England and Wales) figures stored under area"
#: The importer that wrote it.
MISSTORED_SOURCE = "reoffending"

_VALUES = "period_grain, value, numerator, denominator, loaded_at, load_batch_id"
_KEY = "indicator_id, area_code, period_start"
#: Rows of the national area for an (indicator, period) that a mis-stored figure also has.
_NATIONAL_TWIN = ("area_code = $national AND (indicator_id, period_start) IN "
                  "(SELECT indicator_id, period_start FROM _keys)")


@dataclass(frozen=True)
class Relocation:
    """What `relocate_national` changed."""

    batches: int          # mis-stored loads whose figures moved
    observations: int     # current national observations after the move, for the moved periods
    restored: int         # an area's own figures that are current again
    series: int           # (indicator, area) series that moved as a whole


def national_area(con: duckdb.DuckDBPyConnection) -> str | None:
    """The code of the store's national area, or None when the catalogue declares none."""
    row = con.execute("SELECT code FROM area WHERE type = 'national' ORDER BY code LIMIT 1").fetchone()
    return None if row is None else str(row[0])


def relocate_national(con: duckdb.DuckDBPyConnection) -> Relocation:
    """Move national figures stored under another area to the national area (see the module
    docstring). Run inside the caller's transaction, after the catalogue is loaded."""
    batches = [r[0] for r in con.execute(
        "SELECT id FROM load_batch WHERE source = ? AND contains(coalesce(message, ''), ?) ORDER BY id",
        [MISSTORED_SOURCE, MISSTORED_NOTE]).fetchall()]
    nothing = Relocation(0, 0, 0, 0)
    if not batches:
        return nothing
    national = national_area(con)
    con.execute("CREATE OR REPLACE TEMP TABLE _misstored AS SELECT unnest(?::BIGINT[]) AS id", [batches])
    # (indicator, area, period) keys outside the national area holding a mis-stored version
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _keys AS
        SELECT DISTINCT {_KEY} FROM (
            SELECT {_KEY}, load_batch_id FROM observation
            UNION ALL SELECT {_KEY}, load_batch_id FROM observation_revision)
        WHERE load_batch_id IN (SELECT id FROM _misstored) AND area_code IS DISTINCT FROM ?
    """, [national])
    if con.execute("SELECT count(*) FROM _keys").fetchone()[0] == 0:
        result = nothing   # already moved: re-running changes nothing
    elif national is None:
        raise SpcError("the store holds national MoJ figures under a local area (load batches "
                       f"{', '.join(map(str, batches))}) but the catalogue has no national area: add the "
                       "[[area]] with type = \"national\" (see data/indicators.toml) and run `spc db init` again")
    else:
        result = _move(con, national, len(batches))
    for table in ("_keys", "_misstored", "_history"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return result


def _move(con: duckdb.DuckDBPyConnection, national: str, n_batches: int) -> Relocation:
    """The move itself, once `_misstored` and `_keys` are filled."""
    # Every version of the affected keys, and of the national area's same (indicator, period),
    # with the area it belongs to.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _history AS
        WITH versions AS (
            SELECT {_KEY}, {_VALUES} FROM observation JOIN _keys USING ({_KEY})
            UNION ALL
            SELECT {_KEY}, {_VALUES} FROM observation_revision JOIN _keys USING ({_KEY})
            UNION ALL
            SELECT {_KEY}, {_VALUES} FROM observation WHERE {_NATIONAL_TWIN}
            UNION ALL
            SELECT {_KEY}, {_VALUES} FROM observation_revision WHERE {_NATIONAL_TWIN}
        ),
        placed AS (
            SELECT * REPLACE (CASE WHEN load_batch_id IN (SELECT id FROM _misstored) THEN $national
                                   ELSE area_code END AS area_code)
            FROM versions
        ),
        ordered AS (   -- the same figure twice in a row (loaded under both areas) is one version
            SELECT *, (value, numerator, denominator, period_grain) IS NOT DISTINCT FROM
                      lag((value, numerator, denominator, period_grain)) OVER w AS repeat
            FROM placed
            WINDOW w AS (PARTITION BY {_KEY} ORDER BY loaded_at, load_batch_id)
        )
        SELECT *, lead(loaded_at) OVER w AS superseded_at, lead(load_batch_id) OVER w AS superseded_by
        FROM ordered WHERE NOT repeat
        WINDOW w AS (PARTITION BY {_KEY} ORDER BY loaded_at, load_batch_id)
    """, {"national": national})
    restored = con.execute("""
        SELECT count(*) FROM _history h JOIN observation o USING (indicator_id, area_code, period_start)
        WHERE h.superseded_at IS NULL AND h.area_code <> $national AND o.load_batch_id <> h.load_batch_id
    """, {"national": national}).fetchone()[0]
    for table in ("observation", "observation_revision"):   # table names are constants
        con.execute(f"DELETE FROM {table} WHERE ({_KEY}) IN (SELECT {_KEY} FROM _keys)")
        con.execute(f"DELETE FROM {table} WHERE {_NATIONAL_TWIN}", {"national": national})
    con.execute(f"INSERT INTO observation SELECT {_KEY}, {_VALUES} FROM _history WHERE superseded_at IS NULL")
    con.execute(f"""INSERT INTO observation_revision SELECT {_KEY}, {_VALUES}, superseded_at, superseded_by
                    FROM _history WHERE superseded_at IS NOT NULL""")
    observations = con.execute("SELECT count(*) FROM _history WHERE superseded_at IS NULL AND area_code = ?",
                               [national]).fetchone()[0]

    # Series left with no observations moved as a whole.
    gone = con.execute("""
        SELECT DISTINCT k.indicator_id, k.area_code FROM _keys k
        WHERE NOT EXISTS (SELECT 1 FROM observation o
                          WHERE o.indicator_id = k.indicator_id AND o.area_code = k.area_code)
        ORDER BY 1, 2
    """).fetchall()
    stamp = now()
    for indicator, old in gone:
        def run(sql: str, **extra: object) -> list[tuple]:
            """One statement with the named parameters it uses (DuckDB refuses unused ones)."""
            params = {"i": indicator, "old": old, "national": national, **extra}
            return con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql}).fetchall()

        for table in ("result_point", "result_phase", "result_summary"):   # table names are constants
            run(f"DELETE FROM {table} WHERE indicator_id = $i AND area_code = $national "
                f"AND EXISTS (SELECT 1 FROM {table} WHERE indicator_id = $i AND area_code = $old)")
            run(f"UPDATE {table} SET area_code = $national WHERE indicator_id = $i AND area_code = $old")
        if run("SELECT count(*) FROM signal WHERE indicator_id = $i AND area_code = $national")[0][0]:
            # two histories of one series cannot be merged: the national one stands
            run("UPDATE signal SET status = 'withdrawn', updated_at = $at WHERE indicator_id = $i "
                "AND area_code = $old AND status <> 'withdrawn'", at=stamp)
        else:
            run("UPDATE signal SET area_code = $national WHERE indicator_id = $i AND area_code = $old")
        run("""UPDATE series_setting SET area_code = $national WHERE indicator_id = $i AND area_code = $old
               AND NOT EXISTS (SELECT 1 FROM series_setting WHERE indicator_id = $i AND area_code = $national)""")
        run("UPDATE annotation SET area_code = $national WHERE indicator_id = $i AND area_code = $old")

    note = f"; moved to area '{national}' by spc db init (schema 3: national figures are stored nationally)"
    con.execute("""UPDATE load_batch SET message = message || ? WHERE id IN (SELECT id FROM _misstored)
                   AND NOT contains(message, 'moved to area')""", [note])
    return Relocation(batches=n_batches, observations=observations, restored=restored, series=len(gone))
