"""The SPC engine: every series of a long frame analysed in one vectorised pass.

``analyse(data, specs)`` returns an :class:`Analysis` with a points frame, a phases
frame and a summary frame (columns in docs/ENGINE_API.md). Limits come from
:mod:`spc.charts` (one function per chart type), rules from :mod:`spc.rules`.
There is no Python loop over series or points: the spec is joined on ``series`` (or
broadcast when one spec serves all), rows are sorted by series and period, and every step
is a polars expression over contiguous phases identified by integer ids (``_g`` for
series and phase, ``_s`` for series, ``_r`` for a run segment: a phase cut at each gap of
missing periods, so rules, runs and moving ranges never join the points either side of a
gap; see docs/ENGINE_API.md, "Gaps in the periods"). The only loops are over chart types and
rule sets.

Input checks live in :mod:`spc.engine_input`: missing values (a null ``value``, or a
null numerator and denominator) are skipped, left out of the points frame and counted
in the series' ``warnings``; every other bad input raises :class:`spc.errors.SpcError`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from spc.charts import (CHARTS, LINES, RATIO_CHARTS, SEASONAL_CHARTS, SEQUENTIAL_CHARTS, chart_in,
                        lines)
from spc.dates import as_date
from spc.engine_input import check, prepare, subgroups
from spc.errors import SpcError
from spc.rules import (RULE_SETS, classify, classify_numpy, point_type, point_types,
                       rule_labels)
from spc.rules.anhoj import phase_runs
from spc.timeliness import GRAIN_MONTHS

IMPROVEMENTS = ("increase", "decrease", "neutral")
TWO_SIGMA = ("current", "legacy")
#: period grains a series may declare (None: inferred from the series' smallest step); the
#: month-based ones and their sizes are spc.timeliness's, a week is 7 days
FREQUENCIES = ("week", *GRAIN_MONTHS)
#: event charts: a row is an event, not a period, so there are no missing periods
_EVENT_CHARTS = ("g", "t")
#: phases with fewer used points than this have trial limits
TRIAL_BELOW = 12
#: per-season limits need this many used points (years) in each calendar month of a phase
SEASON_MIN_YEARS = 3


@dataclass(frozen=True)
class SeriesSpec:
    """How one series is charted and judged (validated on creation).

    ``frequency`` is the period grain used to find gaps (None: the series' smallest step);
    ``break_at_gaps`` False counts rows as adjacent whatever their dates, as the peers do.

    ``ewma_lambda`` (EWMA weight λ, 0 < λ ≤ 1) and ``cusum_h`` (CUSUM decision interval h, in σ)
    tune the charts for small sustained shifts; ``reference_centre`` and ``reference_sigma``
    give those two charts a known process mean and σ instead of the phase's own.
    ``multiplier`` scales a p, p′, u or u′ chart (1,000: per 1,000 of the denominator), as
    qicharts2's ``multiply``. ``seasonal_limits`` computes centre and limits per calendar month
    within each phase (spychart's seasonal option); a month needs 3 used points (years).
    """

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
    frequency: str | None = None
    break_at_gaps: bool = True
    ewma_lambda: float = 0.2
    cusum_h: float = 5.0
    reference_centre: float | None = None
    reference_sigma: float | None = None
    multiplier: float = 1.0
    seasonal_limits: bool = False

    def __post_init__(self) -> None:
        if self.chart not in CHARTS:
            raise SpcError(f"unknown chart type {self.chart!r}: "
                           f"expected one of {', '.join(CHARTS)}")
        if self.improvement not in IMPROVEMENTS:
            raise SpcError(f"improvement {self.improvement!r}: "
                           f"expected one of {', '.join(IMPROVEMENTS)}")
        if self.two_sigma not in TWO_SIGMA:
            raise SpcError(f"two_sigma {self.two_sigma!r}: expected current or legacy")
        if self.rule_set not in RULE_SETS:
            raise SpcError(f"rule_set {self.rule_set!r}: expected one of {', '.join(RULE_SETS)}")
        if self.frequency is not None and self.frequency not in FREQUENCIES:
            raise SpcError(f"frequency {self.frequency!r}: expected one of "
                           f"{', '.join(FREQUENCIES)} (or None to infer it)")
        for name in ("shift", "trend"):
            if not 2 <= int(getattr(self, name)) <= 30:
                raise SpcError(f"{name} length {getattr(self, name)}: expected 2 to 30 "
                               "(6 to 8 usual)")
        if self.baseline_points is not None and int(self.baseline_points) < 2:
            raise SpcError(f"baseline_points {self.baseline_points}: expected at least 2")
        self._check_chart_options()
        object.__setattr__(self, "rebase", tuple(as_date(d, "rebase date") for d in self.rebase))
        object.__setattr__(self, "exclude", tuple(as_date(d, "exclude date") for d in self.exclude))

    def _check_chart_options(self) -> None:
        """Options that belong to some charts only: refused elsewhere rather than ignored."""
        if not 0 < float(self.ewma_lambda) <= 1:
            raise SpcError(f"ewma_lambda {self.ewma_lambda}: expected above 0 and at most 1 "
                           "(0.05 to 0.3 usual)")
        if not float(self.cusum_h) > 0:
            raise SpcError(f"cusum_h {self.cusum_h}: expected a positive number of sigmas (4 or 5)")
        given = [n for n in ("reference_centre", "reference_sigma") if getattr(self, n) is not None]
        if given and self.chart not in SEQUENTIAL_CHARTS:
            raise SpcError(f"{given[0]}: only for the ewma and cusum charts (chart {self.chart})")
        if self.reference_sigma is not None and not float(self.reference_sigma) > 0:
            raise SpcError(f"reference_sigma {self.reference_sigma}: expected a positive number")
        if not float(self.multiplier) > 0:
            raise SpcError(f"multiplier {self.multiplier}: expected a positive number")
        if float(self.multiplier) != 1 and self.chart not in RATIO_CHARTS:
            raise SpcError(f"multiplier {self.multiplier}: only for charts of a numerator over a "
                           f"denominator (p, pp, u, up), not {self.chart}")
        if self.seasonal_limits and self.chart not in SEASONAL_CHARTS:
            raise SpcError(f"seasonal_limits: not for the {self.chart} chart (expected one of "
                           f"{', '.join(sorted(SEASONAL_CHARTS))})")

    def label(self) -> str:
        """What the chart shows, in words for its axis and caption: "EWMA (λ 0.2)",
        "u chart per 1,000", "XmR chart, limits per calendar month"."""
        names = {"xmr": "XmR chart", "run": "run chart", "p": "p chart", "pp": "p′ chart (Laney)",
                 "u": "u chart", "up": "u′ chart (Laney)", "c": "c chart", "g": "g chart",
                 "t": "t chart", "xbar": "Xbar chart", "s": "S chart",
                 "xmr_ar1": "XmR chart allowing for month-to-month dependence"}
        if self.chart == "ewma":
            text = f"EWMA (λ {self.ewma_lambda:g})"
        elif self.chart == "cusum":
            text = f"CUSUM (k 0.5σ, h {self.cusum_h:g}σ)"
        else:
            text = names.get(self.chart, self.chart)
        if float(self.multiplier) != 1:
            text += f" per {self.multiplier:,.0f}" if float(self.multiplier).is_integer() \
                else f" × {self.multiplier:g}"
        if self.seasonal_limits:  # quarterly data has four "months": its quarters
            text += f", limits per calendar {'quarter' if self.frequency == 'quarter' else 'month'}"
        return text

    def warnings(self) -> list[str]:
        """Option warnings that do not stop the analysis."""
        return [f"{name} length {getattr(self, name)} is outside the usual 6 to 8"
                for name in ("shift", "trend") if not 6 <= getattr(self, name) <= 8]


class Analysis:
    """Result of :func:`analyse`: ``points``, ``phases`` and ``summary`` frames.

    ``phases`` and ``summary`` are computed on first use when :func:`analyse` made the
    analysis (about a third of its time at 100,000 series): a caller that only writes the
    points, as ``spc chart`` does for CSV and Parquet, does not pay for them. They are the same
    frames either way. Built directly, all three are given.
    """

    __slots__ = ("points", "_phases", "_summary", "specs", "_later")

    def __init__(self, points: pl.DataFrame, phases: pl.DataFrame | None = None,
                 summary: pl.DataFrame | None = None,
                 specs: Mapping[str, SeriesSpec] | SeriesSpec | None = None, *,
                 later: Callable[[], tuple[pl.DataFrame, pl.DataFrame]] | None = None) -> None:
        if later is None and (phases is None or summary is None):
            raise TypeError("Analysis needs points, phases and summary")
        self.points = points
        self._phases, self._summary, self._later = phases, summary, later
        self.specs = SeriesSpec() if specs is None else specs

    def _complete(self) -> None:
        if self._later is not None:
            self._phases, self._summary = self._later()
            self._later = None  # and with it the engine's working frame

    @property
    def phases(self) -> pl.DataFrame:
        if self._phases is None:
            self._complete()
        return self._phases

    @property
    def summary(self) -> pl.DataFrame:
        if self._summary is None:
            self._complete()
        return self._summary

    def __reduce__(self) -> tuple:
        # pickled (a cache, another process) as the three frames: the deferred work is a closure
        return (Analysis, (self.points, self.phases, self.summary, self.specs))

    def __repr__(self) -> str:
        return (f"Analysis(points={self.points!r}, phases={self.phases!r}, "
                f"summary={self.summary!r})")


# ---------------------------------------------------------------- specs as frames

# choices as Enums: one byte per row instead of a string (a spec is repeated on every row)
_SPEC_SCHEMA = {
    "chart": pl.Enum(list(CHARTS)), "improvement": pl.Enum(list(IMPROVEMENTS)),
    "target": pl.Float64, "baseline_points": pl.Int64, "screen_outliers": pl.Boolean,
    "two_sigma": pl.Enum(list(TWO_SIGMA)), "shift": pl.Int64, "trend": pl.Int64,
    "rule_set": pl.Enum(list(RULE_SETS)), "frequency": pl.Enum(list(FREQUENCIES)),
    "break_at_gaps": pl.Boolean, "ewma_lambda": pl.Float64, "cusum_h": pl.Float64,
    "reference_centre": pl.Float64, "reference_sigma": pl.Float64, "multiplier": pl.Float64,
    "seasonal_limits": pl.Boolean,
}


def _spec_frames(specs: SeriesSpec | Mapping[str, SeriesSpec], frame: pl.DataFrame
                 ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(frame with its spec columns, rebase dates, excluded dates keyed by series)."""
    date_schema = {"series": pl.String, "period": pl.Date}
    if isinstance(specs, SeriesSpec):
        # one spec for all: literal columns, no join
        frame = frame.with_columns(pl.lit(getattr(specs, k), dtype=t).alias(k)
                                   for k, t in _SPEC_SCHEMA.items())
        dates = {}
        for kind in ("rebase", "exclude"):
            chosen = pl.DataFrame({"period": list(getattr(specs, kind))},
                                  schema={"period": pl.Date})
            dates[kind] = (pl.DataFrame(schema=date_schema) if chosen.is_empty() else
                           pl.DataFrame({"series": frame["series"].unique()}).join(chosen,
                                                                                    how="cross"))
        return frame, dates["rebase"], dates["exclude"]
    names = frame["series"].unique()
    missing = names.filter(~names.is_in(list(specs)))
    if len(missing):
        raise SpcError(f"series {missing[0]!r}: no spec given (column series)")
    keys = list(specs)
    spec_frame = pl.DataFrame({"series": keys, **{k: [getattr(specs[s], k) for s in keys]
                                                  for k in _SPEC_SCHEMA}},
                              schema={"series": pl.String, **_SPEC_SCHEMA})
    dates = {kind: pl.DataFrame([(s, d) for s in keys for d in getattr(specs[s], kind)],
                                schema=date_schema, orient="row")
             for kind in ("rebase", "exclude")}
    frame = frame.join(spec_frame, on="series", how="left", maintain_order="left")
    return frame, dates["rebase"], dates["exclude"]


# ---------------------------------------------------------------- the pass

def _flag_dates(frame: pl.DataFrame, dates: pl.DataFrame, name: str) -> pl.DataFrame:
    """Add boolean ``name``: the point's period is one of ``dates`` for its series."""
    if dates.height == 0:
        return frame.with_columns(pl.lit(False).alias(name))
    return frame.join(dates.unique().with_columns(pl.lit(True).alias(name)),
                      on=["series", "period"], how="left", maintain_order="left"
                      ).with_columns(pl.col(name).fill_null(False))


def _gap_before(frame: pl.DataFrame) -> pl.Series:
    """Periods missing between each point and the previous point of its series (0 for the
    first point, and for g and t charts, whose rows are events rather than periods).

    The grain is the spec's ``frequency`` or, when None, the series' smallest step between
    points: in whole months when that is a month or more (28 to 31 days are one month),
    else in days (7 for weekly data). Steps are counted in whole grains, as
    :func:`spc.timeliness.periods_between` counts them. ``frame`` is sorted by series and
    period, with ``_new`` marking the first row of each series.

    Written in NumPy over whole columns (series are contiguous rows, so a per-series minimum
    is one ``minimum.reduceat``): polars' calendar functions and ``.over()`` cost several
    times more on millions of rows.
    """
    if frame.height == 0:
        return pl.Series("gap_before", [], dtype=pl.Int32)
    big = np.iinfo(np.int32).max
    # days since 1970 as stored (Int32 behind the Date: no conversion)
    day = frame["period"].to_physical().to_numpy().astype(np.int32, copy=False)
    # month number of each day through a table of the days spanned (a calendar cast per row
    # costs more than a lookup)
    low = int(day.min())
    table = np.arange(low, int(day.max()) + 1).astype("datetime64[D]").astype("datetime64[M]")
    month = table.astype(np.int32)[day - low]
    first = frame["_new"].to_numpy()
    starts = np.flatnonzero(first)
    lengths = np.diff(np.r_[starts, len(first)])
    # steps from the row before (into slices of new arrays: np.diff with prepend copies)
    m_step, d_step = np.empty_like(month), np.empty_like(day)
    np.subtract(month[1:], month[:-1], out=m_step[1:])
    np.subtract(day[1:], day[:-1], out=d_step[1:])
    m_step[starts] = big  # no step into a series' first point
    d_step[starts] = big
    # the grain is one per series: worked out on each series' first row, then spread
    min_m = np.minimum.reduceat(m_step, starts)
    min_d = np.minimum.reduceat(d_step, starts)
    # rows first, then the casts (casting every row's Enum to text cost 0.09 s)
    head = frame.select("frequency", "chart")[starts].select(
        pl.col("frequency").cast(pl.String), pl.col("chart").cast(pl.String))
    freq = head["frequency"]
    declared_m = freq.replace_strict(GRAIN_MONTHS, default=0, return_dtype=pl.Int64).to_numpy()
    inferred = freq.is_null().to_numpy()
    week = (freq == "week").fill_null(False).to_numpy()
    # a series of one point has no step (big): no grain, no gap
    grain_m = np.where(inferred, np.where((min_m >= 1) & (min_m < big), min_m, 0), declared_m)
    grain_d = np.where(week, 7, np.where(inferred & (grain_m == 0) & (min_d < big), min_d, 0))
    event = head["chart"].is_in(list(_EVENT_CHARTS)).to_numpy()
    by_month = grain_m > 0
    grain = np.where(by_month, grain_m, grain_d)
    # only a series whose largest step is two grains or more has a gap: find those first,
    # then look at their rows alone (most series have none)
    m_step[starts] = 0
    d_step[starts] = 0
    largest = np.where(by_month, np.maximum.reduceat(m_step, starts),
                       np.maximum.reduceat(d_step, starts))
    gap = np.zeros(len(first), dtype=np.int32)
    some = (grain > 0) & (largest >= 2 * grain) & ~event
    if some.any():
        rows = np.flatnonzero(np.repeat(some, lengths))
        grain_rows = np.repeat(grain[some], lengths[some])
        step = np.where(np.repeat(by_month[some], lengths[some]), m_step[rows], d_step[rows])
        # divide only where a whole grain or more is missing: division is the costly step
        hit = step >= 2 * grain_rows
        gap[rows[hit]] = step[hit] // grain_rows[hit] - 1
    return pl.Series("gap_before", gap, dtype=pl.Int32)


def _phases_and_base(frame: pl.DataFrame, rebase: pl.DataFrame, exclude: pl.DataFrame
                     ) -> pl.DataFrame:
    """Add phase (1-based), excluded, gap_before, _base (used for centre and limits) and the
    integer window ids _g (series, phase) and _r (run segment: series, phase and the stretch
    between gaps).

    The frame is sorted by series and period, so every id is a running count of
    starts: no window functions needed here except the inferred grain of each series.
    """
    frame = _flag_dates(_flag_dates(frame, rebase, "_rebase"), exclude, "excluded")
    at = pl.col  # shorthand
    new_series = (at("_sid") != at("_sid").shift(1)).fill_null(True)  # see prepare
    # _i: row number, to restore the order after work split by chart type or rule set
    frame = frame.with_columns(_new=new_series, _i=pl.int_range(pl.len(), dtype=pl.Int64))
    # _s: 1-based series number; prepare's _sid numbers the series 0, 1, 2... in row order
    # (check drops rows, never a whole series), so this is the running count of _new
    frame = frame.with_columns(_s=at("_sid").cast(pl.Int64) + 1)
    # ids that equal another are the same column, not computed again: without a rebase a
    # phase is its series, without a gap a run segment is its phase
    rebased = rebase.height > 0
    start = at("_new") | at("_rebase")
    frame = frame.with_columns(_g=start.cum_sum().cast(pl.Int64) if rebased else at("_s"))
    frame = frame.with_columns(_gap_before(frame))
    # a gap of one or more missing periods starts a new run segment: rules, runs and moving
    # ranges never join the points either side of it (unless break_at_gaps is off)
    gap = at("break_at_gaps") & (at("gap_before") > 0)
    gaps = frame.select(gap.any()).item()
    frame = frame.with_columns(
        _r=(start | gap).cum_sum().cast(pl.Int64) if gaps else at("_g"),
        phase=((at("_g") - pl.when(at("_new")).then(at("_g")).forward_fill() + 1).cast(pl.Int32)
               if rebased else pl.lit(1, dtype=pl.Int32)))
    base = ~at("excluded")
    if frame.select(at("baseline_points").is_not_null().any()).item():
        # position within the phase, 1-based: baseline = the first N points (qicharts2's
        # freeze), less any excluded ones
        rank = at("_i") - pl.when(at("_g") != at("_g").shift(1).fill_null(-1)).then(
            at("_i")).forward_fill() + 1
        base = base & (at("baseline_points").is_null() | (rank <= at("baseline_points")))
    # telling polars the ids are sorted lets group-bys and windows work on slices (5x faster)
    return frame.with_columns(_base=base, _g=at("_g").set_sorted(), _s=at("_s").set_sorted(),
                              _r=at("_r").set_sorted()).drop("_rebase", "_new", "_sid")


def _seasonal_windows(frame: pl.DataFrame) -> pl.DataFrame:
    """For series with ``seasonal_limits``: rows reordered by (phase, calendar month, period),
    with ``_g`` and ``_r`` the id of each (phase, month) window, so every chart's limits and
    moving ranges (the same month of consecutive years) come per month. ``_phase_g`` and
    ``_phase_r`` keep the phase and run segment ids (the rules work on those); other series
    keep their order and ids. :func:`_limits` restores the order and the ids."""
    season = pl.when(pl.col("seasonal_limits")).then(pl.col("period").dt.month()).otherwise(0)
    frame = frame.with_columns(_phase_g=pl.col("_g"), _phase_r=pl.col("_r"),
                               _season=season.cast(pl.Int8)).sort(
        "_phase_g", "_season", "period", maintain_order=True)
    g, sea = pl.col("_phase_g"), pl.col("_season")
    window = ((g != g.shift(1)) | (sea != sea.shift(1))).fill_null(True).cum_sum().cast(pl.Int64)
    # seasonal windows get negative segment ids, distinct from every ordinary segment
    return frame.with_columns(_g=window, _r=pl.when(sea > 0).then(-window).otherwise(pl.col("_r")))


def _distinct(column: pl.Series) -> list[str]:
    """The sorted distinct values of a spec column (one compare when, as usual, all agree)."""
    if column.is_empty() or (column == column[0]).all():
        return [str(column[0])] if len(column) else []
    return column.unique().cast(pl.String).sort().to_list()


def _limits(frame: pl.DataFrame) -> pl.DataFrame:
    """Centre and 1, 2, 3 sigma lines, one chart type at a time (a loop over ~13 types)."""
    seasonal = bool(frame["seasonal_limits"].any())
    if seasonal:
        frame = _seasonal_windows(frame)
    charts = _distinct(frame["chart"])
    if len(charts) == 1 and not seasonal:
        out = lines(frame.lazy(), charts[0])
    else:
        out = pl.concat([lines(frame.lazy().filter(pl.col("chart") == chart), chart)
                         for chart in charts]).sort("_i").collect(engine=_ENGINE).rechunk().lazy()
    need = pl.when(pl.col("seasonal_limits")).then(SEASON_MIN_YEARS).otherwise(2)
    if seasonal:
        out = out.with_columns(_n_window=pl.col("_base").sum().over("_g"))
        out = out.with_columns(_g=pl.col("_phase_g"), _r=pl.col("_phase_r")).drop(
            "_phase_g", "_phase_r", "_season")
    out = out.with_columns(pl.col("_g").set_sorted(), pl.col("_s").set_sorted(),
                           pl.col("_r").set_sorted())
    if seasonal:
        # used points per phase (per window, _n_window, when limits are per calendar month)
        out = out.with_columns(_n_base=pl.col("_base").sum().over("_g")).collect(engine=_ENGINE)
        few = out.select((pl.col("_n_window") < need).any()).item()
    else:
        # used points per phase counted in NumPy over its contiguous rows; the rows need
        # them only where a phase has too few (rare)
        out = out.collect(engine=_ENGINE)
        starts = _starts(out["_g"].to_numpy())
        lengths = np.diff(np.r_[starts, out.height])
        n_base = _group_sums(out["_base"].to_numpy(), starts)
        few = bool((n_base < 2).any())
        out = out.with_columns(trial_limits=pl.Series(np.repeat(n_base < TRIAL_BELOW, lengths)))
        if few:
            out = out.with_columns(_n_window=pl.Series(np.repeat(n_base, lengths)))
    # a phase with one used point has that value as centre and no limits; a calendar month
    # with fewer than 3 years has no per-season limits
    limits = [c for c in LINES if c != "centre"]
    sequential = chart_in(SEQUENTIAL_CHARTS)
    scale = pl.col("multiplier")
    # each fix below rewrites 6 or 7 columns of every row: looked for first, done if needed
    # (the XmR lines come without NaN: spc.charts.xmr.xmr_lines makes them null)
    nan = charts != ["xmr"] and out.select(pl.any_horizontal(pl.col(LINES).is_nan()).any()).item()
    if nan:  # NaN (0/0 when a proportion is 0 or 1 throughout) means no line: null
        out = out.with_columns(pl.col(LINES).fill_nan(None))
    if few:
        out = out.with_columns(
            [pl.when(pl.col("_n_window") >= need).then(pl.col(c)).alias(c) for c in limits])
    if seasonal:
        out = out.with_columns(trial_limits=pl.col("_n_base") < TRIAL_BELOW).drop("_n_base")
    if "_n_window" in out.columns:
        out = out.drop("_n_window")
    # EWMA and CUSUM are judged by their limits alone: no 1σ and 2σ lines
    if any(c in SEQUENTIAL_CHARTS for c in charts):
        inner = ["lower_2s", "upper_2s", "lower_1s", "upper_1s"]
        out = out.with_columns([pl.when(sequential).then(None).otherwise(pl.col(c)).alias(c)
                                for c in inner])
    # per 1,000 (or any multiplier): the rules compare values with lines, so scaling both
    # after the limits changes nothing but the units
    if bool((frame["multiplier"] != 1).any()):
        out = out.with_columns([(pl.col(c) * scale).alias(c) for c in ("value", *LINES)])
    return out


def _assurance() -> pl.Expr:
    """Target against the latest limits: pass/fail when beyond or on a limit, else inconsistent."""
    target, lo, hi = pl.col("target"), pl.col("lower"), pl.col("upper")
    up = pl.col("improvement") == "increase"
    down = pl.col("improvement") == "decrease"
    # EWMA and CUSUM limits bound a statistic, not the figures a target is about: no icon
    return (pl.when(target.is_null() | pl.col("improvement").eq("neutral")
                    | lo.is_null() | hi.is_null()
                    | chart_in(SEQUENTIAL_CHARTS)).then(None)
            .when(up & (target <= lo)).then(pl.lit("consistent_pass"))
            .when(up & (target >= hi)).then(pl.lit("consistent_fail"))
            .when(down & (target >= hi)).then(pl.lit("consistent_pass"))
            .when(down & (target <= lo)).then(pl.lit("consistent_fail"))
            .otherwise(pl.lit("inconsistent")))


POINT_COLUMNS = ["series", "period", "value", "numerator", "denominator", "phase", "excluded",
                 *LINES, "outside_limits", "rule", "point_type", "trial_limits", "gap_before"]


#: the engine's lazy queries are whole-column work (shifts, fills, cumulative sums, windows)
#: and run on polars' in-memory engine: the streaming engine (polars 2's default) returned
#: columns in hundreds of chunks, and every later step on the frame paid to realign them
#: (0.3 s for one select at 6 million rows)
_ENGINE = "in-memory"
_RULES_STREAMED = True

_TIMINGS: dict[str, float] | None = None  # set to {} to record stage timings (benchmarks)


def _lap(name: str, t0: list[float]) -> None:
    if _TIMINGS is not None:
        now = time.perf_counter()
        _TIMINGS[name] = _TIMINGS.get(name, 0.0) + now - t0[0]
        t0[0] = now


def analyse(data: pl.DataFrame | pl.LazyFrame,
            specs: SeriesSpec | Mapping[str, SeriesSpec] | None = None) -> Analysis:
    """Analyse every series of ``data`` under its spec in one vectorised pass.

    ``data`` has ``period`` (date or ISO string), ``value`` or ``numerator`` and
    ``denominator``, and optionally ``series``. ``specs`` is one :class:`SeriesSpec`
    for all series or a mapping from series name to spec (default: XmR, neutral).
    Raises :class:`SpcError` naming series, period and column on bad input.
    """
    t0 = [time.perf_counter()]
    specs = SeriesSpec() if specs is None else specs
    frame, rebase, exclude = _spec_frames(specs, prepare(data))
    _lap("read", t0)
    frame = _phases_and_base(check(subgroups(frame)), rebase, exclude)
    _lap("prepare", t0)
    frame = _limits(frame)
    _lap("limits", t0)

    v = pl.col("value")
    frame = frame.with_columns(
        outside_limits=((v > pl.col("upper")) | (v < pl.col("lower"))).fill_null(False))
    rule_sets = _distinct(frame["rule_set"])
    if rule_sets == ["mdc"]:
        # the usual case, one rule set: its rules in one NumPy pass over whole columns, and the
        # point types and labels gathered from their few texts
        code, direction = classify_numpy(frame)
        improvement = frame["improvement"]
        improve = ((improvement == "increase").to_numpy().view(np.int8)
                   - (improvement == "decrease").to_numpy().view(np.int8))
        rule_code = pl.Series("_rule_code", code, dtype=pl.Int16)
        points = frame.hstack([rule_code, pl.Series("_dir", direction, dtype=pl.Int8),
                               pl.Series("_improve", improve, dtype=pl.Int32),
                               point_types(direction, improve), rule_labels(rule_code)])
    else:
        points = _classify_lazy(frame, rule_sets)
    _lap("rules", t0)

    # what the phases and summary frames need, kept for when they are asked for
    work = points.select(_WORK_COLUMNS)

    def later() -> tuple[pl.DataFrame, pl.DataFrame]:
        t1 = [time.perf_counter()]
        phases = _phases(work)
        _lap("phases", t1)
        summary = _summary(work, phases, specs)
        _lap("summary", t1)
        return phases.drop("_g"), summary

    return Analysis(points=points.select(POINT_COLUMNS), specs=specs, later=later)


def _classify_lazy(frame: pl.DataFrame, rule_sets: list[str]) -> pl.DataFrame:
    """Rule codes, direction, improvement, point type and rule label of every point by the
    polars rule expressions (:func:`spc.rules.classify`): frames with several rule sets."""
    if frame["excluded"].any():
        # rules see the used points as adjacent; excluded points only meet the limits
        parts = [classify(frame.lazy().filter(pl.col("excluded") == e), rule_sets)
                 for e in (False, True)]
        points = pl.concat(parts).sort("_i").with_columns(
            pl.col("_g").set_sorted(), pl.col("_s").set_sorted(),
            pl.col("_r").set_sorted())
    else:
        points = classify(frame.lazy(), rule_sets)
    improve = (pl.when(pl.col("improvement") == "increase").then(1)
               .when(pl.col("improvement") == "decrease").then(-1).otherwise(0))
    points = points.with_columns(_improve=improve).with_columns(
        point_type=point_type(pl.col("_dir"), pl.col("_improve")))
    if _RULES_STREAMED and not frame["excluded"].any():
        # rows in frame order: the streaming engine runs the rules' many passes on every
        # core; only the four new columns come back, joined into one chunk each so the
        # frame stays aligned (mixed chunking made every later select realign all of it)
        new = points.select("_rule_code", "_dir", "_improve", "point_type").collect(
            engine="streaming").rechunk()
        points = frame.hstack(new)
    else:
        points = points.collect(engine=_ENGINE)
    return points.with_columns(rule_labels(points["_rule_code"]))


#: the columns of the engine's working frame that the phases and summary frames read
_WORK_COLUMNS = ["_g", "_s", "_r", "series", "period", "value", "phase", "excluded", "chart",
                 "improvement", "target", "centre", "lower", "upper", "trial_limits",
                 "point_type", "n_missing", "seasonal_limits", "frequency", "shift", "trend",
                 "break_at_gaps", "_dir", "_improve", "_rule_code", "outside_limits",
                 "gap_before"]


def _starts(ids: np.ndarray) -> np.ndarray:
    """First row of each run of equal ``ids`` (contiguous groups)."""
    return np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.zeros(0, np.int64)


def _group_sums(x: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sum of ``x`` (booleans, or integers mostly zero) over each run of rows from ``starts``,
    as Int64: a running total of the non-zero rows read at each run's edges (faster than
    ``reduceat``, which casts every row to Int64 first)."""
    edges = np.r_[starts, len(x)]
    if x.dtype == np.bool_:  # a count: the true rows between the edges, or if most are
        if np.count_nonzero(x) > len(x) // 2:  # true, the lengths less the false ones
            return (np.diff(edges) - np.diff(np.searchsorted(np.flatnonzero(~x), edges))
                    ).astype(np.int64)
        return np.diff(np.searchsorted(np.flatnonzero(x), edges)).astype(np.int64)
    hits = np.flatnonzero(x)
    at = np.searchsorted(hits, edges)
    return np.diff(np.r_[0, np.cumsum(x[hits], dtype=np.int64)][at])


def _phases(points: pl.DataFrame) -> pl.DataFrame:
    """One row per phase: its first and last rows' figures, counts and the Anhøj runs analysis.

    Phases are contiguous rows, so each figure is read at the phase's first or last row (a
    gather of the few columns needed, not a filter of the whole frame) or summed over its
    stretch of rows with ``reduceat``.
    """
    starts = _starts(points["_g"].to_numpy())
    ends = np.r_[starts[1:], points.height] - 1
    # EWMA and CUSUM statistics carry memory: a runs analysis of them means nothing
    sequential = chart_in(SEQUENTIAL_CHARTS)
    skip = (points.select(sequential).to_series().to_numpy()
            if points.select(sequential.any()).item() else None)
    _, runs = phase_runs(points, skip)
    n_used = _group_sums(~points["excluded"].to_numpy(), starts)
    has = runs["n_useful"] > 0
    first = points.select("_g", "series", "phase", pl.col("period").alias("start"),
                          "trial_limits")[starts]
    last = points.select(pl.col("period").alias("end"), "centre", "lower", "upper")[ends]
    counts = pl.DataFrame({
        "n_points": np.diff(np.r_[starts, points.height]).astype(np.int64),
        "n_used": n_used.astype(np.int64), "_has": has,
        **{k: runs[k] for k in ("longest_run", "longest_run_max", "crossings", "crossings_min")}},
        schema={"n_points": pl.Int64, "n_used": pl.Int64, "_has": pl.Boolean,
                "longest_run": pl.Int64, "longest_run_max": pl.Int64, "crossings": pl.Int64,
                "crossings_min": pl.Int64})
    has_runs = pl.col("_has")
    signal = ((pl.col("longest_run") > pl.col("longest_run_max"))
              | (pl.col("crossings") < pl.col("crossings_min")))
    return pl.concat([first, last, counts], how="horizontal").with_columns(
        runs_signal=has_runs & signal,
        longest_run_max=pl.when(has_runs).then(pl.col("longest_run_max")),
        crossings_min=pl.when(has_runs).then(pl.col("crossings_min")),
    ).select("_g", "series", "phase", "start", "end", "n_points", "n_used", "centre", "lower",
             "upper", "trial_limits", "runs_signal", "longest_run", "longest_run_max",
             "crossings", "crossings_min")


def _edges(frame: pl.DataFrame, key: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(first rows, last rows) of each run of equal ``key`` (contiguous groups)."""
    k = pl.col(key)
    first = frame.filter((k != k.shift(1)).fill_null(True))
    last = frame.filter((k != k.shift(-1)).fill_null(True))
    return first, last


def _labels(specs: SeriesSpec | Mapping[str, SeriesSpec]) -> pl.Expr:
    """Each series' chart label (:meth:`SeriesSpec.label`), computed once per distinct spec."""
    if isinstance(specs, SeriesSpec):
        return pl.lit(specs.label())
    labels = {}
    for spec in set(specs.values()):  # specs are few and hashable; series may be many
        labels[spec] = spec.label()
    return pl.col("series").replace_strict({name: labels[spec] for name, spec in specs.items()},
                                           default=None, return_dtype=pl.String)


def _summary(points: pl.DataFrame, phases: pl.DataFrame,
             specs: SeriesSpec | Mapping[str, SeriesSpec]) -> pl.DataFrame:
    """One row per series: icons, latest point and limits, counts, warnings."""
    pt = pl.col("point_type")
    # series are contiguous rows: the latest point is each one's last row, and the counts
    # are sums over its stretch of rows (reduceat), with no group-by
    starts = _starts(points["_s"].to_numpy())
    ends = np.r_[starts[1:], points.height] - 1
    latest = points[ends].select(  # rows first: the casts then touch one row per series
        "series", pl.col("chart").cast(pl.String), pl.col("improvement").cast(pl.String),
        "target", pt.alias("variation"), pl.col("period").alias("latest_period"),
        pl.col("value").alias("latest_value"), pl.col("phase").alias("latest_phase"),
        "centre", "lower", "upper", "n_missing", "seasonal_limits", pl.col("frequency").cast(pl.String),
        pl.col("shift").alias("shift_len"),
        pl.col("trend").alias("trend_len"), "break_at_gaps")
    # counted in NumPy from the integer codes behind point_type and rule (one byte a row for
    # the directions; a kind of rule is a range of codes, see spc.rules.mdc.KINDS)
    d = points["_dir"].to_numpy()
    imp = points["_improve"].to_numpy().astype(np.int8)
    code = points["_rule_code"].to_numpy()
    signed = d * imp
    gap = points["gap_before"].to_numpy()
    seasonal = points["seasonal_limits"]
    no_season = ((seasonal & points["upper"].is_null()).to_numpy() if seasonal.any()
                 else np.zeros(points.height, dtype=bool))
    flags = {
        "n_improvement": signed == 1,
        "n_concern": signed == -1,
        "n_neutral": (d != 0) & ((imp == 0) | (d == 2) | (d == -2)),
        "n_beyond_limits": points["outside_limits"].to_numpy(),
        "n_shift": (code >= 700) & (code < 900),
        "n_trend": (code >= 300) & (code < 500),
        "n_two_of_three": (code >= 500) & (code < 700),
        "_gaps": gap > 0,
        "_gap_periods": gap,
        # points of a calendar month with fewer than 3 years: no per-season limits
        "_no_season": no_season,
    }
    counts = pl.DataFrame(
        {"n_points": np.diff(np.r_[starts, points.height]),
         **{c: _group_sums(x, starts) for c, x in flags.items()}},
        schema={"n_points": pl.Int64, **{c: pl.Int64 for c in flags}})
    summary = pl.concat([latest, counts], how="horizontal")
    _, last_phase = _edges(phases, "series")
    latest = last_phase.select("series", "runs_signal", "trial_limits")
    warn_missing = pl.when(pl.col("n_missing") > 0).then(
        pl.format("{} missing values skipped", pl.col("n_missing")))
    warn_trial = pl.when(pl.col("trial_limits")).then(
        pl.lit("latest phase has fewer than 12 points: trial limits"))
    warn_len = [pl.when((pl.col(c) < 6) | (pl.col(c) > 8)).then(
        pl.format(f"{name} length {{}} is outside the usual 6 to 8", pl.col(c)))
        for c, name in (("shift_len", "shift"), ("trend_len", "trend"))]
    def plural(n: pl.Expr, word: str) -> pl.Expr:
        return pl.format("{} " + word, n) + pl.when(n == 1).then(pl.lit("")).otherwise(pl.lit("s"))

    warn_gaps = pl.when(pl.col("_gaps") > 0).then(pl.concat_str(
        plural(pl.col("_gap_periods"), "period"), pl.lit(" missing in "),
        plural(pl.col("_gaps"), "gap"),
        pl.when(pl.col("break_at_gaps"))
        .then(pl.lit(": rules and runs are not counted across a gap"))
        .otherwise(pl.lit(": rules and runs counted across gaps (break_at_gaps off)"))))
    season = pl.when(pl.col("frequency") == "quarter").then(pl.lit("quarter")).otherwise(pl.lit("month"))
    warn_season = pl.when(pl.col("seasonal_limits")).then(pl.concat_str(
        pl.lit("limits per calendar "), season, pl.lit(" (each "), season,
        pl.lit(" against the same "), season, pl.lit(" of other years)"),
        pl.when(pl.col("_no_season") > 0).then(pl.format(
            "; {} points have none: their month has fewer than 3 years", pl.col("_no_season")))
        .otherwise(pl.lit(""))))
    return (summary.join(latest, on="series", how="left", maintain_order="left")
            .with_columns(assurance=_assurance(), chart_label=_labels(specs))
            .with_columns(warnings=pl.concat_list(warn_missing, warn_gaps, warn_trial, warn_season,
                                                  *warn_len)
                          .list.drop_nulls())
            .select("series", "chart", "improvement", "target", "variation", "assurance",
                    "latest_period", "latest_value", "latest_phase", "centre", "lower", "upper",
                    "n_points", "n_improvement", "n_concern", "n_neutral", "n_beyond_limits",
                    "n_shift", "n_trend", "n_two_of_three", "runs_signal", "trial_limits",
                    "chart_label",
                    "warnings")
            )
