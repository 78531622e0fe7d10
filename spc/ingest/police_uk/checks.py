"""Checks of police.uk rows shared by street and outcomes files: force, month, LSOA, known values."""

from __future__ import annotations

import re

import polars as pl

from spc.errors import SpcError
from spc.store.observations import REJECTION_COLUMNS


def _norm(expr: pl.Expr) -> pl.Expr:
    """A force's name for comparison: lower case, '&' as 'and', letters and digits only."""
    return expr.str.to_lowercase().str.replace_all("&", "and", literal=True).str.replace_all(r"[^a-z0-9]", "")


def _force_names(force: str) -> list[str]:
    """The names a row's `Falls within` / `Reported by` may give for `force` (normalised)."""
    names = {re.sub(r"[^a-z0-9]", "", force.lower())}
    try:
        from spc.geography import forces
        row = forces().filter(pl.col("force") == force)
        names |= set(row.select(_norm(pl.col(c)) for c in ("name", "falls_within") if c in row.columns)
                     .unpivot().get_column("value").drop_nulls().to_list())
    except (ImportError, SpcError, OSError):
        pass
    return sorted(names)


def _force_rejections(rows: pl.DataFrame, file: str, cols: dict[str, str], force: str) -> pl.DataFrame:
    """Rows whose `Falls within` and `Reported by` both name another force than the file's."""
    present = [cols[name] for name in ("falls_within", "reported_by") if name in cols]
    if not present or rows.is_empty():
        return pl.DataFrame(schema=REJECTION_COLUMNS)
    from spc.ingest.calls_999 import force_slug
    names = _force_names(force)
    # compare each distinct text once (a file has one or two), then pick the rows
    distinct = rows.select(present).unique()
    matches = [(_norm(pl.col(c)).is_in(names) | (force_slug(pl.col(c)) == force)).fill_null(False) for c in present]
    given = pl.any_horizontal([pl.col(c).is_not_null() for c in present])
    wrong = distinct.filter(given & ~pl.any_horizontal(matches))
    if wrong.is_empty():
        return pl.DataFrame(schema=REJECTION_COLUMNS)
    shown = pl.coalesce([pl.col(c) for c in present])
    column = pl.when(pl.col(present[0]).is_not_null()).then(pl.lit(present[0])).otherwise(pl.lit(present[-1]))
    return rows.join(wrong, on=present, how="semi", nulls_equal=True).select(
        pl.lit(file).alias("file"), pl.col("_line").alias("line"), column.alias("column_name"),
        shown.alias("value"),
        pl.format(f"the row is for '{{}}', not {force}, the force in the file name (each force's rows belong "
                  f"in its own YYYY-MM-<force> file)", shown).alias("reason"),
        pl.lit(None, pl.String).alias("raw"))


def _month_rejections(parsed: pl.DataFrame, file: str, column: str, file_month: str | None) -> pl.DataFrame:
    if file_month is None:
        return pl.DataFrame(schema=REJECTION_COLUMNS)
    return parsed.filter(~pl.col("_bad") & (pl.col(column).str.strip_chars() != file_month)).select(
        pl.lit(file).alias("file"), pl.col("_line").alias("line"), pl.lit(column).alias("column_name"),
        pl.col(column).alias("value"),
        pl.lit(f"month does not match the file name's month {file_month}").alias("reason"),
        pl.lit(None, pl.String).alias("raw"))


def _unknown_rejections(rows: pl.DataFrame, file: str, column: str, what: str, known: list[str]) -> pl.DataFrame:
    shown = ", ".join(known[:30]) + (", ..." if len(known) > 30 else "")
    return rows.filter(pl.col("indicator_id").is_null()).select(
        pl.lit(file).alias("file"), pl.col("_line").alias("line"), pl.lit(column).alias("column_name"),
        pl.col(column).alias("value"), pl.format(f"unknown {what} '{{}}' (known: {shown})", pl.col(column)).alias("reason"),
        pl.lit(None, pl.String).alias("raw"))


def _districts_by_code() -> pl.DataFrame:
    from spc.geography import lsoa_districts
    return lsoa_districts().select(pl.col("lsoa_code").alias("_place"), pl.col("lad_code").alias("_lad_code"))


def _district_names() -> pl.DataFrame:
    """lad_code -> lad_name (empty when the lookup cannot be read)."""
    try:
        from spc.geography import districts
        return districts().select(pl.col("lad_code").alias("_lad_code"), pl.col("lad_name").alias("_lad_name"))
    except (ImportError, SpcError, OSError):
        return pl.DataFrame(schema={"_lad_code": pl.String, "_lad_name": pl.String})


def _force_texts(info: pl.DataFrame) -> list[str]:
    """'force|normalised name' for every name a row may give for its file's force."""
    mine = info.get_column("_force").unique().to_list()
    texts = {f"{force}|{re.sub(r'[^a-z0-9]', '', force.lower())}" for force in mine}
    try:
        from spc.geography import forces
        table = forces().filter(pl.col("force").is_in(mine))
        for column in ("name", "falls_within"):
            texts |= set(table.select(pl.concat_str(pl.col("force"), pl.lit("|"), _norm(pl.col(column))))
                         .to_series().drop_nulls().to_list())
    except (ImportError, SpcError, OSError):
        pass
    return sorted(texts)
