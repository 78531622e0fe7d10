"""police.uk street and outcomes files (`YYYY-MM-<force>-street.csv`, `...-outcomes.csv`).

Street files give one row per crime or anti-social behaviour incident. They become monthly
counts of anti-social behaviour (`asb_incidents`), of each crime type (`crime_<snake case of
the crime type>`) and of neighbourhood crime, force-wide and per local area of the force.

One force or many: `spc import police-uk PATH` takes a file, a month folder, the police.uk
archive layout (month folders `YYYY-MM/` holding every force's `YYYY-MM-<force>-street.csv`
and `-outcomes.csv`, plain or gzipped) or the archive zip. Files are read one at a time (only
the columns needed are kept), so memory is bounded by the largest file, not the archive.

Mapping decisions:

* The force is the file name's (`2024-01-west-midlands-street.csv` -> west-midlands). A file
  named otherwise is the store's force when the store holds one force.
* The district is the row's `LSOA code` looked up in `spc.geography.lsoa_districts()` (2011 and
  2021 LSOAs -> current local authority district). Only a file without an `LSOA code` column
  falls back to the district named by the LSOA name ("Tamworth 001A" -> Tamworth); an
  unknown name there counts force-wide only, like a row outside the force.
* A row counts towards its file's force (every row: also "No Location" rows, with no LSOA, and
  rows whose LSOA lies outside the force; they are the force's recorded crimes, and this is how
  police.uk counts a force), and towards each local area OF THAT FORCE whose districts (the
  store's `area_district`) hold the row's district. A row in another force's district counts
  force-wide only. No Location and outside rows are counted per file and shown in the import
  summary and the load batch's message.
* `neighbourhood_crime` = Burglary + Robbery + Theft from the person + Vehicle crime (the Home
  Office's neighbourhood crime measure). Bicycle theft and Other theft are not included, as in
  that measure; police.uk's Burglary and Robbery also include business burglary and robbery,
  so the figure is slightly broader than the Home Office's domestic/personal definition.
* A month with no row of a type counts 0: a street file is the complete month.
* Outcomes files give one row per outcome; they become force-wide monthly counts per outcome
  type (`outcome_<snake case>`, catalogue in `data/indicators.d/police_uk.toml`), by the month
  of the outcome. police.uk revises outcomes, so re-importing a later archive revises counts.

Bad input (each names the file, the line and the value; with any rejected row a file loads
nothing unless `--load-good-rows`, and the import is one transaction):

* A file for a force the store does not hold is refused, saying how to make a store for it
  (`spc db init --force NAME`, or `--force all`). In a folder or archive such files are skipped
  and reported (the store's forces are imported); if no file is for the store's forces, the
  import is an error and nothing is written.
* A row whose `Falls within` and `Reported by` both name another force than the file's (a
  month folder mixing forces' rows) is rejected. Both columns name the force that provided the
  data (police.uk's own description; in every real file seen they are equal, also for British
  Transport Police and the City of London), so a row matches when either does.
* A row whose month is not the file name's month is rejected; a file whose name's month is not
  its month folder's (`2024-01/2024-02-x-street.csv`) is refused.
* An `LSOA code` that maps to no district is REJECTED (not counted force-wide only): the lookup
  holds every 2011 and 2021 LSOA of England and Wales, the only codes police.uk uses, so an
  unknown code is a damaged row or an out-of-date lookup. Counting it force-wide only would
  load the force's total while silently leaving a district short; rejecting it stops the file
  (nothing of it loads by default), names the row, and `--load-good-rows` loads the rest (the
  rejected row then counts nowhere, as every rejected row).
* A district in two forces is the lookup's error (`spc.geography`): the import stops before
  anything is written, with the lookup's message.
"""

from __future__ import annotations

import re
from collections import Counter

import polars as pl

from spc.errors import SpcError
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
_MONTH_FOLDER = re.compile(r"^\d{4}-\d{2}$")

STREET_COLUMNS = {"month": ("Month",), "crime_type": ("Crime type",), "lsoa_code": ("LSOA code",),
                  "lsoa_name": ("LSOA name",), "falls_within": ("Falls within",), "reported_by": ("Reported by",)}
OUTCOME_COLUMNS = {"month": ("Month",), "outcome_type": ("Outcome type",), "falls_within": ("Falls within",),
                   "reported_by": ("Reported by",)}
_MAKE_STORE = "make a store for it with `spc db init --force {force}` (or `spc db init --force all` for every force)"


def patterns(ctx: Context) -> tuple[str, ...]:
    """File names taken from folders and archives: every force's street and outcomes files."""
    return ("*-street.csv", "*-outcomes.csv")


def name_parts(file: SourceFile) -> tuple[str, str, str] | None:
    """(month, force, kind) from a police.uk file name, or None for a file named otherwise."""
    match = _NAME.match(file.basename)
    return (match.group(1), match.group(2).lower(), match.group(3).lower()) if match else None


def _known_forces() -> list[str] | None:
    """The forces of England and Wales in the lookup (None when it cannot be read)."""
    try:
        from spc.geography import forces
        return forces().get_column("force").to_list()
    except (ImportError, SpcError, OSError):
        return None


def check_context(ctx: Context) -> None:
    """Read the geography lookups before anything is written (their own checks, e.g. a district in
    two forces, stop the import with the lookup's message)."""
    from spc.geography import districts, forces, lsoa_districts
    forces()
    districts()
    lsoa_districts()


def select_files(files: list[SourceFile], ctx: Context) -> tuple[list[SourceFile], list[str]]:
    """The files to import and notes on those skipped: files found in folders and archives for
    forces the store does not hold are skipped (a file named on the command line is kept, and
    refused by `parse` with the same advice)."""
    kept: list[SourceFile] = []
    skipped: Counter[str] = Counter()
    for file in files:
        parts = name_parts(file)
        if parts is None or file.explicit or parts[1] in ctx.forces:
            kept.append(file)
        else:
            skipped[parts[1]] += 1
    if not skipped:
        return kept, []
    known = _known_forces()
    unknown = sorted(f for f in skipped if known is not None and f not in known)
    makeable = sorted(f for f in skipped if f not in unknown)
    listed = ", ".join(f"{force} ({n} file{'s' if n > 1 else ''})" for force, n in sorted(skipped.items()))
    note = (f"skipped {sum(skipped.values())} file(s) of {len(skipped)} force(s) this store does not hold "
            f"(it holds {', '.join(ctx.forces)}): {listed}.")
    if makeable:
        note += (f" To import them, make a store for them with `spc db init --force {','.join(makeable[:3])}"
                 f"{',...' if len(makeable) > 3 else ''}` (or `spc db init --force all` for every force).")
    if unknown:
        note += (f" Not forces of England and Wales in the geography lookup (forces.csv), so no store can hold them: "
                 f"{', '.join(unknown)}.")
    if not kept:
        raise SpcError(f"no file is for this store's force{'s' if len(ctx.forces) > 1 else ''}: {note}")
    return kept, [note]


def _force_of(file: SourceFile, ctx: Context) -> str:
    parts = name_parts(file)
    if parts is None:
        if len(ctx.forces) == 1:
            return ctx.forces[0]
        raise FileRejected("cannot tell the force: police.uk files are named YYYY-MM-<force>-street.csv or "
                           f"-outcomes.csv, and this store holds {len(ctx.forces)} forces")
    force = parts[1]
    if force not in ctx.forces:
        known = _known_forces()
        held = ", ".join(ctx.forces[:8]) + (", ..." if len(ctx.forces) > 8 else "")
        if known is not None and force not in known:
            raise FileRejected(f"file is for force '{force}', which is not a force of England and Wales in the "
                               f"geography lookup (forces.csv); this store holds {held}", value=force)
        raise FileRejected(f"file is for force '{force}', which this store does not hold (it holds {held}): "
                           + _MAKE_STORE.format(force=force), value=force)
    folder = file.folder
    if folder and _MONTH_FOLDER.match(folder) and folder != parts[0]:
        raise FileRejected(f"the file name's month {parts[0]} is not its month folder's month {folder} "
                           "(a police.uk month folder holds that month's files only)", value=parts[0])
    return force


def parse(file: SourceFile, ctx: Context) -> Parsed:
    """Read one street or outcomes file and count it by month, indicator and area."""
    force = _force_of(file, ctx)
    parts = name_parts(file)
    frame, notes, problems = read_table(file, ctx.encoding)
    kind = parts[2] if parts else ("outcomes" if "Outcome type" in frame.columns else "street")
    file_month = parts[0] if parts else None
    if kind == "outcomes":
        parsed = _outcomes(file, ctx, force, frame, file_month)
    else:
        parsed = _street(file, ctx, force, frame, file_month)
    parsed.notes[:0] = notes
    parsed.read_problems = problems
    return parsed


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
    return lsoa_districts().select(pl.col("lsoa_code").alias("_lsoa"), pl.col("lad_code").alias("_lad_code"))


def _district_names() -> pl.DataFrame:
    """lad_code -> lad_name (empty when the lookup cannot be read)."""
    try:
        from spc.geography import districts
        return districts().select(pl.col("lad_code").alias("_lad_code"), pl.col("lad_name").alias("_lad_name"))
    except (ImportError, SpcError, OSError):
        return pl.DataFrame(schema={"_lad_code": pl.String, "_lad_name": pl.String})


def _street(file: SourceFile, ctx: Context, force: str, frame: pl.DataFrame, file_month: str | None) -> Parsed:
    cols = find_columns(frame.columns, STREET_COLUMNS, ("month", "crime_type"))
    by_code = "lsoa_code" in cols
    if not by_code and "lsoa_name" not in cols:
        find_columns(frame.columns, STREET_COLUMNS, ("lsoa_code",))  # raises naming the column
    place = "lsoa_code" if by_code else "lsoa_name"
    frame = frame.select("_line", *{cols[n] for n in cols})
    parsed, rejected = parse_fields(frame, file.name, [
        Field(cols["month"], "month", "month"),
        Field(cols["crime_type"], "crime_type", "text"),
        Field(cols[place], "_lsoa", "text", required=False),
    ])
    mapping = pl.DataFrame({"crime_type": list(CRIME_TYPES), "indicator_id": list(CRIME_TYPES.values())})
    rows = parsed.join(mapping, on="crime_type", how="left", maintain_order="left")
    if by_code:
        rows = rows.join(_districts_by_code(), on="_lsoa", how="left", maintain_order="left")
        unmapped = rows.filter(~pl.col("_bad") & pl.col("_lsoa").is_not_null() & pl.col("_lad_code").is_null()).select(
            pl.lit(file.name).alias("file"), pl.col("_line").alias("line"), pl.lit(cols[place]).alias("column_name"),
            pl.col(cols[place]).alias("value"),
            pl.format("LSOA code '{}' maps to no district (not in the geography lookup lsoa_districts.csv.gz of "
                      "2011 and 2021 LSOAs of England and Wales)", pl.col("_lsoa")).alias("reason"),
            pl.lit(None, pl.String).alias("raw"))
    else:
        names = _district_names().select(pl.col("_lad_name").str.to_lowercase().alias("_key"), "_lad_code")
        rows = (rows.with_columns(pl.col("_lsoa").str.replace(r"\s*\d{3}[A-Z]$", "").str.to_lowercase().alias("_key"))
                .join(names.unique("_key"), on="_key", how="left", maintain_order="left").drop("_key"))
        unmapped = pl.DataFrame(schema=REJECTION_COLUMNS)
        notes_fallback = ["the file has no 'LSOA code' column: districts taken from the LSOA names"]
    month_bad = _month_rejections(rows, file.name, cols["month"], file_month)
    unknown = _unknown_rejections(rows.filter(~pl.col("_bad")), file.name, cols["crime_type"], "crime type",
                                  list(CRIME_TYPES))
    wrong_force = _force_rejections(rows.filter(~pl.col("_bad")), file.name, cols, force)
    rejected = pl.concat([rejected, month_bad, unknown, wrong_force, unmapped.cast(REJECTION_COLUMNS)]).sort("line")
    bad_lines = rejected.get_column("line").implode()

    # One lazy plan from the good rows to the counts and the summary (collected together, so the
    # shared part runs once).
    local = ctx.local_areas.filter(pl.col("force_code") == force).select(
        pl.col("lad_code").alias("_lad_code"), "area_code")
    good = rows.lazy().filter(~pl.col("_line").is_in(bad_lines)).select("month", "indicator_id", "_lsoa",
                                                                          "_lad_code")
    force_counts = good.group_by("month", "indicator_id").agg(pl.len().alias("n")) \
        .with_columns(pl.lit(force).alias("area_code"))
    local_counts = good.join(local.lazy(), on="_lad_code", how="inner") \
        .group_by("month", "indicator_id", "area_code").agg(pl.len().alias("n"))
    counts = pl.concat([force_counts, local_counts.select("month", "indicator_id", "n", "area_code")])
    area_codes = [force, *local.get_column("area_code").unique().sort().to_list()]
    grid = (good.select("month").unique()
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
    in_area = pl.col("_lad_code").is_in(local.get_column("_lad_code").implode()).fill_null(False)
    is_outside = pl.col("_lsoa").is_not_null() & ~in_area
    summary_plan = good.select(pl.col("_lsoa").is_null().sum().alias("no_location"),
                               is_outside.sum().alias("outside"))
    top_plan = (good.filter(is_outside).group_by("_lad_code").len()
                .join(_district_names().lazy(), on="_lad_code", how="left")
                .select(pl.coalesce("_lad_name", "_lad_code", pl.lit("(no district)")).alias("_place"), "len")
                .sort(["len", "_place"], descending=[True, False]))
    obs, summary, top = pl.collect_all([obs_plan, summary_plan, top_plan])
    obs = with_sources(obs, indicator=cols["crime_type"], area=cols[place], period=cols["month"],
                       value=cols["crime_type"])

    no_location, outside = (int(v) for v in summary.row(0))
    notes: list[str] = [] if by_code else notes_fallback
    extra = {"no location": no_location, "outside areas": outside}
    if no_location:
        notes.append(f"{no_location} 'No Location' rows: in the force-wide counts, in no area")
    if outside:
        listed = ", ".join(f"{r[0]} {r[1]}" for r in top.head(5).iter_rows())
        notes.append(f"{outside} rows in LSOAs outside the force's areas ({listed}{', ...' if top.height > 5 else ''}): "
                     "in the force-wide counts, in no area")
    return Parsed(observations=obs, rows_read=frame.height, rejected=rejected, notes=notes, extra=extra)


def _outcomes(file: SourceFile, ctx: Context, force: str, frame: pl.DataFrame, file_month: str | None) -> Parsed:
    cols = find_columns(frame.columns, OUTCOME_COLUMNS, ("month", "outcome_type"))
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
    wrong_force = _force_rejections(rows.filter(~pl.col("_bad")), file.name, cols, force)
    rejected = pl.concat([rejected, month_bad, unknown, wrong_force]).sort("line")
    good = rows.filter(~pl.col("_line").is_in(rejected.get_column("line").implode()))
    counts = good.group_by("month", "indicator_id").agg(pl.len().alias("n"))
    grid = (good.select("month").unique().join(pl.DataFrame({"indicator_id": outcome_ids}), how="cross")
            .with_columns(pl.lit(force).alias("area_code")))
    full = grid.join(counts, on=["month", "indicator_id"], how="left").with_columns(pl.col("n").fill_null(0))
    obs = full.select(
        "indicator_id", "area_code", pl.col("month").alias("period_start"), pl.lit("month").alias("period_grain"),
        pl.col("n").cast(pl.Float64).alias("value"), pl.lit(None, pl.Float64).alias("numerator"),
        pl.lit(None, pl.Float64).alias("denominator"))
    obs = with_sources(obs, indicator=cols["outcome_type"], period=cols["month"], value=cols["outcome_type"])
    return Parsed(observations=obs.sort("indicator_id", "period_start"), rows_read=frame.height,
                  rejected=rejected,
                  notes=["outcome counts are force-wide, by the month of the outcome"])
