"""Reads from the store as polars frames. Every query takes parameters; none is built from user text."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import polars as pl


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] | None = None) -> pl.DataFrame:
    """Run a parameterised query and return a polars frame (the one way the project reads frames)."""
    return con.sql(sql, params=list(params) if params else None).pl()


def _in_filter(column: str, values: Sequence[str] | None) -> tuple[str, list[object]]:
    """A `column IN (?, ...)` clause with its parameters, or nothing when `values` is None."""
    if values is None:
        return "", []
    values = list(values)
    if not values:
        return " AND false", []
    return f" AND {column} IN ({', '.join('?' for _ in values)})", values


def load_observations(con: duckdb.DuckDBPyConnection, indicator_ids: Sequence[str] | None = None,
                      area_codes: Sequence[str] | None = None) -> pl.DataFrame:
    """Current observations: indicator_id, area_code, period, period_grain, value, numerator,
    denominator, loaded_at, load_batch_id; sorted by indicator, area and period."""
    ind_sql, ind_params = _in_filter("indicator_id", indicator_ids)
    area_sql, area_params = _in_filter("area_code", area_codes)
    return frame(
        con,
        "SELECT indicator_id, area_code, period_start AS period, period_grain, value, numerator, "
        "denominator, loaded_at, load_batch_id FROM observation WHERE true"
        + ind_sql + area_sql + " ORDER BY indicator_id, area_code, period_start",
        ind_params + area_params,
    )


def load_indicators(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The catalogue as stored, in catalogue order."""
    return frame(con, "SELECT * FROM indicator ORDER BY sort_order, id")


def load_areas(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Areas: the force first, then the partnership areas and districts by name, the national area
    (context for the force's figures) last."""
    return frame(con, "SELECT * FROM area ORDER BY CASE type WHEN 'force' THEN 0 WHEN 'national' THEN 2 "
                      "ELSE 1 END, name")


def load_annotations(con: duckdb.DuckDBPyConnection, indicator_ids: Sequence[str] | None = None) -> pl.DataFrame:
    """Live (not withdrawn) annotations; those with a NULL indicator apply to every indicator."""
    params: list[object] = []
    sql = "SELECT * FROM annotation WHERE deleted_at IS NULL"
    if indicator_ids is not None:
        ids = list(indicator_ids)
        sql += " AND (indicator_id IS NULL" + (
            f" OR indicator_id IN ({', '.join('?' for _ in ids)}))" if ids else ")")
        params += ids
    return frame(con, sql + " ORDER BY date, id", params)
