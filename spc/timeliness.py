"""When figures arrive: periods missing inside a series, and how old its latest figure is.

One rule for every reader-facing surface (the app, the briefing pack, the refresh digest):

* A *gap* is a run of one or more periods missing between two figures of a series, counted in
  the indicator's own frequency (week, month, quarter, year).
* A period's figure is *due* once the period has ended plus `lag` whole periods (default 1:
  a monthly series should have October by the end of November). A series is *late* when any
  period after its latest one is already due. `spc.digest.overdue_series` applies the same
  rule in the store. Each indicator's lag is its publisher's schedule, read from the
  `[expect]` section of the sources file (`publication_lag`), so the app, the pack and the
  refresh digest agree on what is late.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from spc.errors import SpcError

#: Months in one period of each frequency (weeks are counted in days).
GRAIN_MONTHS: dict[str, int] = {"month": 1, "quarter": 3, "year": 12}
#: Whole periods after a period ends before its figure is due, unless the indicator says otherwise.
DEFAULT_LAG = 1

_MONTH_NAMES = (
    "January February March April May June July August September October November December"
).split()


def _month_index(period: pl.Expr) -> pl.Expr:
    return period.dt.year().cast(pl.Int64) * 12 + period.dt.month().cast(pl.Int64) - 1


def infer_frequency(periods: Sequence[dt.date] | pl.Series) -> str:
    """The grain of a series from its smallest step between periods, as the engine infers it
    when an indicator declares none: 'year' (12 months), 'quarter' (3), 'week' (7 days), else
    'month'. For callers that do not know the indicator's frequency (a file given to the CLI)."""
    ps = sorted(set(periods))
    months = [(b.year - a.year) * 12 + b.month - a.month for a, b in zip(ps, ps[1:])]
    step = min(months, default=1)
    if step == 0:
        return "week" if min((b - a).days for a, b in zip(ps, ps[1:])) >= 7 else "month"
    return {12: "year", 3: "quarter"}.get(step, "month")


def periods_between(earlier: pl.Expr, later: pl.Expr, frequency: pl.Expr | str) -> pl.Expr:
    """Whole periods from `earlier` to `later` (both period starts): 1 for consecutive periods."""
    freq = pl.lit(frequency) if isinstance(frequency, str) else frequency
    size = freq.replace_strict(GRAIN_MONTHS, default=1, return_dtype=pl.Int64)
    months = (_month_index(later) - _month_index(earlier)) // size
    days = (later - earlier).dt.total_days() // 7
    return pl.when(freq == "week").then(days).otherwise(months)


def shift_periods(period: pl.Expr, n: pl.Expr, frequency: pl.Expr | str) -> pl.Expr:
    """`period` moved on by `n` periods of `frequency` (n may be negative)."""
    freq = pl.lit(frequency) if isinstance(frequency, str) else frequency
    size = freq.replace_strict(GRAIN_MONTHS, default=1, return_dtype=pl.Int64)
    by = pl.when(freq == "week").then(pl.concat_str((n * 7).cast(pl.String), pl.lit("d"))).otherwise(
        pl.concat_str((n * size).cast(pl.String), pl.lit("mo")))
    return period.dt.offset_by(by)


def gaps(points: pl.DataFrame, frequency: str, key: list[str] | tuple[str, ...] = ("indicator_id", "area_code")
         ) -> pl.DataFrame:
    """Every run of missing periods inside each series of `points` (one row per gap).

    `points` has `period` (period starts) and the `key` columns present in it. Returns the key,
    `first_missing`, `last_missing` and `n_missing`, in series and period order; no rows when
    every series is complete from its first figure to its last.
    """
    by = [k for k in key if k in points.columns]
    schema = {**{k: points.schema[k] for k in by}, "first_missing": pl.Date, "last_missing": pl.Date,
              "n_missing": pl.Int64}
    if points.is_empty():
        return pl.DataFrame(schema=schema)
    frame = points.select(*by, "period").unique().sort(*by, "period")
    prev = pl.col("period").shift(1)
    if by:
        prev = prev.over(by)
    step = periods_between(prev, pl.col("period"), frequency)
    return (frame.with_columns(_prev=prev, _step=step)
            .filter(pl.col("_step") > 1)
            .select(*by,
                    first_missing=shift_periods(pl.col("_prev"), pl.lit(1), frequency),
                    last_missing=shift_periods(pl.col("period"), pl.lit(-1), frequency),
                    n_missing=(pl.col("_step") - 1).cast(pl.Int64)))


@dataclass(frozen=True)
class DataAge:
    """How old a series' latest figure is on a given day."""

    latest_period: dt.date
    frequency: str
    months_ago: int       # whole months since the latest period ended
    periods_overdue: int  # later periods whose figures are already due (0 when on time)

    @property
    def late(self) -> bool:
        """True when a figure after the latest one should already be here."""
        return self.periods_overdue > 0

    def text(self) -> str:
        """'latest data: April 2024, 31 months ago (late: 29 later months are due)'."""
        from spc.narrative import period_text

        when = period_text(self.latest_period, self.frequency)
        if self.months_ago <= 0:
            ago = "just ended"
        elif self.months_ago == 1:
            ago = "1 month ago"
        else:
            ago = f"{self.months_ago} months ago"
        out = f"latest data: {when}, {ago}"
        if self.late:
            word = self.frequency if self.frequency in ("week", "month", "quarter", "year") else "period"
            n = self.periods_overdue
            out += f" (late: {n} later {word}{'s' if n != 1 else ''} {'are' if n != 1 else 'is'} due)"
        return out


def default_sources() -> Path:
    """The sources file whose `[expect]` lags the readers use: $SPC_SOURCES, else data/sources.toml."""
    from spc.config import DATA_DIR

    return Path(os.environ.get("SPC_SOURCES") or DATA_DIR / "sources.toml")


@functools.cache
def _lags(path: str, mtime_ns: int) -> tuple[int, dict[str, int]]:
    from spc.refresh import read_sources

    config = read_sources(path)
    return config.default_lag_periods, dict(config.lag_periods)


def publication_lag(indicator_id: str | None, sources: str | Path | None = None) -> int:
    """Whole periods after a period ends before the indicator's figure is due: the sources
    file's `[expect.lag_periods]` entry, else its `default_lag_periods`, else DEFAULT_LAG when
    there is no sources file (the same figures `spc refresh` uses for overdue data)."""
    path = Path(sources) if sources is not None else default_sources()
    try:
        default, lags = _lags(str(path), path.stat().st_mtime_ns)
    except FileNotFoundError:
        return DEFAULT_LAG
    except SpcError:  # a broken sources file is the refresh's to report; readers keep working
        return DEFAULT_LAG
    return lags.get(indicator_id or "", default)


def data_age(latest_period: dt.date, frequency: str, today: dt.date, lag: int | None = None, *,
             indicator_id: str | None = None) -> DataAge:
    """How old `latest_period`'s figure is on `today` (see the module docstring for 'due').
    `lag` None: the indicator's publication lag (`publication_lag(indicator_id)`)."""
    if lag is None:
        lag = publication_lag(indicator_id)
    size = GRAIN_MONTHS.get(frequency, 1)
    today_index = today.year * 12 + today.month - 1
    latest_index = latest_period.year * 12 + latest_period.month - 1
    if frequency == "week":
        end = latest_period + dt.timedelta(days=7)
        months_ago = max(0, (today - end).days // 30)
        elapsed = (today - latest_period).days // 7
    else:
        # the period ends where the next one starts: April 2024 ends at the start of May 2024
        months_ago = max(0, today_index - (latest_index + size))
        elapsed = (today_index - latest_index) // size
    overdue = max(0, elapsed - 1 - lag)
    return DataAge(latest_period=latest_period, frequency=frequency, months_ago=months_ago,
                   periods_overdue=overdue)
