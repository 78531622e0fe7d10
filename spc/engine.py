"""The SPC engine: every series of a long frame analysed in one vectorised pass.

``analyse(data, specs)`` returns an :class:`Analysis` with a points frame, a phases
frame and a summary frame (columns in docs/ENGINE_API.md). Limits come from
:mod:`spc.charts` (one function per chart type), rules from :mod:`spc.rules`.
There is no Python loop over series or points: a spec frame is joined on
``series`` and every step is a polars expression over ``(series, phase)``.

Missing values (a null ``value``, or a null numerator and denominator) are
skipped: the row is left out of the points frame and counted in the series'
``warnings``. Every other bad input raises :class:`spc.errors.SpcError`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from spc.charts import CHARTS, COUNT_CHARTS, LINES, RATIO_CHARTS
from spc.errors import SpcError
from spc.rules import RULE_SETS, classify, point_type
from spc.rules.anhoj import runs_analysis

IMPROVEMENTS = ("increase", "decrease", "neutral")
TWO_SIGMA = ("current", "legacy")
#: phases with fewer used points than this have trial limits
TRIAL_BELOW = 12
#: series name given to a frame without a ``series`` column
SINGLE_SERIES = "all"


@dataclass(frozen=True)
class SeriesSpec:
    """How one series is charted and judged (validated on creation)."""

    chart: str = "xmr"
    improvement: str = "neutral"
    target: float | None = None
    rebase: tuple[dt.date, ...] = ()
    baseline_points: int | None = None
    exclude: tuple[dt.date, ...] = ()
    screen_outliers: bool = True
    two_sigma: str = "current"
    shift: int = 7
    trend: int = 7
    rule_set: str = "mdc"

    def __post_init__(self) -> None:
        if self.chart not in CHARTS:
            raise SpcError(f"unknown chart type {self.chart!r}: expected one of {', '.join(CHARTS)}")
        if self.improvement not in IMPROVEMENTS:
            raise SpcError(f"improvement {self.improvement!r}: expected one of {', '.join(IMPROVEMENTS)}")
        if self.two_sigma not in TWO_SIGMA:
            raise SpcError(f"two_sigma {self.two_sigma!r}: expected current or legacy")
        if self.rule_set not in RULE_SETS:
            raise SpcError(f"rule_set {self.rule_set!r}: expected one of {', '.join(RULE_SETS)}")
        for name in ("shift", "trend"):
            if int(getattr(self, name)) < 2:
                raise SpcError(f"{name} length {getattr(self, name)}: expected at least 2 (6 to 8 usual)")
        if self.baseline_points is not None and int(self.baseline_points) < 2:
            raise SpcError(f"baseline_points {self.baseline_points}: expected at least 2")
        object.__setattr__(self, "rebase", tuple(_as_date(d, "rebase") for d in self.rebase))
        object.__setattr__(self, "exclude", tuple(_as_date(d, "exclude") for d in self.exclude))

    def warnings(self) -> list[str]:
        """Option warnings that do not stop the analysis."""
        return [f"{name} length {getattr(self, name)} is outside the usual 6 to 8"
                for name in ("shift", "trend") if not 6 <= getattr(self, name) <= 8]


@dataclass(frozen=True)
class Analysis:
    """Result of :func:`analyse`: ``points``, ``phases`` and ``summary`` frames."""

    points: pl.DataFrame
    phases: pl.DataFrame
    summary: pl.DataFrame
    specs: Mapping[str, SeriesSpec] | SeriesSpec = field(repr=False, default_factory=SeriesSpec)


def _as_date(value: object, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise SpcError(f"{what} date {value!r}: expected an ISO date (YYYY-MM-DD)") from None


# ---------------------------------------------------------------- specs as frames

_SPEC_SCHEMA = {
    "chart": pl.String, "improvement": pl.String, "target": pl.Float64,
    "baseline_points": pl.Int64, "screen_outliers": pl.Boolean, "two_sigma": pl.String,
    "shift": pl.Int64, "trend": pl.Int64, "rule_set": pl.String,
}


def _spec_frames(specs: SeriesSpec | Mapping[str, SeriesSpec], series: pl.Series
                 ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(spec per series, rebase dates, excluded dates) as frames keyed by series."""
    names = series.unique()
    if isinstance(specs, SeriesSpec):
        row = {k: getattr(specs, k) for k in _SPEC_SCHEMA}
        frame = pl.DataFrame({"series": names}).with_columns(
            pl.lit(v, dtype=_SPEC_SCHEMA[k]).alias(k) for k, v in row.items())
        dates = {kind: pl.DataFrame({"series": names}).join(
            pl.DataFrame({"period": list(getattr(specs, kind))}, schema={"period": pl.Date}),
            how="cross") for kind in ("rebase", "exclude")}
        return frame, dates["rebase"], dates["exclude"]
    missing = names.filter(~names.is_in(list(specs)))
    if len(missing):
        raise SpcError(f"series {missing[0]!r}: no spec given (column series)")
    keys = list(specs)
    frame = pl.DataFrame({"series": keys, **{k: [getattr(specs[s], k) for s in keys]
                                             for k in _SPEC_SCHEMA}},
                         schema={"series": pl.String, **_SPEC_SCHEMA})
    dates = {kind: pl.DataFrame(
        [(s, d) for s in keys for d in getattr(specs[s], kind)],
        schema={"series": pl.String, "period": pl.Date}, orient="row")
        for kind in ("rebase", "exclude")}
    return frame, dates["rebase"], dates["exclude"]


# ---------------------------------------------------------------- input checks

def _fail_first(frame: pl.DataFrame, bad: pl.Expr, column: str, expected: str) -> None:
    """Raise naming the first row where ``bad`` holds."""
    hit = frame.filter(bad.fill_null(False)).head(1)
    if hit.height:
        row = hit.row(0, named=True)
        raise SpcError(f"series {row['series']!r}, period {row['period']}, column {column}: "
                       f"{expected} (got {row.get(column)!r})")


def _numeric(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Cast ``column`` to Float64, naming the first value that is not a number."""
    dtype = frame.schema[column]
    if dtype.is_numeric():
        return frame.with_columns(pl.col(column).cast(pl.Float64))
    if dtype not in (pl.String, pl.Null):
        raise SpcError(f"column {column}: expected numbers, got {dtype}")
    cast = pl.col(column).str.strip_chars().cast(pl.Float64, strict=False)
    _fail_first(frame, cast.is_null() & pl.col(column).is_not_null()
                & (pl.col(column).str.strip_chars() != ""), column, "expected a number")
    return frame.with_columns(cast.alias(column))


def _prepare(data: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Columns series, period (date), value, numerator, denominator with checked types."""
    frame = data.collect() if isinstance(data, pl.LazyFrame) else data
    if "period" not in frame.columns:
        raise SpcError("column period: missing (expected ISO dates)")
    if "series" not in frame.columns:
        frame = frame.with_columns(series=pl.lit(SINGLE_SERIES))
    frame = frame.with_columns(pl.col("series").cast(pl.String))
    _fail_first(frame.with_columns(period=pl.lit("?")), pl.col("series").is_null(), "series",
                "expected a series name")
    if frame.schema["period"] != pl.Date:
        if frame.schema["period"] == pl.Datetime or isinstance(frame.schema["period"], pl.Datetime):
            frame = frame.with_columns(pl.col("period").dt.date())
        else:
            raw = pl.col("period").cast(pl.String)
            parsed = raw.str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
            bad = frame.with_columns(_p=parsed).filter(pl.col("_p").is_null()).head(1)
            if bad.height:
                r = bad.row(0, named=True)
                raise SpcError(f"series {r['series']!r}, column period: expected an ISO date, "
                               f"got {r['period']!r}")
            frame = frame.with_columns(parsed.alias("period"))
    has_ratio = {"numerator", "denominator"} <= set(frame.columns)
    if "value" not in frame.columns and not has_ratio:
        raise SpcError("columns: expected value, or numerator and denominator")
    for col in ("value", "numerator", "denominator"):
        if col in frame.columns:
            frame = _numeric(frame, col)
        else:
            frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias(col))
    return frame.select("series", "period", "value", "numerator", "denominator")


def _check(frame: pl.DataFrame) -> pl.DataFrame:
    """Apply the bad-input rules to a frame already joined with its specs; drop missing rows."""
    ratio = pl.col("chart").is_in(list(RATIO_CHARTS))
    num, den = pl.col("numerator"), pl.col("denominator")
    _fail_first(frame, ratio & num.is_not_null() & den.is_null(), "denominator",
                "missing denominator")
    _fail_first(frame, ratio & num.is_null() & den.is_not_null() & pl.col("value").is_null(),
                "numerator", "missing numerator")
    _fail_first(frame, ratio & (den <= 0), "denominator", "expected a positive denominator")
    _fail_first(frame, ratio & (num < 0), "numerator", "expected a count of 0 or more")
    _fail_first(frame, pl.col("chart").is_in(["p", "pp"]) & (num > den), "numerator",
                "numerator above denominator")
    frame = frame.with_columns(
        value=pl.when(ratio & num.is_not_null()).then(num / den).otherwise(pl.col("value")))
    count = pl.col("chart").is_in(list(COUNT_CHARTS - RATIO_CHARTS))
    _fail_first(frame, count & (pl.col("value") < 0), "value", "expected a count of 0 or more")
    _fail_first(frame, pl.col("value").is_infinite() | pl.col("value").is_nan(), "value",
                "expected a finite number")
    _fail_first(frame, pl.col("chart").is_in(["p", "pp"]) & (pl.col("value") > 1), "value",
                "expected a proportion between 0 and 1")
    _fail_first(frame, pl.len().over("series", "period") > 1, "period",
                "duplicate period within the series")
    frame = frame.with_columns(_missing=pl.col("value").is_null())
    missing = frame.group_by("series").agg(n_missing=pl.col("_missing").sum().cast(pl.Int64))
    frame = frame.filter(~pl.col("_missing")).drop("_missing")
    counts = missing.join(frame.group_by("series").len(), on="series", how="left")
    _fail_first(counts.with_columns(period=pl.lit("-"), n_points=pl.col("len").fill_null(0)),
                pl.col("n_points") < 2, "n_points", "expected at least 2 points with values")
    return frame.join(missing, on="series", how="left")


# ---------------------------------------------------------------- the pass

def _phases_and_base(frame: pl.DataFrame, rebase: pl.DataFrame, exclude: pl.DataFrame
                     ) -> pl.DataFrame:
    """Add phase (1-based), excluded and _base (point used for centre and limits)."""
    on = ["series", "period"]
    frame = (frame.sort(on)
             .join(rebase.unique().with_columns(_rebase=pl.lit(True)), on=on, how="left")
             .join(exclude.unique().with_columns(excluded=pl.lit(True)), on=on, how="left"))
    first = pl.int_range(pl.len()).over("series") == 0
    frame = frame.with_columns(
        phase=(pl.col("_rebase").fill_null(False) & ~first).cum_sum().over("series")
        .cast(pl.Int32) + 1,
        excluded=pl.col("excluded").fill_null(False))
    # baseline: the first N points of the phase (as qicharts2's freeze), less any excluded
    rank = pl.int_range(1, pl.len() + 1).over("series", "phase")
    base = ~pl.col("excluded") & (pl.col("baseline_points").is_null()
                                  | (rank <= pl.col("baseline_points")))
    return frame.with_columns(_base=base).drop("_rebase")


def _limits(frame: pl.DataFrame) -> pl.DataFrame:
    """Centre and 1, 2, 3 sigma lines, one chart type at a time (a loop over ~9 types)."""
    parts = [frame.lazy().filter(pl.col("chart") == chart).with_columns(**CHARTS[chart]())
             for chart in frame["chart"].unique().sort()]
    out = pl.concat(parts).sort("series", "period").collect()
    n_base = pl.col("_base").sum().over("series", "phase")
    # a phase with one used point has that value as centre and no limits
    limits = [c for c in LINES if c != "centre"]
    return out.with_columns(
        pl.when(n_base >= 2).then(pl.col(c)).alias(c) for c in limits).with_columns(
        trial_limits=n_base < TRIAL_BELOW)


def _assurance() -> pl.Expr:
    """Target against the latest limits: pass/fail when beyond or on a limit, else inconsistent."""
    target, lo, hi = pl.col("target"), pl.col("lower"), pl.col("upper")
    up = pl.col("improvement") == "increase"
    down = pl.col("improvement") == "decrease"
    return (pl.when(target.is_null() | pl.col("improvement").eq("neutral")
                    | lo.is_null() | hi.is_null()).then(None)
            .when(up & (target <= lo)).then(pl.lit("consistent_pass"))
            .when(up & (target >= hi)).then(pl.lit("consistent_fail"))
            .when(down & (target >= hi)).then(pl.lit("consistent_pass"))
            .when(down & (target <= lo)).then(pl.lit("consistent_fail"))
            .otherwise(pl.lit("inconsistent")))


POINT_COLUMNS = ["series", "period", "value", "numerator", "denominator", "phase", "excluded",
                 *LINES, "outside_limits", "rule", "point_type", "trial_limits"]


def analyse(data: pl.DataFrame | pl.LazyFrame,
            specs: SeriesSpec | Mapping[str, SeriesSpec] | None = None) -> Analysis:
    """Analyse every series of ``data`` under its spec in one vectorised pass.

    ``data`` has ``period`` (date or ISO string), ``value`` or ``numerator`` and
    ``denominator``, and optionally ``series``. ``specs`` is one :class:`SeriesSpec`
    for all series or a mapping from series name to spec (default: XmR, neutral).
    Raises :class:`SpcError` naming series, period and column on bad input.
    """
    specs = SeriesSpec() if specs is None else specs
    frame = _prepare(data)
    spec_frame, rebase, exclude = _spec_frames(specs, frame["series"])
    frame = _check(frame.join(spec_frame, on="series", how="left"))
    frame = _limits(_phases_and_base(frame, rebase, exclude))

    v = pl.col("value")
    points = classify(frame.lazy().with_columns(
        outside_limits=((v > pl.col("upper")) | (v < pl.col("lower"))).fill_null(False))
    ).with_columns(point_type=point_type(pl.col("_dir"), pl.col("improvement"))).collect()

    runs = runs_analysis(points)
    phases = (points.group_by("series", "phase", maintain_order=True).agg(
        start=pl.col("period").first(), end=pl.col("period").last(),
        n_points=pl.len().cast(pl.Int64), n_used=(~pl.col("excluded")).sum().cast(pl.Int64),
        centre=pl.col("centre").last(), lower=pl.col("lower").last(),
        upper=pl.col("upper").last(), trial_limits=pl.col("trial_limits").first())
        .join(runs, on=["series", "phase"], how="left")
        .select("series", "phase", "start", "end", "n_points", "n_used", "centre", "lower",
                "upper", "trial_limits", "runs_signal", "longest_run", "longest_run_max",
                "crossings", "crossings_min")
        .sort("series", "phase"))

    summary = _summary(points, phases, specs)
    return Analysis(points=points.select(POINT_COLUMNS), phases=phases, summary=summary,
                    specs=specs)


def _summary(points: pl.DataFrame, phases: pl.DataFrame,
             specs: SeriesSpec | Mapping[str, SeriesSpec]) -> pl.DataFrame:
    """One row per series: icons, latest point and limits, counts, warnings."""
    rule = pl.col("rule")
    pt = pl.col("point_type")
    summary = points.group_by("series", maintain_order=True).agg(
        chart=pl.col("chart").first(), improvement=pl.col("improvement").first(),
        target=pl.col("target").first(),
        variation=pt.last(), latest_period=pl.col("period").last(),
        latest_value=pl.col("value").last(), latest_phase=pl.col("phase").last(),
        centre=pl.col("centre").last(), lower=pl.col("lower").last(),
        upper=pl.col("upper").last(), n_points=pl.len().cast(pl.Int64),
        n_improvement=(pt == "special_cause_improvement").sum().cast(pl.Int64),
        n_concern=(pt == "special_cause_concern").sum().cast(pl.Int64),
        n_neutral=pt.str.starts_with("special_cause_neutral").sum().cast(pl.Int64),
        n_beyond_limits=pl.col("outside_limits").sum().cast(pl.Int64),
        n_shift=rule.str.contains(" Points (Above|Below) CL").sum().cast(pl.Int64),
        n_trend=rule.str.contains("Point Trend").sum().cast(pl.Int64),
        n_two_of_three=rule.str.starts_with("2 in 3").sum().cast(pl.Int64),
        n_missing=pl.col("n_missing").first(),
        shift_len=pl.col("shift").first(), trend_len=pl.col("trend").first(),
    )
    latest = phases.group_by("series").agg(
        runs_signal=pl.col("runs_signal").last(), trial_limits=pl.col("trial_limits").last())
    warn_missing = pl.when(pl.col("n_missing") > 0).then(
        pl.format("{} missing values skipped", pl.col("n_missing")))
    warn_trial = pl.when(pl.col("trial_limits")).then(
        pl.lit("latest phase has fewer than 12 points: trial limits"))
    warn_len = [pl.when((pl.col(c) < 6) | (pl.col(c) > 8)).then(
        pl.format(f"{name} length {{}} is outside the usual 6 to 8", pl.col(c)))
        for c, name in (("shift_len", "shift"), ("trend_len", "trend"))]
    return (summary.join(latest, on="series", how="left")
            .with_columns(assurance=_assurance())
            .with_columns(warnings=pl.concat_list(warn_missing, warn_trial, *warn_len)
                          .list.drop_nulls())
            .select("series", "chart", "improvement", "target", "variation", "assurance",
                    "latest_period", "latest_value", "latest_phase", "centre", "lower", "upper",
                    "n_points", "n_improvement", "n_concern", "n_neutral", "n_beyond_limits",
                    "n_shift", "n_trend", "n_two_of_three", "runs_signal", "trial_limits",
                    "warnings")
            .sort("series"))
