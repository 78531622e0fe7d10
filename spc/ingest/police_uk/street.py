"""Street files counted by month, indicator and area, many files in one polars query."""

from __future__ import annotations

import polars as pl

from spc.ingest.base import Context, Parsed
from spc.ingest.files import read_table
from spc.ingest.validate import _month
from spc.store.observations import REJECTION_COLUMNS
from spc.ingest.police_uk.checks import _district_names, _districts_by_code, _force_texts, _norm
from spc.ingest.police_uk.reading import ENGINE, _Read, _street_columns
from spc.ingest.police_uk.selection import CRIME_TYPES, NEIGHBOURHOOD_CRIME


def _street_rows(frame: pl.LazyFrame, cols: dict[str, str], index: pl.Expr) -> pl.LazyFrame:
    """A street file's needed columns under common names: _src (the file), _line, _month_raw,
    _crime_raw, _lsoa_raw (the LSOA code, or name in a file without codes), _fw, _rb."""
    place = cols["lsoa_code" if "lsoa_code" in cols else "lsoa_name"]
    force_cols = [cols[n] for n in ("falls_within", "reported_by") if n in cols]
    absent = pl.lit(None, pl.String)
    return frame.select(
        index.cast(pl.Categorical).alias("_src"), pl.col("_line").cast(pl.Int64), pl.col(cols["month"]).alias("_month_raw"),
        pl.col(cols["crime_type"]).alias("_crime_raw"), pl.col(place).alias("_lsoa_raw"),
        (pl.col(force_cols[0]) if force_cols else absent).alias("_fw"),
        (pl.col(force_cols[-1]) if len(force_cols) > 1 else absent).alias("_rb"))


_FILE_SCHEMA = {"_i": pl.Int32, "_file": pl.String, "_force": pl.String, "_file_month": pl.String,
                "_by_code": pl.Boolean, "_c_month": pl.String, "_c_crime": pl.String, "_c_place": pl.String,
                "_c_force": pl.String, "_c_force2": pl.String}


def _street(files: list[_Read], ctx: Context, reported_by: bool = False) -> list[Parsed]:
    """Count street files (one or many, each with its own force) in one polars query.

    Scanned files are read without `Reported by` (a fifth less to read) unless `reported_by`:
    only when a row's `Falls within` names another force is the count made again with it, as a
    row matches its file's force when either column does."""
    info_rows = []
    parts: list[pl.LazyFrame] = []
    sources: dict[str, int] = {}   # `_src` (a scanned file's path, or #k) -> the file's index
    scans: dict[tuple[str, ...], list[_Read]] = {}
    for k, r in enumerate(files):
        by_code = "lsoa_code" in r.cols
        place = r.cols["lsoa_code" if by_code else "lsoa_name"]
        force_cols = [r.cols[n] for n in ("falls_within", "reported_by") if n in r.cols]
        info_rows.append((k, r.file.name, r.force, r.month, by_code, r.cols["month"], r.cols["crime_type"], place,
                          force_cols[0] if force_cols else None, force_cols[-1] if force_cols else None))
        if r.frame is None:
            scans.setdefault(r.header, []).append(r)
        else:
            parts.append(_street_rows(r.frame.lazy(), r.cols, pl.lit(f"#{k}")))
            sources[f"#{k}"] = k
    info = pl.DataFrame(info_rows, schema=_FILE_SCHEMA, orient="row")
    position = {id(r): k for k, r in enumerate(files)}

    def scan_cols(r: _Read) -> dict[str, str]:
        if reported_by or "falls_within" not in r.cols:
            return r.cols
        return {n: c for n, c in r.cols.items() if n != "reported_by"}

    for group in scans.values():
        paths = {str(r.path): position[id(r)] for r in group}
        sources |= paths
        scanned = pl.scan_csv(list(paths), infer_schema=False, include_file_paths="_path").with_columns(
            pl.lit(None, pl.Int64).alias("_line"))
        parts.append(_street_rows(scanned, scan_cols(group[0]), pl.col("_path")))
    rows = pl.concat(parts, how="vertical")

    # --- the rows reduced to their distinct values and counted (after the LSOA lookup, so a
    # district, not an LSOA, is a key); each distinct value is then checked once
    key = ["_i", "_month_raw", "_crime_raw", "_lad_join", "_unknown", "_fw", "_rb"]
    file_index = pl.col("_src").cast(pl.String).replace_strict(sources, return_dtype=pl.Int32).alias("_i")
    lookup = _districts_by_code().rename({"_place": "_lsoa_raw", "_lad_code": "_lad_join"})

    def keyed(frame: pl.LazyFrame) -> pl.LazyFrame:
        return frame.join(lookup.lazy(), on="_lsoa_raw", how="left").with_columns(
            pl.when(pl.col("_lad_join").is_null()).then(pl.col("_lsoa_raw")).alias("_unknown"))

    # grouped by the file's path as a categorical (cheaper than a column of file numbers per row)
    counted = (keyed(rows).group_by("_src", *key[1:]).agg(pl.len().alias("n")).collect(engine=ENGINE)
               .with_columns(file_index).drop("_src"))
    combos = counted.lazy().join(info.lazy().select("_i", "_force", "_file_month", "_by_code"), on="_i", how="left")
    blank = lambda c: pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "")  # noqa: E731
    month_value, month_reason = _month("_month_raw")
    months = (combos.select("_month_raw", "_file_month").unique()
              .with_columns(month_value.alias("month"), month_reason.alias("_why_month"))
              .with_columns(pl.when(blank("_month_raw")).then(pl.lit("empty (a value is required)"))
                            .when(pl.col("_why_month").is_not_null()).then(pl.col("_why_month"))
                            .when(pl.col("_file_month").is_not_null()
                                  & (pl.col("_month_raw").str.strip_chars() != pl.col("_file_month")))
                            .then(pl.format("month does not match the file name's month {}", pl.col("_file_month")))
                            .alias("_why_month")))
    shown_crimes = ", ".join(list(CRIME_TYPES)[:30])
    crimes = (combos.select("_crime_raw").unique()
              .with_columns(pl.col("_crime_raw").str.strip_chars().replace_strict(CRIME_TYPES, default=None)
                            .alias("indicator_id"))
              .with_columns(pl.when(blank("_crime_raw")).then(pl.lit("empty (a value is required)"))
                            .when(pl.col("indicator_id").is_null())
                            .then(pl.format(f"unknown crime type '{{}}' (known: {shown_crimes})", pl.col("_crime_raw")))
                            .alias("_why_crime")))
    # LSOAs not found as they are: blank (No Location), padded, named (a file without codes), unknown
    unknown = (combos.filter(pl.col("_unknown").is_not_null()).select("_unknown", "_by_code").unique()
               .with_columns(pl.when(~blank("_unknown")).then(pl.col("_unknown").str.strip_chars()).alias("_place"))
               .join(_districts_by_code().lazy().rename({"_lad_code": "_lad_found"}), on="_place", how="left"))
    if not info.get_column("_by_code").all():
        names = (_district_names().select(pl.col("_lad_name").str.to_lowercase().alias("_key"),
                                          pl.col("_lad_code").alias("_lad_by_name")).unique("_key").lazy())
        unknown = (unknown.with_columns(pl.col("_place").str.replace(r"\s*\d{3}[A-Z]$", "").str.to_lowercase()
                                        .alias("_key"))
                   .join(names, on="_key", how="left")
                   .with_columns(pl.when(pl.col("_by_code")).then(pl.col("_lad_found"))
                                 .otherwise(pl.col("_lad_by_name")).alias("_lad_found")).drop("_key", "_lad_by_name"))
    unknown = unknown.with_columns(
        pl.when(pl.col("_by_code") & pl.col("_place").is_not_null() & pl.col("_lad_found").is_null())
        .then(pl.format("LSOA code '{}' maps to no district (not in the geography lookup lsoa_districts.csv.gz "
                        "of 2011 and 2021 LSOAs of England and Wales)", pl.col("_place"))).alias("_why_place"))
    from spc.ingest.calls_999 import force_slug
    wanted = _force_texts(info)
    force_ok = pl.any_horizontal(
        [(pl.concat_str(pl.col("_force"), pl.lit("|"), _norm(pl.col(c))).is_in(wanted)
          | (force_slug(pl.col(c)) == pl.col("_force"))).fill_null(False) for c in ("_fw", "_rb")]
    ) | (pl.col("_fw").is_null() & pl.col("_rb").is_null())
    named = (combos.select("_force", "_fw", "_rb").unique()
             .with_columns(pl.when(~force_ok).then(pl.format(
                 "the row is for '{}', not {}, the force in the file name (each force's rows belong in its own "
                 "YYYY-MM-<force> file)", pl.coalesce("_fw", "_rb"), pl.col("_force"))).alias("_why_force")))
    reasons = ("month", "crime", "place", "force")
    checked = (combos.join(months, on=["_month_raw", "_file_month"], how="left", nulls_equal=True)
               .join(crimes, on="_crime_raw", how="left", nulls_equal=True)
               .join(unknown, on=["_unknown", "_by_code"], how="left", nulls_equal=True)
               .join(named, on=["_force", "_fw", "_rb"], how="left", nulls_equal=True)
               .with_columns(pl.coalesce("_lad_join", "_lad_found").alias("_lad_code"),
                             (pl.col("_lad_join").is_null() & pl.col("_place").is_null()).alias("_noloc"),
                             pl.any_horizontal(pl.col(f"_why_{k}").is_not_null() for k in reasons).alias("_bad")))
    checked, = pl.collect_all([checked])
    if not reported_by and scans and not checked.filter(pl.col("_why_force").is_not_null()).is_empty():
        return _street(files, ctx, reported_by=True)
    bad_combos = checked.filter(pl.col("_bad"))
    rows_read = dict(checked.group_by("_i").agg(pl.col("n").sum()).iter_rows())
    if bad_combos.is_empty():
        rejected_plan = pl.LazyFrame(schema={"_i": pl.Int32, "line": pl.Int64, "value": pl.String,
                                             "reason": pl.String, "_what": pl.String})
    else:   # the lines of the rejected rows (only when there are any): scanned files are read again
        bad_files = set(bad_combos.get_column("_i").unique().to_list())
        again = [_street_rows(read_table(r.file, ctx.encoding, select=lambda h, r=r: _street_columns(h, {}))[0]
                              .lazy(), scan_cols(r), pl.lit(f"#{k}"))
                 for k, r in enumerate(files) if k in bad_files and r.path is not None and r.header]
        sources |= {f"#{k}": k for k in range(len(files))}
        lines = keyed(pl.concat([rows.filter(pl.col("_line").is_not_null()), *again])).with_columns(file_index).join(
            bad_combos.lazy().select(*key, *(f"_why_{k}" for k in reasons)), on=key, how="inner", nulls_equal=True)
        raw_value = {"month": "_month_raw", "crime": "_crime_raw", "place": "_lsoa_raw", "force": None}
        rejected_plan = pl.concat([
            lines.filter(pl.col(f"_why_{k}").is_not_null()).select(
                "_i", pl.col("_line").alias("line"),
                (pl.col(raw_value[k]) if raw_value[k] else pl.coalesce("_fw", "_rb")).alias("value"),
                pl.col(f"_why_{k}").alias("reason"),
                (pl.when(pl.col("_fw").is_null()).then(pl.lit("force2")).otherwise(pl.lit(k)) if k == "force"
                 else pl.lit(k)).alias("_what"))
            for k in reasons]).sort("_i", "line", maintain_order=True)

    # --- counts of the good rows
    local = ctx.local_areas.select(pl.col("force_code").alias("_force"), pl.col("lad_code").alias("_lad_code"),
                                   "area_code")
    local_lads = local.select("_force", "_lad_code").unique().with_columns(pl.lit(True).alias("_in_area"))
    per_file = (checked.lazy().filter(~pl.col("_bad"))
                .group_by("_i", "_force", "month", "indicator_id", "_noloc", "_lad_code").agg(pl.col("n").sum())
                .join(local_lads.lazy(), on=["_force", "_lad_code"], how="left").collect().lazy())
    force_counts = per_file.group_by("_i", "month", "indicator_id", "_force").agg(pl.col("n").sum()) \
        .rename({"_force": "area_code"})
    local_counts = per_file.join(local.lazy(), on=["_force", "_lad_code"], how="inner") \
        .group_by("_i", "month", "indicator_id", "area_code").agg(pl.col("n").sum())
    counts = pl.concat([force_counts, local_counts.select(force_counts.collect_schema().names())])
    areas = pl.concat([info.select("_force", pl.col("_force").alias("area_code")),
                       info.select("_force").unique().join(local.select("_force", "area_code").unique(), on="_force")])
    grid = (per_file.select("_i", "_force", "month").unique()
            .join(pl.LazyFrame({"indicator_id": list(CRIME_TYPES.values())}), how="cross")
            .join(areas.unique().lazy(), on="_force"))
    full = grid.join(counts, on=["_i", "month", "indicator_id", "area_code"], how="left") \
        .with_columns(pl.col("n").fill_null(0))
    neighbourhood = full.filter(pl.col("indicator_id").is_in(NEIGHBOURHOOD_CRIME)) \
        .group_by("_i", "month", "area_code").agg(pl.col("n").sum()) \
        .with_columns(pl.lit("neighbourhood_crime").alias("indicator_id"))
    obs_plan = pl.concat([full.select("_i", "month", "indicator_id", "area_code", "n"),
                          neighbourhood.select("_i", "month", "indicator_id", "area_code", "n")]).select(
        "_i", "indicator_id", "area_code", pl.col("month").alias("period_start"), pl.lit("month").alias("period_grain"),
        pl.col("n").cast(pl.Float64).alias("value"), pl.lit(None, pl.Float64).alias("numerator"),
        pl.lit(None, pl.Float64).alias("denominator")).sort("_i", "indicator_id", "area_code", "period_start")
    sources = info.lazy().select(   # with_sources' columns, per file
        "_i", pl.lit(None, pl.Int64).alias("_line"), pl.col("_c_crime").alias("_col_indicator"),
        pl.col("_c_place").alias("_col_area"), pl.col("_c_month").alias("_col_period"),
        pl.col("_c_crime").alias("_col_value"), pl.lit(None, pl.String).alias("_col_numerator"),
        pl.lit(None, pl.String).alias("_col_denominator"))
    obs_plan = obs_plan.join(sources, on="_i", how="left", maintain_order="left")
    outside = ~pl.col("_noloc") & pl.col("_in_area").is_null()
    summary_plan = per_file.group_by("_i").agg(pl.col("n").filter(pl.col("_noloc")).sum().alias("no_location"),
                                               pl.col("n").filter(outside).sum().alias("outside"))
    top_plan = (per_file.filter(outside).group_by("_i", "_lad_code").agg(pl.col("n").sum().alias("len"))
                .join(_district_names().lazy(), on="_lad_code", how="left")
                .select("_i", pl.coalesce("_lad_name", "_lad_code", pl.lit("(no district)")).alias("_where"), "len")
                .sort(["_i", "len", "_where"], descending=[False, True, False]))
    obs, rejected, summary, top = pl.collect_all([obs_plan, rejected_plan, summary_plan, top_plan])

    results = []
    obs_by = obs.partition_by("_i", as_dict=True, include_key=False)
    rej_by = rejected.partition_by("_i", as_dict=True, include_key=False)
    top_by = top.partition_by("_i", as_dict=True, include_key=False)
    totals = {i: (int(a), int(b)) for i, a, b in summary.iter_rows()}
    empty_obs = obs.clear().drop("_i")
    for k, row in enumerate(info.iter_rows(named=True)):
        names = {"month": row["_c_month"], "crime": row["_c_crime"], "place": row["_c_place"]}
        file_obs = obs_by.get((k,), empty_obs)
        file_rej = rej_by.get((k,))
        if file_rej is None:
            file_rej = pl.DataFrame(schema=REJECTION_COLUMNS)
        else:
            names |= {"force": row["_c_force"], "force2": row["_c_force2"]}
            file_rej = file_rej.select(
                pl.lit(row["_file"]).alias("file"), "line",
                pl.col("_what").replace_strict(names, default=None, return_dtype=pl.String).alias("column_name"),
                "value", "reason", pl.lit(None, pl.String).alias("raw")).cast(REJECTION_COLUMNS)  # type: ignore[arg-type]
        no_location, outside_n = totals.get(k, (0, 0))
        notes: list[str] = [] if row["_by_code"] else [
            "the file has no 'LSOA code' column: districts taken from the LSOA names"]
        if no_location:
            notes.append(f"{no_location} 'No Location' rows: in the force-wide counts, in no area")
        if outside_n:
            places = top_by.get((k,))
            listed = ", ".join(f"{r[0]} {r[1]}" for r in places.head(5).iter_rows()) if places is not None else ""
            more = ", ..." if places is not None and places.height > 5 else ""
            notes.append(f"{outside_n} rows in LSOAs outside the force's areas ({listed}{more}): "
                         "in the force-wide counts, in no area")
        results.append(Parsed(observations=file_obs, rows_read=rows_read.get(k, 0), rejected=file_rej, notes=notes,
                              extra={"no location": no_location, "outside areas": outside_n}))
    return results
