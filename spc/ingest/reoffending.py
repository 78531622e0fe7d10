"""MoJ proven reoffending, long format (`measure,temporal_unit,date,group,rate,value`).

The proven reoffending rate of each 3-monthly cohort (the "new" measure) becomes one quarterly
observation of `proven_reoffending_rate`: numerator = reoffenders, denominator = cohort,
value = their ratio (a fraction). The file's own `binary` rate is a percentage (0 to 100); when
present it must agree with reoffenders / cohort to 0.1 percentage point, or the cohort is
rejected. Only the chosen offender group (`--group`, default All: adults and juveniles, as the
PCC-area tables) is loaded; rows of the other series (annual cohorts, the old measure, other
groups, other rates) are not used, and their number is shown in the summary.

Area: geography is part of the data, and the file says it. A file with an area column (aliases:
area, PCC area, police force area, PFA; MoJ's PCC-area tables) maps each row by area name or
code, "England and Wales" to the national area; rows of areas not in the catalogue are skipped
and counted, and `--area CODE` loads only that area's rows. A file with no area column is
MoJ's England and Wales series (the long file in `../shared/realdata/moj/` is one): it is stored
under the catalogue's national area ("England and Wales", type national). Naming a local area
with `--area` for such a file is refused, naming the file, what it holds and what to do, and
nothing is written: that is how national figures came to be shown as the force's own. (Loads
made that way before schema version 3 are moved by `spc db init`: `spc.store.geography`.)
"""

from __future__ import annotations

import polars as pl

from spc.errors import SpcError
from spc.ingest.base import Context, Parsed
from spc.ingest.files import SourceFile, read_table
from spc.ingest.validate import Field, find_columns, parse_fields, with_sources
from spc.store.observations import REJECTION_COLUMNS

SOURCE = "reoffending"

COLUMNS: dict[str, tuple[str, ...]] = {
    "measure": ("measure",), "temporal_unit": ("temporal_unit", "temporal unit"), "date": ("date", "cohort"),
    "group": ("group",), "rate": ("rate",), "value": ("value",),
    "area": ("area", "PCC area", "police force area", "PFA"),
}
REQUIRED = ("measure", "temporal_unit", "date", "group", "rate", "value")
USED_RATES = ("cohort", "reoffenders", "binary")


def patterns(ctx: Context) -> tuple[str, ...]:
    """File names taken from folders and archives."""
    return ("*.csv",)


def _area_key(name: pl.Expr) -> pl.Expr:
    """An area name or code as matched: lower case, '&' as 'and', single spaces."""
    return (name.str.strip_chars().str.to_lowercase().str.replace_all("&", " and ", literal=True)
            .str.replace_all(r"\s+", " "))


def _national_area(file: SourceFile, columns: list[str], ctx: Context) -> str:
    """Where a file with no area column is stored: the national area, which `--area` may not override."""
    national = ctx.areas.filter(pl.col("type") == "national")
    if national.is_empty():
        raise SpcError(f"{file.name}: the file has no area column, so it holds England and Wales (national) "
                       "figures, but the store has no national area: run `spc db init` to add it from the catalogue")
    code, name = national.row(0)[:2]
    if ctx.area is not None and ctx.area != code:
        shown = ", ".join(c for c in columns if c != "_line")
        raise SpcError(
            f"{file.name}: this is MoJ's {name} (national) series: the file has no area column (its columns: "
            f"{shown}), so its figures are stored under the national area '{code}'. --area {ctx.area} would "
            f"present national figures as that area's own: drop --area. A file of one area's figures needs a "
            f"column naming the area ({', '.join(COLUMNS['area'])}). Nothing was imported.")
    return str(code)


def _reject(rows: pl.DataFrame, file: str, column: str, reason: pl.Expr) -> pl.DataFrame:
    return rows.select(
        pl.lit(file).alias("file"), pl.col("_line").alias("line"), pl.lit(column).alias("column_name"),
        pl.col(column).alias("value"), reason.alias("reason"), pl.lit(None, pl.String).alias("raw"),
    ).cast(REJECTION_COLUMNS)  # type: ignore[arg-type]


def parse(file: SourceFile, ctx: Context) -> Parsed:
    """Read one MoJ long file into quarterly proven reoffending rates for the chosen group."""
    frame, notes, read_problems = read_table(file, ctx.encoding)
    cols = find_columns(frame.columns, COLUMNS, REQUIRED)
    national = None if "area" in cols else _national_area(file, frame.columns, ctx)
    low = {k: pl.col(cols[k]).str.strip_chars().str.to_lowercase() for k in ("measure", "temporal_unit", "group", "rate")}
    chosen = ((low["measure"] == "new") & (low["temporal_unit"] == "3-monthly")
              & (low["group"] == ctx.group.lower()) & low["rate"].is_in(USED_RATES))
    rows = frame.filter(chosen).with_columns(low["rate"].alias("_rate"))
    if rows.height < frame.height:
        notes.append(f"{frame.height - rows.height} rows of other series not used (only the new measure, "
                     f"3-monthly cohorts, group {ctx.group}, rates cohort/reoffenders/binary)")
    if national is None:
        names = ctx.area_by_name().with_columns(_area_key(pl.col("_key")))
        rows = rows.with_columns(_area_key(pl.col(cols["area"])).alias("_key")).join(names, on="_key", how="left")
        other = rows.filter(pl.col("area_code").is_null())
        if other.height:
            notes.append(f"{other.height} rows of areas not in the catalogue skipped")
        rows = rows.filter(pl.col("area_code").is_not_null())
        if ctx.area is not None:
            chosen_area = rows.filter(pl.col("area_code") == ctx.area)
            if chosen_area.height < rows.height:
                notes.append(f"{rows.height - chosen_area.height} rows of other areas skipped (--area {ctx.area})")
            rows = chosen_area
    else:
        rows = rows.with_columns(pl.lit(national).alias("area_code"))
        notes.append(f"England and Wales figures (the file has no area column) stored under the national area "
                     f"'{national}'")
    # An empty value is a figure MoJ did not publish (the real file has three such cohorts in
    # 2001): not an error, but not loaded, and said so.
    blank = pl.col(cols["value"]).is_null() | (pl.col(cols["value"]).str.strip_chars() == "")
    unpublished = rows.filter(blank)
    rows = rows.filter(~blank)
    if unpublished.height:
        dates = sorted(unpublished.get_column(cols["date"]).unique().to_list())
        notes.append(f"{unpublished.height} rows with no published value ({', '.join(dates[:6])}"
                     f"{', ...' if len(dates) > 6 else ''}): those cohorts are not loaded")
    parsed, rejected = parse_fields(rows, file.name, [Field(cols["date"], "date", "date"),
                                                      Field(cols["value"], "value", "number")])
    good = parsed.filter(~pl.col("_bad"))
    key = ["area_code", "date", "_rate"]
    dups = good.filter(pl.len().over(key) > 1)
    problems = [rejected, _reject(dups, file.name, cols["date"], pl.format(
        "duplicate {} row for cohort {}", pl.col("_rate"), pl.col("date").cast(pl.String)))]
    good = good.filter(pl.len().over(key) == 1)
    index = ["area_code", "date"]
    wide = good.pivot("_rate", index=index, values="value", aggregate_function="first")
    wide = wide.rename({c: f"value_{c}" for c in wide.columns if c not in index}).join(
        good.pivot("_rate", index=index, values="_line", aggregate_function="first").rename(
            lambda c: c if c in index else f"_line_{c}"), on=index, nulls_equal=True)
    for rate in USED_RATES:
        for what in ("value", "_line"):
            if f"{what}_{rate}" not in wide.columns:
                wide = wide.with_columns(pl.lit(None, pl.Float64 if what == "value" else pl.Int64).alias(f"{what}_{rate}"))
    incomplete = wide.filter(pl.col("value_cohort").is_null() | pl.col("value_reoffenders").is_null())
    # a cohort with none of its figures published was reported above, not rejected
    incomplete_rows = good.join(incomplete.select("area_code", "date"), on=["area_code", "date"])
    if incomplete_rows.height:
        problems.append(_reject(incomplete_rows, file.name, cols["rate"], pl.format(
            "cohort {} has no {} value (need both cohort and reoffenders)", pl.col("date").cast(pl.String),
            pl.when(pl.col("_rate") == "reoffenders").then(pl.lit("cohort")).otherwise(pl.lit("reoffenders")))))
    wide = wide.join(incomplete.select("area_code", "date"), on=["area_code", "date"], how="anti")
    observations = wide.select(
        pl.lit("proven_reoffending_rate").alias("indicator_id"), "area_code",
        pl.col("date").alias("period_start"), pl.lit("quarter").alias("period_grain"),
        (pl.col("value_binary") / 100).alias("value"),  # the file states percentages
        pl.col("value_reoffenders").alias("numerator"), pl.col("value_cohort").alias("denominator"),
        pl.coalesce("_line_reoffenders", "_line_cohort").alias("_line"),
        pl.lit(f"{cols['value']} (binary, %)").alias("_col_value"),
        pl.lit(f"{cols['value']} (reoffenders)").alias("_col_numerator"),
        pl.lit(f"{cols['value']} (cohort)").alias("_col_denominator"))
    observations = with_sources(observations, period=cols["date"], area=cols.get("area"), indicator=cols["rate"])
    return Parsed(observations=observations.sort("area_code", "period_start"), rows_read=frame.height,
                  rejected=pl.concat(problems).sort("line"), notes=notes,
                  read_problems=read_problems)
