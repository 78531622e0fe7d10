"""Limits that describe neither level: where an analyst may want to recalculate.

A phase's limits are meant to describe one stable process. When the phase holds two levels,
its average sits between them and its limits describe neither (the real police.uk ASB series:
2,400 to 3,200 a month in 2018/19, 900 to 1,050 in 2024, drawn as one phase with an average of
1,921). Two signs, checked on every phase of every series at once (polars expressions):

* **a sustained run**: `RUN_LENGTH` (12) or more points in a row on one side of the centre.
  The suggested date is where the run starts, or, when it starts the phase, where it ends;
* **a clean two-level split**: every point before a date on one side of the centre and every
  point from it on the other, with at least `MIN_SIDE` (4) points on each side;
* **a change point the chart agrees with**: `spc.trend.change_points` (least-squares
  segmentation, a shift of at least one sigma, Welch t-test corrected for the search, p < 0.01)
  finds a break inside the phase, and the chart flags special cause in that phase.

Either way both parts must hold `MIN_SIDE` points. A clean split is preferred (its date is
exact), then the change point (the best-fitting date), then the run. Nothing is ever applied: the narrative says
"an analyst may recalculate from Mmm YYYY" and the Analyst page offers the date, with a reason,
for an analyst to confirm. Excluded points are left out, as they are left out of the limits.

How often this fires is measured in tests/test_narrative_levels.py (fixed seed): on in-control
series (size) and on series with a planted step (power).
"""

from __future__ import annotations

import polars as pl

from spc.narrative.episodes import series_key

#: Points in a row on one side of the centre that make a sustained shift.
RUN_LENGTH = 12
#: Points each level needs (before and after the suggested date).
MIN_SIDE = 4
#: The smallest change-point shift, in sigmas of point-to-point variation, worth a suggestion.
CHANGE_POINT_SIGMA = 1.0
#: Points each segment of a change-point search needs (spc.trend.change_points' default).
_CHANGE_POINT_SEGMENT = 6

SUGGESTION_COLUMNS = ["phase", "suggested_start", "reason", "before_mean", "after_mean", "n_before", "n_after"]


def recalculation_suggestions(points: pl.DataFrame, *, run_length: int = RUN_LENGTH,
                              min_side: int = MIN_SIDE, change_points: bool = True) -> pl.DataFrame:
    """At most one suggested recalculation date per phase of each series in `points` (the
    engine's or the store's points frame: key, period, phase, value, centre, excluded).

    Returns the series key and `SUGGESTION_COLUMNS`: phase, suggested_start (the first period
    of the new level), reason ('split': a clean two-level split; 'change point': a break found
    by `spc.trend.change_points` in a phase with special cause; 'run': a sustained run on one
    side), the mean before and from that date within the phase, and the points on each side.
    With `change_points=False` the (slower, per-series) change-point search is skipped.
    """
    key = series_key(points)
    grp = [*key, "phase"]
    schema = {**{k: points.schema.get(k, pl.String) for k in key}, "phase": pl.Int64, "suggested_start": pl.Date,
              "reason": pl.String, "before_mean": pl.Float64, "after_mean": pl.Float64,
              "n_before": pl.Int64, "n_after": pl.Int64}
    if points.is_empty() or "centre" not in points.columns:
        return pl.DataFrame(schema=schema)
    used = points.filter(pl.col("value").is_not_null() & pl.col("centre").is_not_null())
    if "excluded" in used.columns:
        used = used.filter(~pl.col("excluded").fill_null(False))
    side = pl.col("value").sub(pl.col("centre")).sign().cast(pl.Int64)
    f = (used.sort(*grp, "period")
         .with_columns(_side=side, _i=pl.int_range(pl.len()).over(grp), _n=pl.len().over(grp))
         .with_columns(_above=(pl.col("_side") == 1).cast(pl.Int64), _below=(pl.col("_side") == -1).cast(pl.Int64)))

    # a clean split at point i: the i points before all on one side, the rest all on the other
    before_above = pl.col("_above").cum_sum().over(grp) - pl.col("_above")
    before_below = pl.col("_below").cum_sum().over(grp) - pl.col("_below")
    after_above = pl.col("_above").sum().over(grp) - before_above
    after_below = pl.col("_below").sum().over(grp) - before_below
    n_after = pl.col("_n") - pl.col("_i")
    clean = ((pl.col("_i") >= min_side) & (n_after >= min_side)
             & (((before_above == pl.col("_i")) & (after_below == n_after))
                | ((before_below == pl.col("_i")) & (after_above == n_after))))
    splits = f.filter(clean).select(*grp, "_i", _reason=pl.lit("split"), _rank=pl.lit(0))

    # sustained runs on one side: the run's start, or the point after it when it opens the phase
    runs = (f.with_columns(_run=(pl.col("_side") != pl.col("_side").shift(1)).fill_null(True).cum_sum().over(grp))
            .group_by(*grp, "_run")
            .agg(_side=pl.col("_side").first(), _start=pl.col("_i").first(), _end=pl.col("_i").last(),
                 _len=pl.len(), _n=pl.col("_n").first())
            .filter((pl.col("_side") != 0) & (pl.col("_len") >= run_length)))
    run_at = (pl.when(pl.col("_start") >= min_side).then(pl.col("_start"))
              .when(pl.col("_n") - pl.col("_end") - 1 >= min_side).then(pl.col("_end") + 1))
    runs = (runs.with_columns(_i=run_at).filter(pl.col("_i").is_not_null())
            .select(*grp, pl.col("_i").cast(pl.Int64), _reason=pl.lit("run"), _rank=pl.lit(2)))
    found = [splits.with_columns(pl.col("_i").cast(pl.Int64)), runs]
    if change_points:
        found.append(_change_points(f, grp, min_side))

    chosen = (pl.concat(found, how="vertical_relaxed")
              .sort(*grp, "_rank", "_i").group_by(grp, maintain_order=True).first())
    if chosen.is_empty():
        return pl.DataFrame(schema=schema)
    before = pl.col("_i") < pl.col("_at")  # the suggested date is the first point of the new level
    levels = (f.join(chosen.rename({"_i": "_at"}), on=grp, how="inner")
              .group_by(*grp, maintain_order=True)
              .agg(suggested_start=pl.col("period").filter(pl.col("_i") == pl.col("_at")).first(),
                   reason=pl.col("_reason").first(),
                   before_mean=pl.col("value").filter(before).mean(),
                   after_mean=pl.col("value").filter(~before).mean(),
                   n_before=before.sum().cast(pl.Int64),
                   n_after=(~before).sum().cast(pl.Int64)))
    return levels.select(*key, *SUGGESTION_COLUMNS).cast(schema).sort(*grp)


def _change_points(f: pl.DataFrame, grp: list[str], min_side: int) -> pl.DataFrame:
    """Breaks `spc.trend.change_points` finds inside phases whose points include special cause
    (`f`: the used points with their index `_i` in the phase)."""
    from spc import trend

    empty = pl.DataFrame(schema={**{g: f.schema[g] for g in grp}, "_i": pl.Int64, "_reason": pl.String,
                                 "_rank": pl.Int32})
    if "point_type" not in f.columns:
        return empty
    # the chart must agree: only phases where some point is special cause are searched
    flagged = f.filter((pl.col("point_type") != "common_cause").any().over(grp)
                       & (pl.col("_n") >= 2 * _CHANGE_POINT_SEGMENT))
    if flagged.is_empty():
        return empty
    named = flagged.with_columns(_name=pl.concat_str([pl.col(g).cast(pl.String) for g in grp], separator="\x1f"))
    found = trend.change_points(named.select(pl.col("_name").alias("series"), "period", "value"),
                                min_segment=_CHANGE_POINT_SEGMENT, min_shift_sigma=CHANGE_POINT_SIGMA)
    if found.is_empty():
        return empty
    return (named.join(found.select(pl.col("series").alias("_name"), pl.col("suggested_start").alias("period")),
                       on=["_name", "period"], how="inner")
            .filter((pl.col("_i") >= min_side) & (pl.col("_n") - pl.col("_i") >= min_side))
            .select(*grp, pl.col("_i").cast(pl.Int64), _reason=pl.lit("change point"), _rank=pl.lit(1)))


def current_suggestions(points: pl.DataFrame) -> pl.DataFrame:
    """`recalculation_suggestions` for the latest phase of each series only: the limits drawn
    now. (An earlier phase already ends where an analyst recalculated.)"""
    key = series_key(points)
    if points.is_empty():
        return recalculation_suggestions(points)
    latest = pl.col("phase") == (pl.col("phase").max().over(key) if key else pl.col("phase").max())
    return recalculation_suggestions(points.filter(latest))


def suggestion_reason(suggestion: dict, unit: str | None, frequency: str | None = "month") -> str:
    """The prefilled reason for accepting a suggestion: 'Two levels: about 2,673 before Jan 2024,
    about 982 from then (suggested by spc; confirmed by the analyst)'."""
    from spc.narrative import format_value
    from spc.plots import format_period

    return (f"Two levels: about {format_value(suggestion['before_mean'], unit)} before "
            f"{format_period(suggestion['suggested_start'], frequency or 'month')}, about "
            f"{format_value(suggestion['after_mean'], unit)} from then (suggested by spc; confirmed by the analyst)")


def suggestion_sentence(suggestion: dict, unit: str | None, frequency: str | None = "month") -> str:
    """'The limits average two different levels (about 2,760 before January 2024 and about 980
    from then); an analyst may recalculate from Jan 2024.'"""
    from spc.narrative import format_value, period_text
    from spc.plots import format_period

    start = suggestion["suggested_start"]
    before = format_value(suggestion["before_mean"], unit)
    after = format_value(suggestion["after_mean"], unit)
    return (f"The limits average two different levels (about {before} before {period_text(start, frequency)} "
            f"and about {after} from then); an analyst may recalculate from "
            f"{format_period(start, frequency or 'month')}.")
