"""Writing observations: load batches, revisions and rejected rows.

Every loader (demo data, each importer, the refresh) writes through here, so the rules are
in one place: one current row per (indicator, area, period); a changed value moves the old
row to `observation_revision` with the batch that replaced it; an identical value changes
nothing; periods absent from a new file stay as they are. Callers wrap a whole import in
`spc.store.transaction` so a failure leaves the store as it was.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

#: The columns a loader hands to `write_observations`.
OBSERVATION_COLUMNS: dict[str, pl.DataType] = {
    "indicator_id": pl.String(),
    "area_code": pl.String(),
    "period_start": pl.Date(),
    "period_grain": pl.String(),
    "value": pl.Float64(),
    "numerator": pl.Float64(),
    "denominator": pl.Float64(),
}

#: The columns of a rejected row, as loaders report them.
REJECTION_COLUMNS: dict[str, pl.DataType] = {
    "file": pl.String(),
    "line": pl.Int64(),
    "column_name": pl.String(),
    "value": pl.String(),
    "reason": pl.String(),
    "raw": pl.String(),
}


@dataclass(frozen=True)
class WriteCounts:
    """What a write did: new current rows, identical rows skipped, changed rows revised."""

    loaded: int
    unchanged: int
    revised: int


def now() -> dt.datetime:
    """The timestamp stored for loads (UTC, naive, to the microsecond)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def start_batch(con: duckdb.DuckDBPyConnection, source: str, path: str | Path,
                file_sha256: str | None = None) -> int:
    """Record the start of a load and return its batch id."""
    return int(con.execute(
        "INSERT INTO load_batch (source, path, file_sha256, started_at, status) "
        "VALUES (?, ?, ?, ?, 'loaded') RETURNING id",
        [source, str(path), file_sha256, now()],
    ).fetchone()[0])


def finish_batch(con: duckdb.DuckDBPyConnection, batch_id: int, *, status: str, rows_read: int,
                 counts: WriteCounts, rows_rejected: int, message: str | None = None) -> None:
    """Record how a load ended."""
    con.execute(
        "UPDATE load_batch SET finished_at = ?, status = ?, rows_read = ?, rows_loaded = ?, "
        "rows_unchanged = ?, rows_revised = ?, rows_rejected = ?, message = ? WHERE id = ?",
        [now(), status, rows_read, counts.loaded, counts.unchanged, counts.revised,
         rows_rejected, message, batch_id],
    )


def record_rejections(con: duckdb.DuckDBPyConnection, batch_id: int, rejected: pl.DataFrame) -> int:
    """Keep every rejected row with its reason. Returns how many were stored."""
    if rejected.is_empty():
        return 0
    frame = rejected.select(
        [pl.col(name).cast(dtype) if name in rejected.columns else pl.lit(None, dtype).alias(name)
         for name, dtype in REJECTION_COLUMNS.items()]
    ).with_columns(pl.lit(batch_id, pl.Int64).alias("load_batch_id"))
    con.register("_rejected", frame.to_arrow())
    try:
        con.execute(
            "INSERT INTO rejected_row (load_batch_id, file, line, column_name, value, reason, raw) "
            "SELECT load_batch_id, file, line, column_name, value, reason, raw FROM _rejected"
        )
    finally:
        con.unregister("_rejected")
    return frame.height


def write_observations(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame, batch_id: int,
                       loaded_at: dt.datetime | None = None) -> WriteCounts:
    """Upsert validated rows as current observations, keeping revised values' history.

    `rows` has the columns of `OBSERVATION_COLUMNS` and no duplicate keys. Run inside the
    caller's transaction. (One batch of `write_observations_many`.)
    """
    counts = write_observations_many(con, rows.with_columns(pl.lit(batch_id, pl.Int64).alias("load_batch_id")),
                                     loaded_at)
    return counts.get(batch_id, WriteCounts(loaded=0, unchanged=0, revised=0))


def write_observations_many(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame,
                            loaded_at: dt.datetime | None = None) -> dict[int, WriteCounts]:
    """`write_observations` for the files of one import step at once: `rows` has the
    `OBSERVATION_COLUMNS` and `load_batch_id` (each row's batch) and no duplicate keys. The same
    rules (new, unchanged, revised with the earlier value kept); returns the counts per batch.
    Run inside the caller's transaction."""
    loaded_at = loaded_at or now()
    staged = rows.select([pl.col(name).cast(dtype) for name, dtype in OBSERVATION_COLUMNS.items()]
                         + [pl.col("load_batch_id").cast(pl.Int64)])
    con.register("_staged_many", staged.to_arrow())
    try:
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _classified_many AS
            SELECT s.*,
                   CASE WHEN o.indicator_id IS NULL THEN 'new'
                        WHEN o.value IS NOT DISTINCT FROM s.value
                         AND o.numerator IS NOT DISTINCT FROM s.numerator
                         AND o.denominator IS NOT DISTINCT FROM s.denominator
                         AND o.period_grain = s.period_grain THEN 'unchanged'
                        ELSE 'revised' END AS change
            FROM _staged_many s
            LEFT JOIN observation o USING (indicator_id, area_code, period_start)
        """)
        by_batch = con.execute(
            "SELECT load_batch_id, change, count(*) FROM _classified_many GROUP BY ALL").fetchall()
        changes = {change for _, change, _ in by_batch}
        if "revised" in changes:
            con.execute("""
                INSERT INTO observation_revision
                SELECT o.indicator_id, o.area_code, o.period_start, o.period_grain, o.value,
                       o.numerator, o.denominator, o.loaded_at, o.load_batch_id, ?, c.load_batch_id
                FROM observation o
                JOIN _classified_many c USING (indicator_id, area_code, period_start)
                WHERE c.change = 'revised'
            """, [loaded_at])
            con.execute("""
                UPDATE observation o SET period_grain = c.period_grain, value = c.value,
                       numerator = c.numerator, denominator = c.denominator,
                       loaded_at = ?, load_batch_id = c.load_batch_id
                FROM _classified_many c
                WHERE c.change = 'revised' AND o.indicator_id = c.indicator_id
                  AND o.area_code = c.area_code AND o.period_start = c.period_start
            """, [loaded_at])
        if "new" in changes:
            con.execute("""
                INSERT INTO observation
                SELECT indicator_id, area_code, period_start, period_grain, value, numerator,
                       denominator, ?, load_batch_id FROM _classified_many WHERE change = 'new'
            """, [loaded_at])
        con.execute("DROP TABLE _classified_many")
    finally:
        con.unregister("_staged_many")
    counts: dict[int, dict[str, int]] = {}
    for batch, change, n in by_batch:
        counts.setdefault(int(batch), {})[change] = int(n)
    return {batch: WriteCounts(loaded=c.get("new", 0), unchanged=c.get("unchanged", 0), revised=c.get("revised", 0))
            for batch, c in counts.items()}
