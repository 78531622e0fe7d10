"""Fire response: incidents attended, incidents meeting the attendance standard, mean attendance time.

One row per period (a month `YYYY-MM`, a financial year `2023/24` starting 1 April, or a
calendar year `2023`) and optionally per area. Each row becomes:

* `fire_attendance_standard_met`: numerator = incidents meeting the standard, denominator =
  incidents attended (value = fraction)
* `fire_mean_attendance_minutes`: mean attendance time in minutes (a seconds column is converted)
* `fire_incidents_attended`: incidents attended

The period's grain must match each indicator's frequency in the catalogue (a yearly file for a
monthly indicator is rejected, naming both). Without an area column the figures are stored
under `--area`, default the force-wide area: the fire service covers Staffordshire and
Stoke-on-Trent, the force's area. An area column is matched by area name or code.
"""

from __future__ import annotations

import polars as pl

from spc.ingest.base import Context, Parsed
from spc.ingest.files import SourceFile, read_table
from spc.ingest.validate import Field, find_columns, parse_fields, sum_not_above, with_sources

SOURCE = "fire"

COLUMNS: dict[str, tuple[str, ...]] = {
    "period": ("Period", "Month", "Financial year", "Year", "Date"),
    "area": ("Area", "Area code", "District", "Local authority"),
    "attended": ("Incidents attended", "Incidents", "Attended", "Total incidents", "Number of incidents attended"),
    "met": ("Incidents meeting the standard", "Standard met", "Met standard", "Attendance standard met",
            "Incidents within standard", "Within standard", "Incidents meeting the attendance standard"),
    "mean_minutes": ("Mean attendance minutes", "Mean attendance time", "Mean attendance time (minutes)",
                     "Average attendance time", "Average attendance time (minutes)", "Mean response time"),
    "mean_seconds": ("Mean attendance seconds", "Mean attendance time (seconds)", "Average attendance time (seconds)"),
}


def patterns(ctx: Context) -> tuple[str, ...]:
    """File names taken from folders and archives."""
    return ("*.csv",)


def parse(file: SourceFile, ctx: Context) -> Parsed:
    """Read one fire response file into three observations per row."""
    frame, notes, problems = read_table(file, ctx.encoding)
    cols = find_columns(frame.columns, COLUMNS, ("period", "attended", "met"))
    if "mean_minutes" not in cols and "mean_seconds" not in cols:
        find_columns(frame.columns, COLUMNS, ("mean_minutes",))  # raises naming the accepted headers
    mean = "mean_minutes" if "mean_minutes" in cols else "mean_seconds"
    fields = [Field(cols["period"], "period", "period"), Field(cols["attended"], "attended", "count"),
              Field(cols["met"], "met", "count"), Field(cols[mean], "mean", "number")]
    if "area" in cols:
        fields.append(Field(cols["area"], "area", "text"))
    parsed, rejected = parse_fields(frame, file.name, fields)
    parsed, over = sum_not_above(parsed, file.name, ["met"], "attended", cols["met"],
                                 "incidents meeting the standard ({}) exceed incidents attended ({})")
    good = parsed.filter(~pl.col("_bad"))
    if mean == "mean_seconds":
        good = good.with_columns(pl.col("mean") / 60)
        notes.append("mean attendance time converted from seconds to minutes")
    if "area" in cols:
        good = good.with_columns(pl.col("area").str.to_lowercase().alias("_key")).join(
            ctx.area_by_name(), on="_key", how="left").with_columns(pl.coalesce("area_code", "area").alias("area_code"))
    else:
        good = good.with_columns(pl.lit(ctx.area or ctx.force).alias("area_code"))

    def obs(indicator: str, value: str | None, num: str | None = None, den: str | None = None) -> pl.DataFrame:
        return good.select(
            pl.lit(indicator).alias("indicator_id"), "area_code", pl.col("period").alias("period_start"),
            pl.col("period_grain"),
            (pl.col(value) if value else pl.lit(None)).cast(pl.Float64).alias("value"),
            (pl.col(num) if num else pl.lit(None)).cast(pl.Float64).alias("numerator"),
            (pl.col(den) if den else pl.lit(None)).cast(pl.Float64).alias("denominator"),
            "_line", pl.lit(cols[{"mean": mean}.get(value or num, value or num)]).alias("_col_value"),  # type: ignore[index]
            pl.lit(cols[num] if num else None, pl.String).alias("_col_numerator"),
            pl.lit(cols[den] if den else None, pl.String).alias("_col_denominator"))

    observations = pl.concat([
        obs("fire_attendance_standard_met", None, "met", "attended"),
        obs("fire_mean_attendance_minutes", "mean"),
        obs("fire_incidents_attended", "attended"),
    ])
    observations = with_sources(observations, period=cols["period"], area=cols.get("area"))
    return Parsed(observations=observations, rows_read=frame.height, rejected=pl.concat([rejected, over]).sort("line"),
                  notes=notes, read_problems=problems)
