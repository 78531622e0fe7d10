"""Input checks for :func:`spc.engine.analyse`: types, sort order and the bad-input rules.

Every error is an :class:`SpcError` naming the series, period and column (and the source
row when the frame carries a ``_line`` column, as ``spc chart`` adds). Missing values are
not errors: rows with a null value (or a null numerator and denominator) are dropped and
counted per series in ``n_missing``, which the summary reports as a warning.

Xbar and S charts take several rows (measurements) per (series, period): :func:`subgroups`
turns them into one point each; every other chart rejects a duplicate period.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from spc.charts import COUNT_CHARTS, RATIO_CHARTS, SUBGROUP_CHARTS, chart_in
from spc.errors import SpcError

#: series name given to a frame without a ``series`` column
SINGLE_SERIES = "all"


def _fail_first(frame: pl.DataFrame, checks: list[tuple[pl.Expr, str, str]]) -> None:
    """Raise for the first check that fails, naming series, period and column of its first row.

    ``checks`` are (bad-row expression, column, what was expected); all are
    evaluated in one pass and only a failing one is looked at row by row.
    """
    if frame.height == 0 or not checks:
        return
    hits = frame.select(pl.any_horizontal(bad.fill_null(False).any()).alias(str(i))
                        for i, (bad, _, _) in enumerate(checks)).row(0)
    for hit, (bad, column, expected) in zip(hits, checks, strict=True):
        if hit:
            row = frame.filter(bad.fill_null(False)).row(0, named=True)
            where = f"row {row['_line']}, " if row.get("_line") is not None else ""
            got = row.get(column)
            got = got.isoformat() if isinstance(got, dt.date) else repr(got)  # as the user wrote it
            raise SpcError(f"{where}series {row.get('series')!r}, period {row.get('period')}, "
                           f"column {column}: {expected} (got {got})")


def _numeric(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Cast ``column`` to Float64, naming the first value that is not a number."""
    dtype = frame.schema[column]
    if dtype.is_numeric():
        return frame.with_columns(pl.col(column).cast(pl.Float64))
    if dtype not in (pl.String, pl.Null):
        raise SpcError(f"column {column}: expected numbers, got {dtype}")
    text = pl.col(column).str.strip_chars()
    cast = text.cast(pl.Float64, strict=False)
    _fail_first(frame, [(cast.is_null() & (text != ""), column, "expected a number")])
    return frame.with_columns(cast.alias(column))


def prepare(data: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Columns series, period (date), value, numerator, denominator with checked types,
    sorted by series and period (duplicate periods are dealt with by :func:`subgroups`)."""
    frame = data.collect() if isinstance(data, pl.LazyFrame) else data
    if "period" not in frame.columns:
        raise SpcError("column period: missing (expected ISO dates)")
    if "series" not in frame.columns:
        frame = frame.with_columns(series=pl.lit(SINGLE_SERIES))
    frame = frame.with_columns(pl.col("series").cast(pl.String))
    _fail_first(frame, [(pl.col("series").is_null(), "series", "expected a series name")])
    ptype = frame.schema["period"]
    if isinstance(ptype, pl.Datetime):
        frame = frame.with_columns(pl.col("period").dt.date())
    elif ptype != pl.Date:
        text = pl.col("period").cast(pl.String).str.strip_chars()
        parsed = text.str.to_date("%Y-%m-%d", strict=False)
        _fail_first(frame, [(parsed.is_null(), "period", "expected an ISO date (YYYY-MM-DD)")])
        frame = frame.with_columns(parsed.alias("period"))
    if "value" not in frame.columns and not {"numerator", "denominator"} <= set(frame.columns):
        raise SpcError("columns: expected value, or numerator and denominator")
    for col in ("value", "numerator", "denominator"):
        frame = (_numeric(frame, col) if col in frame.columns
                 else frame.with_columns(pl.lit(None, dtype=pl.Float64).alias(col)))
    line = ["_line"] if "_line" in frame.columns else []  # source row, for error messages
    frame = frame.select("series", "period", "value", "numerator", "denominator", *line)
    # _sid: an integer id of each series (rows are sorted by series), so later steps compare
    # integers where they would compare names row by row
    sid = frame["series"].rle_id()
    if not _ordered(frame, sid):
        frame = frame.sort("series", "period", maintain_order=True)
        sid = frame["series"].rle_id()
    return frame.with_columns(sid.alias("_sid"))


def _ordered(frame: pl.DataFrame, sid: pl.Series) -> bool:
    """Rows sorted by series and, within a series, by strictly increasing period (``sid``:
    the series' ``rle_id``).

    Names are compared only where the series changes (one row in sixty for monthly data);
    within a series the periods are compared as the integers behind the dates."""
    if frame.height < 2 or frame["period"].null_count():
        s, p = pl.col("series"), pl.col("period")
        return frame.select(((s > s.shift(1)) | ((s == s.shift(1)) & (p > p.shift(1))))
                            .fill_null(True).all()).item()
    sid = sid.to_numpy()
    new = sid[1:] != sid[:-1]
    day = frame["period"].to_physical().to_numpy()
    if not (new | (day[1:] > day[:-1])).all():
        return False
    names = frame["series"].gather(np.flatnonzero(np.r_[True, new]))
    return bool((names.slice(1) > names.slice(0, len(names) - 1)).all())


def _segment_stats(values: np.ndarray, starts: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per run of rows starting at ``starts``: (non-null count n, mean, sample standard
    deviation, null count); NaN mean for n = 0 and NaN sd for n < 2 (as R's mean and sd)."""
    ok = ~np.isnan(values)
    lengths = np.diff(np.r_[starts, len(values)])
    n = np.add.reduceat(ok.astype(np.int64), starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.add.reduceat(np.where(ok, values, 0.0), starts)
                        / np.maximum(n, 1), np.nan)
        dev = np.where(ok, values - np.repeat(mean, lengths), 0.0)
        sd = np.where(n > 1, np.sqrt(np.add.reduceat(dev * dev, starts)
                                     / np.maximum(n - 1, 1)), np.nan)
    return n, mean, sd, lengths - n


def subgroups(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per (series, period): Xbar and S series' measurements become their subgroup's
    point (``value`` the mean or the standard deviation, with ``_n``, ``_sd`` and ``_skip``,
    the measurements that could not be used); any other chart's duplicate period is an error.

    Takes the frame of :func:`prepare` with its spec columns. A subgroup of one has no
    standard deviation: on an S chart it has no point (and counts as a skipped value).
    """
    s, p, value = pl.col("series"), pl.col("period"), pl.col("value")
    grouped = chart_in(SUBGROUP_CHARTS)
    if frame.select(grouped.any()).item():
        sub, rest = frame.filter(grouped), frame.filter(~grouped)
        _fail_first(sub, [(value.is_infinite() | value.is_nan(), "value",
                           "expected a finite number")])
        # measurements in value order: each subgroup's sums then do not depend on row order
        sub = sub.sort("series", "period", "value", nulls_last=True)
        new = sub.select(((s != s.shift(1)) | (p != p.shift(1))).fill_null(True)).to_series()
        starts = np.flatnonzero(new.to_numpy())
        n, mean, sd, nulls = _segment_stats(sub["value"].to_numpy().astype(np.float64), starts)
        is_s = pl.col("chart") == "s"
        agg = sub.filter(new).with_columns(
            _n=pl.Series(n, dtype=pl.Int64), _sd=pl.Series(sd).fill_nan(None),
            _mean=pl.Series(mean).fill_nan(None), _skip=pl.Series(nulls, dtype=pl.Int64),
            numerator=pl.lit(None, dtype=pl.Float64), denominator=pl.lit(None, dtype=pl.Float64))
        if "_line" in agg.columns:  # name a subgroup by its first row in the file
            agg = agg.with_columns(_line=pl.Series(
                np.minimum.reduceat(sub["_line"].to_numpy(), starts), dtype=agg["_line"].dtype))
        few = agg.filter(is_s).group_by("series").agg(pl.col("_n").max()).filter(
            pl.col("_n") < 2)
        if few.height:
            raise SpcError(f"series {few['series'].sort()[0]!r}, column value: an S chart needs "
                           "subgroups of 2 or more values in the same period")
        agg = agg.with_columns(
            value=pl.when(is_s).then(pl.col("_sd")).otherwise(pl.col("_mean")),
            _skip=pl.col("_skip") + (is_s & (pl.col("_n") == 1)).cast(pl.Int64)).drop("_mean")
        rest = rest.with_columns(_n=pl.lit(None, dtype=pl.Int64),
                                 _sd=pl.lit(None, dtype=pl.Float64),
                                 _skip=value.is_null().cast(pl.Int64))
        frame = pl.concat([rest, agg.select(rest.columns)]).sort("series", "period",
                                                                  maintain_order=True)
    sid = pl.col("_sid")  # the series, as an integer id (see prepare)
    _fail_first(frame, [((sid == sid.shift(1)) & (p == p.shift(1)), "period",
                         "duplicate period within the series")])
    # one contiguous chunk: arithmetic kernels then treat every row alike, so a series
    # gets bit-identical results whatever else is analysed with it
    return frame.rechunk()


def _charts(frame: pl.DataFrame) -> set[str]:
    """The chart types of a frame's rows (one compare when, as usual, all rows agree)."""
    chart = frame["chart"]
    if chart.is_empty():
        return set()
    if (chart == chart[0]).all():
        return {str(chart[0])}
    return set(chart.unique().cast(pl.String).to_list())


def check(frame: pl.DataFrame) -> pl.DataFrame:
    """Apply the bad-input rules to a frame with its spec columns; drop missing values
    (counted per series in ``n_missing``)."""
    ratio = chart_in(RATIO_CHARTS)
    num, den, value = pl.col("numerator"), pl.col("denominator"), pl.col("value")
    proportion = chart_in(["p", "pp"])
    count = chart_in(COUNT_CHARTS - RATIO_CHARTS)
    # a rule of a chart type that no row has holds everywhere: it is not looked for (and
    # value is not rewritten) unless such a chart is present
    present = _charts(frame)
    has_ratio, has_proportion = bool(present & RATIO_CHARTS), bool(present & {"p", "pp"})
    has_count = bool(present & (COUNT_CHARTS - RATIO_CHARTS))
    if has_ratio:
        _fail_first(frame, [
            (ratio & num.is_not_null() & den.is_null(), "denominator", "missing denominator"),
            (ratio & num.is_null() & den.is_not_null(), "numerator", "missing numerator"),
            (ratio & (den <= 0), "denominator", "expected a positive denominator"),
            (ratio & (num < 0), "numerator", "expected a count of 0 or more"),
            *([(proportion & (num > den), "numerator", "numerator above denominator")]
              if has_proportion else []),
        ])
        frame = frame.with_columns(
            value=pl.when(ratio & num.is_not_null()).then(num / den).otherwise(value))
    _fail_first(frame, [
        *([(ratio & value.is_not_null() & den.is_null(), "denominator",
            "this chart needs numerator and denominator")] if has_ratio else []),
        *([(count & (value < 0), "value", "expected a count of 0 or more")]
          if has_count else []),
        (value.is_infinite() | value.is_nan(), "value", "expected a finite number"),
        *([(proportion & (value > 1), "value", "expected a proportion between 0 and 1")]
          if has_proportion else []),
    ])
    missing = value.is_null()
    # values skipped: missing points, or for Xbar and S the measurements not used
    skipped = pl.col("_skip") if "_skip" in frame.columns else missing.cast(pl.Int64)
    if frame.select(missing.any() | (skipped.sum() > 0)).item():
        n_missing = frame.group_by("series").agg(n_missing=skipped.sum().cast(pl.Int64))
        frame = frame.filter(~missing).join(n_missing, on="series", how="left",
                                            maintain_order="left")
        lost = n_missing.join(frame.group_by("series").len(), on="series", how="anti")
        if lost.height:
            raise SpcError(f"series {lost['series'][0]!r}, column value: every value is missing")
    else:
        frame = frame.with_columns(n_missing=pl.lit(0, dtype=pl.Int64))
    if frame.height:  # each series' points are a run of equal _sid (see prepare)
        sid = frame["_sid"].to_numpy()
        starts = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
        short = np.flatnonzero(np.diff(starts, append=len(sid)) < 2)
        if len(short):
            raise SpcError(f"series {frame['series'][int(starts[short[0]])]!r}, column value: "
                           "expected at least 2 points with values")
    return frame
