"""999 call answering (police.uk performance data: monthly, per force).

Each row is a month (and, in the national download, a force): calls received, calls answered
in under 10 seconds, in 10 to 59 seconds, in 60 seconds or more, and the mean answer time in
seconds. It becomes four observations for the month, stored under the force (or `--area`):

* `calls_999_answered_10s`: numerator = answered under 10 s, denominator = calls (value = fraction)
* `calls_999_mean_answer_seconds`: the mean answer time, seconds
* `calls_999_received`: calls received
* `calls_999_answered_60s_plus`: numerator = answered in 60 seconds or more, denominator = calls
  (value = fraction, as the catalogue declares it a proportion)

The headers are not fixed. A header matches when it equals one of the aliases below after
lower-casing and turning every run of other characters into `_` (so "Calls answered in under
10 seconds", "calls_answered_in_under_10_seconds" and "CALLS ANSWERED IN UNDER 10 SECONDS"
are the same). When no header fits a required field, the error names the field and every
accepted header. With a force column, rows of other forces are skipped and counted in the
summary; a force name matches when it reduces to the store's force code ("Staffordshire
Police" -> staffordshire, "Devon & Cornwall Police" -> devon-and-cornwall). In a store of many
forces a file with a force column is stored row by row under each row's force (`--area FORCE`
keeps one force's rows); a file without one needs `--area`. Months may be written YYYY-MM, YYYY-MM-01, or as a month name and
year ("Jan 2024", "January 2024", "Jan-24").
"""

from __future__ import annotations

import polars as pl

from spc.ingest.base import Context, Parsed
from spc.ingest.files import SourceFile, read_table
from spc.ingest.validate import Field, find_columns, parse_fields, sum_not_above, with_sources

SOURCE = "calls-999"

#: Accepted headers for each field (the first is the documented, preferred name).
COLUMNS: dict[str, tuple[str, ...]] = {
    "month": ("Month", "Date", "Period", "Month year", "Year month", "Reporting month"),
    "force": ("Force", "Police force", "Force name", "Police force area"),
    "calls": ("Calls received", "Calls", "Total calls", "Total calls received", "Calls presented",
              "Total calls presented", "Total calls presented to police", "Number of calls", "999 calls",
              "Number of 999 calls", "Total 999 calls"),
    "answered_10s": ("Answered under 10s", "Calls answered in under 10 seconds", "Calls answered under 10 seconds",
                     "Calls answered within 10 seconds", "Answered within 10 seconds", "Under 10 seconds",
                     "Number of calls answered in under 10 seconds", "Answered <10s"),
    "answered_10_59s": ("Answered 10 to 59s", "Calls answered in 10 to 59 seconds",
                        "Calls answered between 10 and 60 seconds", "Calls answered between 10 and 59 seconds",
                        "Between 10 and 60 seconds", "10 to 59 seconds", "Answered 10-59s"),
    "answered_60s_plus": ("Answered 60s plus", "Calls answered in 60 seconds or more", "Calls answered in over 60 seconds",
                          "Calls answered in 60 seconds or over", "60 seconds or more", "Over 60 seconds",
                          "Number of calls answered in 60 seconds or more", "Answered 60s+"),
    "mean_answer_seconds": ("Mean answer seconds", "Mean answer time", "Mean answer time (seconds)",
                            "Average answer time", "Average answer time (seconds)", "Average call answer time",
                            "Average call answer time (seconds)", "Average time to answer"),
}
REQUIRED = ("month", "calls", "answered_10s", "answered_60s_plus", "mean_answer_seconds")


def patterns(ctx: Context) -> tuple[str, ...]:
    """File names taken from folders and archives."""
    return ("*.csv",)


def force_slug(name: pl.Expr) -> pl.Expr:
    """A force's name reduced to a catalogue-style code: "Staffordshire Police" -> "staffordshire"."""
    words = r"\b(police|constabulary|service|force|the)\b"
    slug = (name.str.to_lowercase().str.replace_all("&", " and ").str.replace_all(words, " ")
            .str.replace_all(r"[^a-z0-9]+", "-").str.strip_chars("-"))
    return slug.replace("british-transport", "btp")


def parse(file: SourceFile, ctx: Context) -> Parsed:
    """Read one 999 file into the four monthly observations per row."""
    frame, notes, problems = read_table(file, ctx.encoding)
    cols = find_columns(frame.columns, COLUMNS, REQUIRED)
    rows_read = frame.height
    by_force = "force" in cols and len(ctx.forces) > 1 and (ctx.area is None or ctx.area in ctx.forces)
    if "force" in cols:
        # one force: its rows (under it, or --area); many: each row under its own force (--area naming
        # a force keeps that force's rows)
        wanted = [ctx.area] if by_force and ctx.area else list(ctx.forces) if by_force else [ctx.force]
        frame = frame.with_columns(force_slug(pl.col(cols["force"])).alias("_force"))
        mine = frame.filter(pl.col("_force").is_in(wanted))
        if mine.height < frame.height:
            notes.append(f"{frame.height - mine.height} rows of other forces skipped")
        frame = mine
    fields = [Field(cols["month"], "month", "month")] + [
        Field(cols[name], name, "number" if name == "mean_answer_seconds" else "count")
        for name in ("calls", "answered_10s", "answered_10_59s", "answered_60s_plus", "mean_answer_seconds")
        if name in cols]
    parsed, rejected = parse_fields(frame, file.name, fields)
    parts = [name for name in ("answered_10s", "answered_10_59s", "answered_60s_plus") if name in cols]
    parsed, over = sum_not_above(parsed, file.name, parts, "calls", cols["calls"],
                                 "calls answered ({}) exceed calls received ({})")
    good = parsed.filter(~pl.col("_bad"))
    area = pl.col("_force") if by_force else pl.lit(ctx.area or ctx.force)

    def obs(indicator: str, value: str | None, num: str | None = None, den: str | None = None) -> pl.DataFrame:
        return good.select(
            pl.lit(indicator).alias("indicator_id"), area.alias("area_code"),
            pl.col("month").alias("period_start"), pl.lit("month").alias("period_grain"),
            (pl.col(value) if value else pl.lit(None, pl.Float64)).cast(pl.Float64).alias("value"),
            (pl.col(num) if num else pl.lit(None, pl.Float64)).cast(pl.Float64).alias("numerator"),
            (pl.col(den) if den else pl.lit(None, pl.Float64)).cast(pl.Float64).alias("denominator"),
            "_line", pl.lit(cols[value or num]).alias("_col_value"),  # type: ignore[index]
            pl.lit(cols[num] if num else None, pl.String).alias("_col_numerator"),
            pl.lit(cols[den] if den else None, pl.String).alias("_col_denominator"))

    observations = pl.concat([
        obs("calls_999_answered_10s", None, "answered_10s", "calls"),
        obs("calls_999_mean_answer_seconds", "mean_answer_seconds"),
        obs("calls_999_received", "calls"),
        obs("calls_999_answered_60s_plus", None, "answered_60s_plus", "calls"),
    ])
    observations = with_sources(observations, period=cols["month"], area=cols.get("force"))
    return Parsed(observations=observations, rows_read=rows_read, rejected=pl.concat([rejected, over]).sort("line"),
                  notes=notes, read_problems=problems)
