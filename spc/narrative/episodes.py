"""Special-cause episodes: the one place that turns flagged points into "what happened when".

An *episode* is a run of consecutive flagged points of one series, in one phase, with the same
point type (improvement, concern, neutral high/low) and the same direction (higher or lower),
with no missing period inside it.
The rule label may change along the way: a sustained shift that starts as "2 in 3 Above CL",
becomes "7 Points Above CL" and has a point "Above UCL" is one episode, not three, and the
episode lists every rule that fired. With ``split_on_rule=True`` a change of rule label also
starts a new episode: that is the stored signal history's *pattern* (`spc.signals`), keyed on
its rule and first period.

`episodes` is vectorised (polars expressions over every series at once); `episode_sentence`
puts one episode into plain English, used by the narrative, the app and the refresh digest.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

import polars as pl

COMMON = "common_cause"

#: Columns `episodes` returns after the series key.
EPISODE_COLUMNS = ["phase", "first_period", "last_period", "n_points", "point_type", "direction",
                   "rule", "rules", "ongoing"]

_ONE_POINT_RULES = {"Above UCL": "above the upper process limit", "Below LCL": "below the lower process limit"}


def series_key(frame: pl.DataFrame) -> list[str]:
    """The columns naming a series: `series` (engine frames) or indicator_id + area_code (stored)."""
    if "series" in frame.columns:
        return ["series"]
    return [c for c in ("indicator_id", "area_code") if c in frame.columns]


def rule_direction(rule: pl.Expr) -> pl.Expr:
    """'high' or 'low' from a rule label ("Above UCL", "7 Point Trend (Decreasing)"), else ''."""
    return (pl.when(rule.str.contains("Above|Increasing")).then(pl.lit("high"))
            .when(rule.str.contains("Below|Decreasing")).then(pl.lit("low"))
            .otherwise(pl.lit("")))


#: Rules that say the points are unusual without saying higher or lower (Western Electric, Nelson).
UNDIRECTED = "Alternating|Within 1 Sigma|Beyond 1 Sigma"


def _undirected() -> pl.Expr:
    return pl.col("rule").str.contains(UNDIRECTED) & (rule_direction(pl.col("rule")) == "")


def _point_direction(columns: Sequence[str]) -> pl.Expr:
    """A flagged point's direction: from its rule label; none for a rule that names none ('14
    Points Alternating': its points are one episode however they alternate); else its point
    type (neutral high/low), else which side of the centre it lies."""
    out = rule_direction(pl.col("rule"))
    out = (pl.when(out != "").then(out)
           .when(_undirected()).then(pl.lit(""))
           .when(pl.col("point_type") == "special_cause_neutral_high").then(pl.lit("high"))
           .when(pl.col("point_type") == "special_cause_neutral_low").then(pl.lit("low")))
    if "value" in columns and "centre" in columns:
        out = (out.when(pl.col("value") > pl.col("centre")).then(pl.lit("high"))
               .when(pl.col("value") < pl.col("centre")).then(pl.lit("low")))
    return out.otherwise(pl.lit(""))


def episodes(points: pl.DataFrame, *, split_on_rule: bool = False) -> pl.DataFrame:
    """Every special-cause episode in `points` (the engine's or the store's points frame: the
    series key, period, phase, rule, point_type; value and centre when present).

    Returns one row per episode: the series key, then `EPISODE_COLUMNS`: phase, first_period,
    last_period, n_points, point_type, direction ('high', 'low' or ''), rule (the first label),
    rules (every label, one per point, in order) and ongoing (the episode reaches its series'
    latest point). Sorted by series and first period.
    """
    key = series_key(points)
    schema = {**{k: points.schema.get(k, pl.String) for k in key}, "phase": pl.Int64, "first_period": pl.Date,
              "last_period": pl.Date, "n_points": pl.Int64, "point_type": pl.String, "direction": pl.String,
              "rule": pl.String, "rules": pl.List(pl.String), "ongoing": pl.Boolean}
    if points.is_empty():
        return pl.DataFrame(schema=schema)

    def over(e: pl.Expr) -> pl.Expr:
        return e.over(key) if key else e

    frame = points.sort(*key, "period").with_columns(
        _dir=pl.when(pl.col("point_type") != COMMON).then(_point_direction(points.columns)).otherwise(pl.lit("")),
        # the engine gives an undirected rule's points neutral high or low by their side; one kind here
        _kind=pl.when(_undirected() & pl.col("point_type").str.starts_with("special_cause_neutral"))
        .then(pl.lit("special_cause_neutral")).otherwise(pl.col("point_type")))
    split = ["_kind", "phase", "_dir"] + (["rule"] if split_on_rule else [])
    # an episode starts wherever any of these changes from the point before (rules never cross
    # phases), and after missing periods: a step longer than 1.5 times the series' shortest step
    # (so 'from ... to ...' never spans months with no figure)
    step = over(pl.col("period").diff().dt.total_days())
    gap = (step > 1.5 * over(step.min())).fill_null(False)
    changed = pl.any_horizontal([over(pl.col(c) != pl.col(c).shift(1)).fill_null(True) for c in split]) | gap
    frame = frame.with_columns(_run=over(changed.cast(pl.Int64).cum_sum()),
                               _latest=over(pl.col("period").max()))
    out = (frame.filter(pl.col("point_type") != COMMON)
           .group_by(*key, "_run")
           .agg(phase=pl.col("phase").first().cast(pl.Int64), first_period=pl.col("period").first(),
                last_period=pl.col("period").last(), n_points=pl.len().cast(pl.Int64),
                point_type=pl.col("point_type").first(), direction=pl.col("_dir").first(),
                rule=pl.col("rule").first(), rules=pl.col("rule"), _latest=pl.col("_latest").first())
           .with_columns(ongoing=pl.col("last_period") == pl.col("_latest"))
           .select(*key, *EPISODE_COLUMNS)
           .sort(*key, "first_period"))
    return out.cast({k: v for k, v in schema.items() if k in out.columns})


# --------------------------------------------------------------------------------------------
# words
# --------------------------------------------------------------------------------------------

#: What each point type means for the reader, after "higher than usual" / "lower than usual".
JUDGEMENT = {
    "special_cause_improvement": "an improvement",
    "special_cause_concern": "a concern",
    "special_cause_neutral_high": "neither better nor worse",
    "special_cause_neutral_low": "neither better nor worse",
}


def _rules_phrase(rules: Sequence[str], n_points: int) -> str:
    """The rules behind an episode in words: 'a run of 7 points above the average (a shift)
    and 2 points above the upper process limit'."""
    from spc.narrative import rule_words

    counts = Counter(rules)
    parts = []
    for rule in dict.fromkeys(rules):  # first-seen order, each rule once
        if rule in _ONE_POINT_RULES:
            k = counts[rule]
            where = _ONE_POINT_RULES[rule]
            if len(counts) == 1 and n_points > 1:
                parts.append(f"{k} points in a row {where}")
            else:
                parts.append(f"a point {where}" if k == 1 else f"{k} points {where}")
        else:
            parts.append(rule_words(rule))
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def span_text(first: dt.date, last: dt.date, frequency: str | None) -> str:
    """'in March 2024' or 'from March 2024 to September 2024' (quarters as quarters)."""
    from spc.narrative import period_text

    if first == last:
        return f"in {period_text(first, frequency)}"
    return f"from {period_text(first, frequency)} to {period_text(last, frequency)}"


def episode_sentence(first: dt.date, last: dt.date, n_points: int, point_type: str, direction: str,
                     rules: Sequence[str], frequency: str | None = "month") -> str:
    """One episode in plain English, e.g. 'From March 2024 to September 2024, 7 points were lower
    than usual, an improvement: a run of 7 points below the average (a shift).'"""
    when = span_text(first, last, frequency)
    level = {"high": "higher than usual", "low": "lower than usual"}.get(direction, "unusual")  # '' : undirected
    points = "1 point was" if n_points == 1 else f"{n_points} points were"
    judgement = JUDGEMENT.get(point_type, "")
    text = f"{when[0].upper()}{when[1:]}, {points} {level}"
    if judgement:
        text += f", {judgement}"
    return f"{text}: {_rules_phrase(rules, n_points)}."
