"""One validation rule set for every importer.

Two stages, both vectorised polars expressions:

1. `find_columns` and `parse_fields` check a file as read: required columns (by header alias),
   types (whole non-negative counts, non-negative numbers, months, dates, financial years) and
   empty required cells. Each bad cell becomes one rejection naming its line, column and value.
2. `check_observations` checks the rows an importer maps to the store: known indicator and area
   codes, the period grain matching the indicator's frequency and the period start lying on
   that grain, a value present, no negative values, whole counts, numerator not above
   denominator, proportions within 0 to 1 (importers convert stated percentages first),
   a given value agreeing with numerator / denominator, and no duplicate keys in the file.

A rejection has the columns of `spc.store.observations.REJECTION_COLUMNS` (file, line,
column_name, value, reason, raw).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from spc.ingest.files import FileRejected
from spc.store.observations import OBSERVATION_COLUMNS, REJECTION_COLUMNS

#: Proportions given with a value and numerator/denominator must agree this closely (fraction).
RATIO_TOLERANCE = 0.001



def normalise_header(name: str) -> str:
    """Header text reduced for alias matching: lower case, runs of other characters to `_`."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def empty_rejections() -> pl.DataFrame:
    """A rejection frame with no rows."""
    return pl.DataFrame(schema=REJECTION_COLUMNS)


def file_rejection(file: str, *problems: FileRejected) -> pl.DataFrame:
    """Rejection rows for problems found while reading a file (one per problem)."""
    return pl.DataFrame(
        {"file": [file] * len(problems), "line": [p.line for p in problems],
         "column_name": [p.column for p in problems], "value": [p.value for p in problems],
         "reason": [p.reason for p in problems], "raw": [None] * len(problems)},
        schema=REJECTION_COLUMNS,
    )


def _delimiter_hint(columns: list[str]) -> str | None:
    if len(columns) == 1:
        for sep, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
            if sep in columns[0]:
                return name
    return None


def find_columns(columns: list[str], spec: dict[str, tuple[str, ...]], required: tuple[str, ...]
                 ) -> dict[str, str]:
    """Map each canonical field in `spec` to the file's header that names it.

    `spec` gives each field its accepted header aliases (compared after `normalise_header`).
    A required field with no matching header raises `FileRejected` naming it, its accepted
    headers and the headers the file has.
    """
    columns = [c for c in columns if c != "_line"]
    by_norm: dict[str, str] = {}
    for col in columns:
        by_norm.setdefault(normalise_header(col), col)
    found: dict[str, str] = {}
    for name, aliases in spec.items():
        for alias in aliases:
            if normalise_header(alias) in by_norm:
                found[name] = by_norm[normalise_header(alias)]
                break
    missing = [name for name in required if name not in found]
    if missing:
        header = ",".join(columns)[:200]
        separator = _delimiter_hint(columns)
        if separator:
            raise FileRejected(f"the file looks {separator}-separated, expected commas (the header is one "
                               f"column: {header!r})", line=1, column=spec[missing[0]][0], value=header)
        details = "; ".join(
            f"'{spec[m][0]}'" + (f" (accepted headers: {', '.join(repr(a) for a in spec[m])})" if len(spec[m]) > 1 else "")
            for m in missing)
        shown = ", ".join(repr(c) for c in columns[:15]) + (" ..." if len(columns) > 15 else "")
        raise FileRejected(f"missing column{'s' if len(missing) > 1 else ''} {details}; the header has {shown}",
                           line=1, column=spec[missing[0]][0], value=header)
    return found


@dataclass(frozen=True)
class Field:
    """How one column is parsed: kind is text, count, number, month, date or period."""

    column: str          # the header in the file
    name: str            # the parsed column's name
    kind: str
    required: bool = True


def _clean(col: str) -> pl.Expr:
    return pl.col(col).str.strip_chars()


def _count(col: str) -> tuple[pl.Expr, pl.Expr]:
    text = _clean(col).str.replace_all(",", "")
    num = text.cast(pl.Float64, strict=False)
    reason = (pl.when(num.is_null()).then(pl.lit("not a number (expected a whole count)"))
              .when(num < 0).then(pl.lit("negative count"))
              .when(num != num.floor()).then(pl.lit("not a whole number (expected a count)")))
    return num, reason


def _number(col: str) -> tuple[pl.Expr, pl.Expr]:
    num = _clean(col).str.replace_all(",", "").cast(pl.Float64, strict=False)
    reason = (pl.when(num.is_null() | num.is_nan() | num.is_infinite()).then(pl.lit("not a number"))
              .when(num < 0).then(pl.lit("negative value")))
    return num, reason


_MONTH = r"^(\d{4})-(\d{2})(?:-(\d{2}))?$"


#: A month name and year as spreadsheets write them: "Jan 2024", "January 2024", "Sept-24", "Jan/2024".
_MONTH_NAME = r"^([A-Za-z]{3,9})[\s/-]+(\d{4}|\d{2})$"
_MONTH_WORDS = ["jan", "january", "feb", "february", "mar", "march", "apr", "april", "may", "jun", "june", "jul",
                "july", "aug", "august", "sep", "sept", "september", "oct", "october", "nov", "november", "dec",
                "december"]


def _month(col: str) -> tuple[pl.Expr, pl.Expr]:
    """A month: YYYY-MM, YYYY-MM-01, or a month name and year (Jan 2024, January 2024, Jan-24)."""
    text = _clean(col)
    parts = text.str.extract_groups(_MONTH)
    date = pl.date(parts.struct.field("1").cast(pl.Int32, strict=False),
                   parts.struct.field("2").cast(pl.Int8, strict=False), 1)
    ok_month = parts.struct.field("2").cast(pl.Int32, strict=False).is_between(1, 12)
    name = text.str.extract_groups(_MONTH_NAME)
    year = name.struct.field("2")
    year = pl.when(year.str.len_chars() == 2).then("20" + year).otherwise(year)   # "Jan-24" is 2024
    known = name.struct.field("1").str.to_lowercase().is_in(_MONTH_WORDS)
    named = pl.when(known).then(
        pl.format("01 {} {}", name.struct.field("1").str.slice(0, 3), year).str.to_date("%d %b %Y", strict=False))
    value = pl.when(ok_month).then(date).otherwise(named)
    day = parts.struct.field("3")
    reason = (pl.when(value.is_null())
              .then(pl.lit("not a month (expected YYYY-MM, or a month name and year such as Jan 2024)"))
              .when(day.is_not_null() & (day != "01")).then(pl.lit("not the first day of a month")))
    return value, reason


def _date(col: str) -> tuple[pl.Expr, pl.Expr]:
    text = _clean(col).str.slice(0, 10)
    full = text.str.to_date("%Y-%m-%d", strict=False)
    month = (text + "-01").str.to_date("%Y-%m-%d", strict=False)
    value = pl.coalesce(full, pl.when(text.str.len_chars() == 7).then(month))
    reason = pl.when(value.is_null()).then(pl.lit("not a date (expected YYYY-MM-DD or YYYY-MM)"))
    return value, reason


_FY = r"^(\d{4})\s*[/-]\s*(\d{2}|\d{4})$"


def _period(col: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """A month (YYYY-MM), a financial year (2023/24, 2023-24) or a calendar year (2023)."""
    text = _clean(col)
    month, _ = _month(col)
    fy = text.str.extract_groups(_FY)
    start_year = fy.struct.field("1").cast(pl.Int32, strict=False)
    end = fy.struct.field("2")
    end_year = pl.when(end.str.len_chars() == 2).then(start_year // 100 * 100 + end.cast(pl.Int32, strict=False)) \
        .otherwise(end.cast(pl.Int32, strict=False))
    fy_ok = start_year.is_not_null() & (end_year == start_year + 1)
    year = pl.when(text.str.contains(r"^\d{4}$")).then(text.cast(pl.Int32, strict=False))
    is_month = text.str.contains(r"^\d{4}-(0[1-9]|1[0-2])$")
    value = (pl.when(is_month).then(month)
             .when(fy_ok).then(pl.date(start_year, 4, 1))
             .when(year.is_not_null()).then(pl.date(year, 1, 1)))
    grain = pl.when(is_month).then(pl.lit("month")).when(fy_ok | year.is_not_null()).then(pl.lit("year"))
    reason = pl.when(value.is_null()).then(
        pl.lit("not a period (expected a month YYYY-MM, a financial year YYYY/YY or a year YYYY)"))
    return value, grain, reason


def parse_fields(frame: pl.DataFrame, file: str, fields: list[Field]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse the named columns of a string table; return (parsed rows, rejections).

    The parsed frame keeps `_line` and every row (so callers can report row counts) plus a
    boolean `_bad` marking rows with at least one rejected cell. Parsed columns are named by
    `Field.name`; a `period` field also yields `<name>_grain`.
    """
    parsed = frame
    sources: dict[str, str] = {}   # field name -> column holding its raw text
    for f in fields:
        src = f.column
        if f.name in parsed.columns:  # keep the raw text when the parsed column takes its name
            src = f"_raw_{f.name}"
            parsed = parsed.with_columns(pl.col(f.column).alias(src)).drop(f.name)
        sources[f.name] = src
        raw = pl.col(src)
        blank = raw.is_null() | (raw.str.strip_chars() == "")
        grain = None
        if f.kind == "text":
            value, reason = _clean(src), pl.lit(None, pl.String)
        elif f.kind == "count":
            value, reason = _count(src)
        elif f.kind == "number":
            value, reason = _number(src)
        elif f.kind == "month":
            value, reason = _month(src)
        elif f.kind == "date":
            value, reason = _date(src)
        elif f.kind == "period":
            value, grain, reason = _period(src)
        else:
            raise ValueError(f"unknown field kind {f.kind!r}")
        missing = pl.lit("empty (a value is required)") if f.required else pl.lit(None, pl.String)
        exprs = [pl.when(~blank).then(value).alias(f.name),
                 pl.when(blank).then(missing).otherwise(reason).alias(f"_why_{f.name}")]
        if grain is not None:
            exprs.append(pl.when(~blank).then(grain).alias(f"{f.name}_grain"))
        if f.kind == "text":
            parsed = parsed.with_columns(exprs)
        else:
            # Parse each distinct text once (a street file has one month in 10,000 rows), then join back.
            distinct = parsed.select(pl.col(src).unique()).with_columns(exprs)
            parsed = parsed.join(distinct, on=src, how="left", nulls_equal=True, maintain_order="left")
    why = [f"_why_{f.name}" for f in fields]
    parsed = parsed.with_columns(pl.any_horizontal([pl.col(w).is_not_null() for w in why]).alias("_bad"))
    rejections = [
        parsed.filter(pl.col(f"_why_{f.name}").is_not_null()).select(
            pl.lit(file).alias("file"), pl.col("_line").alias("line"), pl.lit(f.column).alias("column_name"),
            pl.col(sources[f.name]).alias("value"), pl.col(f"_why_{f.name}").alias("reason"),
            pl.lit(None, pl.String).alias("raw"))
        for f in fields
    ]
    rejected = pl.concat(rejections).sort("line") if rejections else empty_rejections()
    return parsed.drop(why), rejected.cast(REJECTION_COLUMNS)  # type: ignore[arg-type]


#: Columns an importer hands to `check_observations`: the store's columns, the source line and
#: the file's header names for the indicator, area, period, value, numerator and denominator
#: (used to name the column in a rejection).
SOURCE_COLUMNS = ("_line", "_col_indicator", "_col_area", "_col_period", "_col_value",
                  "_col_numerator", "_col_denominator")


def with_sources(frame: pl.DataFrame, **columns: str | None) -> pl.DataFrame:
    """Attach constant source-column names (`indicator="Crime type"`, ...) to an observation frame."""
    extra = [pl.lit(columns.get(name[5:]), pl.String).alias(name) for name in SOURCE_COLUMNS[1:]
             if name not in frame.columns]
    if "_line" not in frame.columns:
        extra.append(pl.lit(None, pl.Int64).alias("_line"))
    return frame.with_columns(extra)


def _fmt(col: str) -> pl.Expr:
    """A number as shown in a reason: 1200 not 1200.0, and 0.35 not 0.35000000000000003."""
    if col == "period_start":
        return pl.col(col).cast(pl.String)
    number = pl.col(col).cast(pl.Float64, strict=False)
    return (pl.when(number == number.floor()).then(number.cast(pl.Int64, strict=False).cast(pl.String))
            .otherwise(number.round(9).cast(pl.String)))


def check_observations(obs: pl.DataFrame, file: str, indicators: pl.DataFrame, areas: pl.DataFrame
                       ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Apply the store rules to mapped rows; return (good observations, rejections).

    `obs` has the `OBSERVATION_COLUMNS` plus `SOURCE_COLUMNS` (see `with_sources`);
    `indicators` has id, kind, frequency; `areas` has code. Every row failing any rule is
    rejected (one rejection per rule it fails); duplicated keys reject every copy, since the
    file does not say which is right.
    """
    if obs.is_empty():
        return obs.select(list(OBSERVATION_COLUMNS)), empty_rejections()
    ind = indicators.select(pl.col("id").alias("indicator_id"), pl.col("kind").alias("_kind"),
                            pl.col("frequency").alias("_frequency"), pl.lit(True).alias("_known_indicator"))
    known_areas = areas.select(pl.col("code").alias("area_code"), pl.lit(True).alias("_known_area"))
    frame = (obs.with_row_index("_obs")
             .join(ind, on="indicator_id", how="left")
             .join(known_areas, on="area_code", how="left"))
    p = pl.col("period_start")
    on_grain = (pl.when(pl.col("period_grain") == "month").then(p.dt.day() == 1)
                .when(pl.col("period_grain") == "quarter").then((p.dt.day() == 1) & p.dt.month().is_in([1, 4, 7, 10]))
                .when(pl.col("period_grain") == "year").then((p.dt.day() == 1) & p.dt.month().is_in([1, 4]))
                .when(pl.col("period_grain") == "week").then(p.dt.weekday() == 1)
                .otherwise(False))
    num, den, val = pl.col("numerator"), pl.col("denominator"), pl.col("value")
    is_prop = pl.col("_kind").is_in(["proportion", "survey proportion"])
    key = ["indicator_id", "area_code", "period_start"]
    dup_lines = (pl.col("_line").cast(pl.String).drop_nulls().unique(maintain_order=True)
                 .str.join(", ").over(key))
    ratio = num / den
    checks: list[tuple[pl.Expr, pl.Expr, str, pl.Expr]] = [
        # (is bad, reason, source column of the problem, value shown)
        (pl.col("_known_indicator").is_null(),
         pl.format("unknown indicator '{}' (not in the catalogue)", pl.col("indicator_id")),
         "_col_indicator", pl.col("indicator_id")),
        (pl.col("_known_area").is_null(),
         pl.format("unknown area '{}' (not in the catalogue)", pl.col("area_code")), "_col_area", pl.col("area_code")),
        (pl.col("_known_indicator") & (pl.col("period_grain") != pl.col("_frequency")),
         pl.format("period grain '{}' does not match the indicator's frequency '{}'",
                   pl.col("period_grain"), pl.col("_frequency")), "_col_period", _fmt("period_start")),
        (pl.col("period_start").is_null() | ~on_grain,
         pl.format("period {} is not the start of a {}", _fmt("period_start"), pl.col("period_grain")),
         "_col_period", _fmt("period_start")),
        (val.is_null() & (num.is_null() | den.is_null()),
         pl.lit("no value (need a value, or a numerator and a denominator)"), "_col_value", pl.lit(None, pl.String)),
        (val < 0, pl.lit("negative value"), "_col_value", _fmt("value")),
        (num < 0, pl.lit("negative numerator"), "_col_numerator", _fmt("numerator")),
        (den < 0, pl.lit("negative denominator"), "_col_denominator", _fmt("denominator")),
        ((pl.col("_kind") == "count") & (val != val.floor()),
         pl.lit("a count must be a whole number"), "_col_value", _fmt("value")),
        (num > den, pl.format("numerator {} is above the denominator {}", _fmt("numerator"), _fmt("denominator")),
         "_col_numerator", _fmt("numerator")),
        (is_prop & (den == 0), pl.lit("denominator is zero"), "_col_denominator", _fmt("denominator")),
        (is_prop & ((val < 0) | (val > 1)),
         pl.format("proportion {} is outside 0 to 1 (stored as a fraction; state percentages with "
                   "--proportion-scale percent)", _fmt("value")), "_col_value", _fmt("value")),
        (val.is_not_null() & num.is_not_null() & den.is_not_null() & (den > 0)
         & ((val - ratio).abs() > RATIO_TOLERANCE) & is_prop,
         pl.format("value {} does not match numerator / denominator = {}", _fmt("value"),
                   ratio.round(6).cast(pl.String)), "_col_value", _fmt("value")),
        (pl.len().over(key) > 1,
         pl.format("duplicate {} / {} / {} in this file (lines {})", pl.col("indicator_id"),
                   pl.col("area_code"), _fmt("period_start"), dup_lines),
         "_col_period", _fmt("period_start")),
    ]
    reasons = [f"_r{i}" for i in range(len(checks))]
    flagged = frame.with_columns(
        [pl.when(bad.fill_null(False)).then(reason).alias(f"_r{i}") for i, (bad, reason, _, _) in enumerate(checks)]
        + [pl.when(bad.fill_null(False)).then(value.cast(pl.String)).alias(f"_v{i}")
           for i, (bad, _, _, value) in enumerate(checks)]
    ).with_columns(pl.any_horizontal([pl.col(r).is_not_null() for r in reasons]).alias("_any_bad"))
    # One lazy query for all the rules' rejections (polars' per-call overhead dominates small frames).
    bad_rows = flagged.lazy().filter(pl.col("_any_bad"))
    parts = [
        bad_rows.filter(pl.col(f"_r{i}").is_not_null()).select(
            "_obs", pl.lit(file).alias("file"), pl.col("_line").alias("line"),
            pl.col(col).alias("column_name"), pl.col(f"_v{i}").alias("value"), pl.col(f"_r{i}").alias("reason"),
            pl.lit(None, pl.String).alias("raw"))
        for i, (_, _, col, _) in enumerate(checks)
    ]
    rejected = (pl.concat(parts).unique(subset=["_obs", "reason"], keep="first", maintain_order=True)
                .sort("line", "_obs", nulls_last=True).drop("_obs").cast(REJECTION_COLUMNS))  # type: ignore[arg-type]
    good = (flagged.lazy().filter(~pl.col("_any_bad"))
            .with_columns(pl.when(is_prop & num.is_not_null() & den.is_not_null() & (den > 0))
                          .then(ratio).otherwise(val).alias("value"))
            .select(list(OBSERVATION_COLUMNS)))
    good_frame, rejected_frame = pl.collect_all([good, rejected])
    return good_frame, rejected_frame


def rejected_row_count(rejected: pl.DataFrame) -> int:
    """How many rows a set of rejections covers: distinct lines, and each line-less problem once."""
    if rejected.is_empty():
        return 0
    lines = rejected.get_column("line")
    return int(lines.drop_nulls().n_unique() + lines.null_count())


def sum_not_above(parsed: pl.DataFrame, file: str, parts: list[str], total: str, total_column: str,
                  reason: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Reject rows whose `parts` add up to more than `total` (e.g. calls answered > calls received).

    `reason` is formatted with the sum and the total. Returns the frame with `_bad` updated and
    the rejections.
    """
    added = pl.sum_horizontal([pl.col(p).fill_null(0) for p in parts])
    over = ~pl.col("_bad") & (added > pl.col(total))
    flagged = parsed.with_columns(over.alias("_over"))
    rejected = flagged.filter(pl.col("_over")).select(
        pl.lit(file).alias("file"), pl.col("_line").alias("line"), pl.lit(total_column).alias("column_name"),
        pl.col(total_column).alias("value"),
        pl.format(reason, added.cast(pl.Int64), pl.col(total).cast(pl.Int64)).alias("reason"),
        pl.lit(None, pl.String).alias("raw"))
    return (flagged.with_columns((pl.col("_bad") | pl.col("_over")).alias("_bad")).drop("_over"),
            rejected.cast(REJECTION_COLUMNS))  # type: ignore[arg-type]
