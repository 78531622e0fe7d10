"""Outcomes files counted force-wide by month and outcome type."""

from __future__ import annotations

import polars as pl

from spc.ingest.base import Context, Parsed
from spc.ingest.files import SourceFile
from spc.ingest.validate import Field, _month, find_columns, parse_fields, with_sources
from spc.ingest.police_uk.checks import _force_rejections, _force_texts, _month_rejections, _norm, _unknown_rejections
from spc.ingest.police_uk.reading import _Read
from spc.ingest.police_uk.selection import OUTCOME_COLUMNS


def _outcomes_scanned(files: list[_Read], ctx: Context) -> dict[int, Parsed]:
    """Outcomes files scanned by polars in one query and counted by file, month and outcome type.
    Only files whose every row passes (month, outcome type, Falls within) get a result here; the
    others are read line by line by `_outcomes`, which names each problem's line."""
    if not files:
        return {}
    outcome_ids = sorted(i for i in ctx.indicators.get_column("id").to_list() if i.startswith("outcome_"))
    parts, info_rows = [], []
    for r in files:
        fw = r.cols.get("falls_within") or r.cols.get("reported_by")
        info_rows.append((r.index, r.force, r.month))
        parts.append(pl.scan_csv(r.path, infer_schema=False).select(
            pl.lit(r.index, pl.Int32).alias("_i"), pl.col(r.cols["month"]).alias("_month_raw"),
            pl.col(r.cols["outcome_type"]).alias("_type_raw"),
            (pl.col(fw) if fw else pl.lit(None, pl.String)).alias("_fw")))
    info = pl.DataFrame(info_rows, schema={"_i": pl.Int32, "_force": pl.String, "_file_month": pl.String},
                        orient="row")
    combos = pl.concat(parts).group_by("_i", "_month_raw", "_type_raw", "_fw").agg(pl.len().alias("n")).collect()
    from spc.ingest.calls_999 import force_slug
    wanted = _force_texts(info)
    month_value, _ = _month("_month_raw")
    checked = combos.join(info, on="_i").with_columns(
        month_value.alias("month"),
        ("outcome_" + pl.col("_type_raw").str.to_lowercase().str.replace_all(r"[^a-z0-9]+", "_").str.strip_chars("_"))
        .alias("indicator_id")).with_columns(
        ((pl.col("_month_raw") == pl.col("_file_month")) & pl.col("month").is_not_null()
         & pl.col("indicator_id").is_in(outcome_ids)
         & (pl.col("_fw").is_null() | pl.concat_str(pl.col("_force"), pl.lit("|"), _norm(pl.col("_fw"))).is_in(wanted)
            | (force_slug(pl.col("_fw")) == pl.col("_force")))).fill_null(False).alias("_ok"))
    clean = checked.group_by("_i").agg(pl.col("_ok").all()).filter(pl.col("_ok")).get_column("_i").to_list()
    good = checked.filter(pl.col("_i").is_in(clean))
    counts = good.group_by("_i", "_force", "month", "indicator_id").agg(pl.col("n").sum())
    grid = good.select("_i", "_force", "month").unique().join(pl.DataFrame({"indicator_id": outcome_ids}),
                                                               how="cross")
    obs = (grid.join(counts, on=["_i", "_force", "month", "indicator_id"], how="left")
           .select("_i", "indicator_id", pl.col("_force").alias("area_code"), pl.col("month").alias("period_start"),
                   pl.lit("month").alias("period_grain"), pl.col("n").fill_null(0).cast(pl.Float64).alias("value"),
                   pl.lit(None, pl.Float64).alias("numerator"), pl.lit(None, pl.Float64).alias("denominator"))
           .sort("_i", "indicator_id", "period_start"))
    rows_read = dict(checked.group_by("_i").agg(pl.col("n").sum()).iter_rows())
    by_file = obs.partition_by("_i", as_dict=True, include_key=False)
    results = {}
    for r in files:
        if r.index in clean:
            file_obs = with_sources(by_file[(r.index,)], indicator=r.cols["outcome_type"], period=r.cols["month"],
                                    value=r.cols["outcome_type"])
            results[r.index] = Parsed(observations=file_obs, rows_read=rows_read[r.index],
                                      notes=["outcome counts are force-wide, by the month of the outcome"])
    return results


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
