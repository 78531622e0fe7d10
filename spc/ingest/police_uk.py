"""police.uk street and outcomes files (`YYYY-MM-<force>-street.csv`, `...-outcomes.csv`).

Street files give one row per crime or anti-social behaviour incident. They become monthly
counts of anti-social behaviour (`asb_incidents`), of each crime type (`crime_<snake case of
the crime type>`) and of neighbourhood crime, force-wide and per community safety partnership
area.

Mapping decisions:

* The area is the local authority: the LSOA name without its trailing code ("Tamworth 001A"
  -> Tamworth), matched by name to the catalogue's partnership areas.
* Force-wide counts include every row of the force's file, also "No Location" rows (no LSOA)
  and rows whose LSOA lies outside the force's areas: they are the force's recorded crimes, and
  this is how police.uk counts a force. Those rows are not in any partnership area's count; they
  are counted per file and shown in the import summary and the load batch's message.
* `neighbourhood_crime` = Burglary + Robbery + Theft from the person + Vehicle crime (the Home
  Office's neighbourhood crime measure). Bicycle theft and Other theft are not included, as in
  that measure; police.uk's Burglary and Robbery also include business burglary and robbery,
  so the figure is slightly broader than the Home Office's domestic/personal definition.
* A month with no row of a type counts 0: a street file is the complete month.
* Outcomes files give one row per outcome; they become force-wide monthly counts per outcome
  type (`outcome_<snake case>`, catalogue in `data/indicators.d/police_uk.toml`), by the month
  of the outcome. police.uk revises outcomes, so re-importing a later archive revises counts.
"""

from __future__ import annotations

import re

import polars as pl

from spc.ingest.base import Context, Parsed
from spc.ingest.files import FileRejected, SourceFile, read_table
from spc.ingest.validate import Field, find_columns, parse_fields, with_sources
from spc.store.observations import REJECTION_COLUMNS

SOURCE = "police-uk"

#: police.uk crime types and the indicators they count towards.
CRIME_TYPES = {
    "Anti-social behaviour": "asb_incidents",
    "Bicycle theft": "crime_bicycle_theft",
    "Burglary": "crime_burglary",
    "Criminal damage and arson": "crime_criminal_damage_arson",
    "Drugs": "crime_drugs",
    "Other crime": "crime_other_crime",
    "Other theft": "crime_other_theft",
    "Possession of weapons": "crime_possession_of_weapons",
    "Public order": "crime_public_order",
    "Robbery": "crime_robbery",
    "Shoplifting": "crime_shoplifting",
    "Theft from the person": "crime_theft_from_the_person",
    "Vehicle crime": "crime_vehicle_crime",
    "Violence and sexual offences": "crime_violence_and_sexual_offences",
}
#: The crime types summed into `neighbourhood_crime` (see the module docstring).
NEIGHBOURHOOD_CRIME = ("crime_burglary", "crime_robbery", "crime_theft_from_the_person", "crime_vehicle_crime")

_NAME = re.compile(r"^(\d{4}-\d{2})-(.+)-(street|outcomes)\.csv$", re.IGNORECASE)

STREET_COLUMNS = {"month": ("Month",), "lsoa_name": ("LSOA name",), "crime_type": ("Crime type",)}
OUTCOME_COLUMNS = {"month": ("Month",), "outcome_type": ("Outcome type",)}


def patterns(ctx: Context) -> tuple[str, ...]:
    """File names taken from folders and archives: this store's force's street and outcomes files."""
    return (f"*-{ctx.force}-street.csv", f"*-{ctx.force}-outcomes.csv")


def _grid(months: pl.DataFrame, indicator_ids: list[str], area_codes: list[str]) -> pl.DataFrame:
    return (months.join(pl.DataFrame({"indicator_id": indicator_ids}), how="cross")
            .join(pl.DataFrame({"area_code": area_codes}), how="cross"))


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


def parse(file: SourceFile, ctx: Context) -> Parsed:
    """Read one street or outcomes file and count it by month, indicator and area."""
    match = _NAME.match(file.basename)
    if match and match.group(2).lower() != ctx.force:
        raise FileRejected(f"file is for force '{match.group(2)}'; this store's force is '{ctx.force}'")
    frame, notes, problems = read_table(file, ctx.encoding)
    kind = match.group(3).lower() if match else ("outcomes" if "Outcome type" in frame.columns else "street")
    file_month = match.group(1) if match else None
    if kind == "outcomes":
        parsed = _outcomes(file, ctx, frame, file_month)
    else:
        parsed = _street(file, ctx, frame, file_month)
    parsed.notes[:0] = notes
    parsed.read_problems = problems
    return parsed


def _street(file: SourceFile, ctx: Context, frame: pl.DataFrame, file_month: str | None) -> Parsed:
    cols = find_columns(frame.columns, STREET_COLUMNS, tuple(STREET_COLUMNS))
    parsed, rejected = parse_fields(frame, file.name, [
        Field(cols["month"], "month", "month"),
        Field(cols["crime_type"], "crime_type", "text"),
        Field(cols["lsoa_name"], "lsoa_name", "text", required=False),
    ])
    mapping = pl.DataFrame({"crime_type": list(CRIME_TYPES), "indicator_id": list(CRIME_TYPES.values())})
    rows = parsed.join(mapping, on="crime_type", how="left")
    month_bad = _month_rejections(rows, file.name, cols["month"], file_month)
    unknown = _unknown_rejections(rows.filter(~pl.col("_bad")), file.name, cols["crime_type"], "crime type",
                                  list(CRIME_TYPES))
    rejected = pl.concat([rejected, month_bad, unknown]).sort("line")
    bad_lines = rejected.get_column("line").implode()

    # One lazy plan from the good rows to the counts and the summary (collected together, so the
    # shared part runs once).
    local = ctx.areas.filter(pl.col("type") == "community safety partnership area")
    names = local.lazy().select(pl.col("name").str.to_lowercase().alias("_lad_key"), pl.col("code").alias("area_code"))
    located = (rows.lazy().filter(~pl.col("_line").is_in(bad_lines))
               .with_columns(pl.col("lsoa_name").str.replace(r"\s*\d{3}[A-Z]$", "").alias("_lad"))
               .with_columns(pl.col("_lad").str.to_lowercase().alias("_lad_key"))
               .join(names, on="_lad_key", how="left"))
    force_counts = located.group_by("month", "indicator_id").agg(pl.len().alias("n")) \
        .with_columns(pl.lit(ctx.force).alias("area_code"))
    local_counts = located.filter(pl.col("area_code").is_not_null()) \
        .group_by("month", "indicator_id", "area_code").agg(pl.len().alias("n"))
    counts = pl.concat([force_counts, local_counts.select("month", "indicator_id", "n", "area_code")])
    area_codes = [ctx.force, *local.get_column("code").to_list()]
    grid = (located.select("month").unique()
            .join(pl.LazyFrame({"indicator_id": list(CRIME_TYPES.values())}), how="cross")
            .join(pl.LazyFrame({"area_code": area_codes}), how="cross"))
    full = grid.join(counts, on=["month", "indicator_id", "area_code"], how="left") \
        .with_columns(pl.col("n").fill_null(0))
    neighbourhood = full.filter(pl.col("indicator_id").is_in(NEIGHBOURHOOD_CRIME)) \
        .group_by("month", "area_code").agg(pl.col("n").sum()) \
        .with_columns(pl.lit("neighbourhood_crime").alias("indicator_id"))
    obs_plan = pl.concat([full, neighbourhood.select("month", "indicator_id", "area_code", "n")]).select(
        "indicator_id", "area_code", pl.col("month").alias("period_start"), pl.lit("month").alias("period_grain"),
        pl.col("n").cast(pl.Float64).alias("value"), pl.lit(None, pl.Float64).alias("numerator"),
        pl.lit(None, pl.Float64).alias("denominator")).sort("indicator_id", "area_code", "period_start")
    is_outside = pl.col("lsoa_name").is_not_null() & pl.col("area_code").is_null()
    summary_plan = located.select(pl.col("lsoa_name").is_null().sum().alias("no_location"),
                                  is_outside.sum().alias("outside"), pl.col("_lad").filter(is_outside).n_unique()
                                  .alias("outside_places"))
    top_plan = located.filter(is_outside).group_by("_lad").len().sort(["len", "_lad"], descending=[True, False]).head(5)
    obs, summary, top = pl.collect_all([obs_plan, summary_plan, top_plan])
    obs = with_sources(obs, indicator=cols["crime_type"], area=cols["lsoa_name"], period=cols["month"],
                       value=cols["crime_type"])

    no_location, outside, places = (int(v) for v in summary.row(0))
    notes: list[str] = []
    extra = {"no location": no_location, "outside areas": outside}
    if no_location:
        notes.append(f"{no_location} 'No Location' rows: in the force-wide counts, in no area")
    if outside:
        listed = ", ".join(f"{r[0]} {r[1]}" for r in top.iter_rows())
        notes.append(f"{outside} rows in LSOAs outside the force's areas ({listed}{', ...' if places > 5 else ''}): "
                     "in the force-wide counts, in no area")
    return Parsed(observations=obs, rows_read=frame.height, rejected=rejected, notes=notes, extra=extra)


def _outcomes(file: SourceFile, ctx: Context, frame: pl.DataFrame, file_month: str | None) -> Parsed:
    cols = find_columns(frame.columns, OUTCOME_COLUMNS, tuple(OUTCOME_COLUMNS))
    parsed, rejected = parse_fields(frame, file.name, [
        Field(cols["month"], "month", "month"), Field(cols["outcome_type"], "outcome_type", "text")])
    outcome_ids = sorted(i for i in ctx.indicators.get_column("id").to_list() if i.startswith("outcome_"))
    rows = parsed.with_columns(
        ("outcome_" + pl.col("outcome_type").str.to_lowercase().str.replace_all(r"[^a-z0-9]+", "_")
         .str.strip_chars("_")).alias("_id"))
    rows = rows.with_columns(pl.when(pl.col("_id").is_in(outcome_ids)).then(pl.col("_id")).alias("indicator_id"))
    month_bad = _month_rejections(rows, file.name, cols["month"], file_month)
    unknown = _unknown_rejections(rows.filter(~pl.col("_bad")), file.name, cols["outcome_type"],
                                  "outcome type: no outcome_<snake case> indicator in the catalogue for",
                                  outcome_ids)
    rejected = pl.concat([rejected, month_bad, unknown]).sort("line")
    good = rows.filter(~pl.col("_line").is_in(rejected.get_column("line").implode()))
    counts = good.group_by("month", "indicator_id").agg(pl.len().alias("n"))
    grid = _grid(good.select("month").unique(), outcome_ids, [ctx.force])
    full = grid.join(counts, on=["month", "indicator_id"], how="left").with_columns(pl.col("n").fill_null(0))
    obs = full.select(
        "indicator_id", "area_code", pl.col("month").alias("period_start"), pl.lit("month").alias("period_grain"),
        pl.col("n").cast(pl.Float64).alias("value"), pl.lit(None, pl.Float64).alias("numerator"),
        pl.lit(None, pl.Float64).alias("denominator"))
    obs = with_sources(obs, indicator=cols["outcome_type"], period=cols["month"], value=cols["outcome_type"])
    return Parsed(observations=obs.sort("indicator_id", "period_start"), rows_read=frame.height,
                  rejected=rejected,
                  notes=["outcome counts are force-wide, by the month of the outcome"])
