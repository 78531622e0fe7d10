"""Generic tidy files (CSV, Parquet, Excel) for everything else, e.g. the force's own exports.

Columns (header aliases in `COLUMNS`): `indicator` (catalogue id), `area` (area code or name),
`period` (the period's first day, YYYY-MM-DD, or YYYY-MM for a month), and either `value` or
`numerator` and `denominator` (or all three; then value must equal their ratio). An optional
`grain` column must match the indicator's frequency; without it the frequency is assumed and
the period must lie on its start (a quarter starts in January, April, July or October; a year
on 1 January or 1 April).

Proportions are stored as fractions. A file's `value` for a proportion indicator is read as a
fraction (0 to 1) unless the import states `--proportion-scale percent` (0 to 100); a value
outside the stated range is rejected, so 87 is never silently stored as 8,700%.

Line numbers: CSV line (header = 1); Excel row number (header = row 1); Parquet row + 1.
"""

from __future__ import annotations

import io

import polars as pl

from spc.ingest.base import Context, Parsed
from spc.ingest.files import FileRejected, SourceFile, read_table
from spc.ingest.validate import Field, find_columns, parse_fields, with_sources

SOURCE = "tidy"

COLUMNS: dict[str, tuple[str, ...]] = {
    "indicator": ("indicator", "indicator_id"), "area": ("area", "area_code"),
    "period": ("period", "period_start", "date", "month"), "grain": ("grain", "period_grain"),
    "value": ("value",), "numerator": ("numerator",), "denominator": ("denominator",),
}


def patterns(ctx: Context) -> tuple[str, ...]:
    """File names taken from folders and archives."""
    return ("*.csv", "*.parquet", "*.xlsx")


def _read(file: SourceFile, ctx: Context) -> tuple[pl.DataFrame, list[str], list[FileRejected]]:
    name = file.basename.lower()
    if not name.endswith((".parquet", ".xlsx")):
        return read_table(file, ctx.encoding)
    data = file.read()
    try:
        if name.endswith(".parquet"):
            frame, first = pl.read_parquet(io.BytesIO(data)), 1
        else:
            frame, first = pl.read_excel(io.BytesIO(data), engine="openpyxl"), 2
    except Exception as exc:  # any reader failure is a file the user must fix
        raise FileRejected(f"not a readable {name.rsplit('.', 1)[1]} file ({str(exc).splitlines()[0]})") from exc
    frame = frame.select(pl.all().cast(pl.String))
    return frame.with_columns(pl.int_range(first, pl.len() + first, dtype=pl.Int64).alias("_line")), [], []


def parse(file: SourceFile, ctx: Context) -> Parsed:
    """Read one tidy file: one observation per row."""
    frame, notes, problems = _read(file, ctx)
    cols = find_columns(frame.columns, COLUMNS, ("indicator", "area", "period"))
    if "value" not in cols:
        find_columns(frame.columns, {"value": ("value", "numerator and denominator")}, ("value",)) \
            if "numerator" not in cols else find_columns(frame.columns, COLUMNS, ("denominator",))
    fields = [Field(cols["indicator"], "indicator_id", "text"), Field(cols["area"], "area", "text"),
              Field(cols["period"], "period_start", "date")]
    has_ratio = "numerator" in cols and "denominator" in cols
    if "value" in cols:
        fields.append(Field(cols["value"], "value", "number", required=not has_ratio))
    if has_ratio:
        fields += [Field(cols["numerator"], "numerator", "number", required="value" not in cols),
                   Field(cols["denominator"], "denominator", "number", required="value" not in cols)]
    if "grain" in cols:
        fields.append(Field(cols["grain"], "grain", "text", required=False))
    parsed, rejected = parse_fields(frame, file.name, fields)
    good = parsed.filter(~pl.col("_bad"))
    kinds = ctx.indicators.select(pl.col("id").alias("indicator_id"), pl.col("kind").alias("_kind"),
                                  pl.col("frequency").alias("_frequency"))
    good = (good.join(kinds, on="indicator_id", how="left")
            .with_columns(pl.col("area").str.to_lowercase().alias("_key"))
            .join(ctx.area_by_name(), on="_key", how="left"))
    is_prop = pl.col("_kind").is_in(["proportion", "survey proportion"])
    value = pl.col("value") if "value" in cols else pl.lit(None, pl.Float64)
    if ctx.proportion_scale == "percent":
        value = pl.when(is_prop).then(value / 100).otherwise(value)
        notes.append("proportion values read as percentages (0 to 100)")
    grain = pl.coalesce(pl.col("grain").str.to_lowercase() if "grain" in cols else pl.lit(None, pl.String),
                        pl.col("_frequency"), pl.lit("month"))
    observations = good.select(
        "indicator_id", pl.coalesce("area_code", "area").alias("area_code"), "period_start",
        grain.alias("period_grain"), value.cast(pl.Float64).alias("value"),
        (pl.col("numerator") if has_ratio else pl.lit(None)).cast(pl.Float64).alias("numerator"),
        (pl.col("denominator") if has_ratio else pl.lit(None)).cast(pl.Float64).alias("denominator"),
        "_line")
    observations = with_sources(observations, indicator=cols["indicator"], area=cols["area"], period=cols["period"],
                                value=cols.get("value", cols.get("numerator")), numerator=cols.get("numerator"),
                                denominator=cols.get("denominator"))
    return Parsed(observations=observations, rows_read=frame.height, rejected=rejected, notes=notes, read_problems=problems)
