"""MoJ proven reoffending, long format (`measure,temporal_unit,date,group,rate,value`).

The proven reoffending rate of each 3-monthly cohort (the "new" measure) becomes one quarterly
observation of `proven_reoffending_rate`: numerator = reoffenders, denominator = cohort,
value = their ratio (a fraction). The file's own `binary` rate is a percentage (0 to 100); when
present it must agree with reoffenders / cohort to 0.1 percentage point, or the cohort is
rejected. Only the chosen offender group (`--group`, default All: adults and juveniles, as the
PCC-area tables) is loaded; rows of the other series (annual cohorts, the old measure, other
groups, other rates) are not used, and their number is shown in the summary.

Area (a decision, stated): the MoJ file in `../shared/realdata/moj/` is national (England and
Wales) and has no area column, and the catalogue has no national area. Storing it under the
force without saying so would present national figures as local, so a file without an area
column needs `--area CODE`: the analyst names where the figures are kept, and the load batch's
message records "national (England and Wales) figures stored under area ...". A file with an
area column (aliases: area, PCC area, police force area) maps each row by area name or code;
rows of areas not in the catalogue are skipped and counted.
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


def _reject(rows: pl.DataFrame, file: str, column: str, reason: pl.Expr) -> pl.DataFrame:
    return rows.select(
        pl.lit(file).alias("file"), pl.col("_line").alias("line"), pl.lit(column).alias("column_name"),
        pl.col(column).alias("value"), reason.alias("reason"), pl.lit(None, pl.String).alias("raw"),
    ).cast(REJECTION_COLUMNS)  # type: ignore[arg-type]


def parse(file: SourceFile, ctx: Context) -> Parsed:
    """Read one MoJ long file into quarterly proven reoffending rates for the chosen group."""
    frame, notes, read_problems = read_table(file, ctx.encoding)
    cols = find_columns(frame.columns, COLUMNS, REQUIRED)
    if "area" not in cols and ctx.area is None:
        raise SpcError(f"{file.name}: this file has England and Wales figures and no area column; "
                       "pass --area CODE to say which area to store them under (see `spc import --help`)")
    low = {k: pl.col(cols[k]).str.strip_chars().str.to_lowercase() for k in ("measure", "temporal_unit", "group", "rate")}
    chosen = ((low["measure"] == "new") & (low["temporal_unit"] == "3-monthly")
              & (low["group"] == ctx.group.lower()) & low["rate"].is_in(USED_RATES))
    rows = frame.filter(chosen).with_columns(low["rate"].alias("_rate"))
    if rows.height < frame.height:
        notes.append(f"{frame.height - rows.height} rows of other series not used (only the new measure, "
                     f"3-monthly cohorts, group {ctx.group}, rates cohort/reoffenders/binary)")
    if "area" in cols:
        names = ctx.area_by_name()
        rows = rows.with_columns(pl.col(cols["area"]).str.strip_chars().str.to_lowercase().alias("_key")) \
            .join(names, on="_key", how="left")
        other = rows.filter(pl.col("area_code").is_null())
        if other.height:
            notes.append(f"{other.height} rows of areas not in the catalogue skipped")
        rows = rows.filter(pl.col("area_code").is_not_null())
    else:
        rows = rows.with_columns(pl.lit(ctx.area).alias("area_code"))
        notes.append(f"national (England and Wales) figures stored under area '{ctx.area}' (--area)")
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
