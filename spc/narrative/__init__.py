"""Plain-English sentences from engine results and indicator metadata: the one narrative the
app's Indicator and Briefing pages, the briefing pack (`spc brief`) and the refresh digest use.

Every sentence quotes numbers from the results (latest value, limits, phase start, run
lengths, trend slope) and claims nothing the statistics do not support: a change is only
called real when a rule flagged it, "no change" is said only over a window that holds no
special cause, and a target is only an assurance reference ("will the process, as it runs
now, meet it?"), never the judgement. Test statistics (p-values) are kept for an analyst's
detail view (`trend_detail`).

The package, along its seams:

* this module: wording and formatting (`rule_words`, `format_value`, `period_text`), and
  `describe(summary, phases, indicators, *, points=None, trend=None, checks=None, today=None)`
  -> one row per series with `headline`, `status`, `sentences` and the parts pages lay out
  themselves (`episodes`, `suggestion`, `suggested_start`, `gaps`, `age`, `late`);
  `status_lines(summary, indicators, points=None)` -> the stored one-line status;
* `spc.narrative.episodes`: special-cause episodes from a points frame (`episodes`, one
  vectorised function, also behind `spc.signals.find_patterns`) and one episode in words
  (`episode_sentence`);
* `spc.narrative.levels`: where a phase's limits average two levels, a suggested
  recalculation date (`recalculation_suggestions`, `current_suggestions`) and its words;
* gaps and data age come from `spc.timeliness`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import polars as pl

from spc.autocorrelation import sentence as dependence_sentence
from spc.narrative.episodes import episode_sentence, episodes, series_key, span_text
from spc.narrative.levels import current_suggestions, suggestion_sentence
from spc.timeliness import data_age, gaps

_MONTHS = (
    "January February March April May June July August September October November December"
).split()

#: One plain-English line per variation icon (engine `point_type` / summary `variation`).
VARIATION_TEXT: dict[str, str] = {
    "common_cause": "No change beyond normal variation",
    "special_cause_improvement": "Special cause: a change for the better",
    "special_cause_concern": "Special cause: a change for the worse, worth investigating",
    "special_cause_neutral_high": "Special cause: unusually high (neither better nor worse)",
    "special_cause_neutral_low": "Special cause: unusually low (neither better nor worse)",
}

#: One plain-English line per assurance icon; {target} is the formatted target, {noun}
#: 'standard' or 'target', {period}/{periods} the indicator's frequency ('month'/'months').
ASSURANCE_TEXT: dict[str, str] = {
    "consistent_pass": "the {target} {noun} will be met every {period} while the process runs as it does now",
    "consistent_fail": "the {target} {noun} will not be met unless the process changes",
    "inconsistent": "the {target} {noun} will be met in some {periods} and missed in others",
}

def rule_words(rule: str) -> str:
    """A rule label in plain words, for any rule set: '7 Points Above CL' -> 'a run of 7 points
    above the average (a shift)'. The app lists episodes with it; the narrative builds on it."""
    words = {
        "Above UCL": "a point above the upper process limit",
        "Below LCL": "a point below the lower process limit",
        "2 in 3 Above CL": "two of three points close to or beyond the upper limit",
        "2 in 3 Below CL": "two of three points close to or beyond the lower limit",
        "4 in 5 Beyond 1 Sigma Above CL": "four of five points well above the average",
        "4 in 5 Beyond 1 Sigma Below CL": "four of five points well below the average",
    }
    if rule in words:
        return words[rule]
    n, _, rest = rule.partition(" ")
    if rest.startswith("Point Trend"):
        return f"{n} points in a row {'rising' if 'Increasing' in rest else 'falling'} (a trend)"
    if rest in ("Points Above CL", "Points Below CL"):
        return f"a run of {n} points {'above' if 'Above' in rest else 'below'} the average (a shift)"
    if rest == "Points Alternating":
        return f"{n} points in a row alternating up and down"
    if rest == "Points Within 1 Sigma":
        return f"{n} points in a row unusually close to the average"
    if rest == "Points Beyond 1 Sigma":
        return f"{n} points in a row away from the average on both sides"
    return rule


def variation_status(variation: str | None) -> str:
    """The plain-English line for a variation icon ('' when unknown or missing)."""
    return VARIATION_TEXT.get(variation or "", "")


def assurance_status(
    assurance: str | None, target: float | None, unit: str = "", noun: str = "target", frequency: str | None = "month"
) -> str:
    """The plain-English line for an assurance icon, e.g. 'the 90% standard will be met in
    some months and missed in others' ('' when there is no target or no assurance)."""
    if not assurance or target is None or assurance not in ASSURANCE_TEXT:
        return ""
    period = _period_word(frequency)
    return ASSURANCE_TEXT[assurance].format(
        target=format_value(target, unit, limit=True), noun=noun, period=period,
        periods=period + "s" if period != "period" else "periods",
    )


def _period_word(frequency: str | None) -> str:
    f = (frequency or "").lower()
    for word in ("month", "quarter", "year", "week"):
        if f.startswith(word):
            return word
    return "period"


# --------------------------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------------------------


def _is_percent(unit: str | None) -> bool:
    return (unit or "").strip() in {"%", "percent", "proportion"}


def format_value(x: float | None, unit: str | None, *, decimals: int | None = None, limit: bool = False) -> str:
    """A value in its unit: proportions (stored 0..1) as '86.5%', counts as '1,024', times as
    '9.4 seconds'. `decimals` overrides the default precision."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    u = (unit or "").strip()
    if _is_percent(u):
        d = 1 if decimals is None else decimals
        v = 100 * x
        return f"{v:.{d}f}%" if not (limit and decimals is None and v == round(v)) else f"{v:.0f}%"
    if u in {"count", ""} or u.startswith("count"):
        if decimals is None:
            decimals = 0 if abs(x) >= 100 or float(x).is_integer() else 1
        return f"{x:,.{decimals}f}"
    d = decimals if decimals is not None else (1 if abs(x) >= 10 else 2)
    text = f"{x:,.{d}f}"
    return f"{text} {u}" if u else text


def _limit_decimals(lower: float | None, upper: float | None, unit: str | None) -> int | None:
    """Enough decimals to tell the limits apart, no more: 82% and 91%, but 29.3% and 30.8%."""
    if lower is None or upper is None:
        return None
    width = abs(upper - lower) * (100 if _is_percent(unit) else 1)
    if width >= 5:
        return 0
    if width >= 0.5:
        return 1
    return 2


def period_text(d: dt.date | None, frequency: str | None = "month") -> str:
    """'November 2023', 'the quarter starting January 2014', 'the year starting April 2023'."""
    if d is None:
        return "n/a"
    month = f"{_MONTHS[d.month - 1]} {d.year}"
    f = (frequency or "month").lower()
    if f.startswith("quarter"):
        return f"the quarter starting {month}"
    if f.startswith("year"):
        return f"the year starting {month}"
    if f.startswith("week"):
        return f"the week of {d.day} {month}"
    return month


def _noun(target_source: str | None) -> str:
    return "standard" if target_source and "standard" in target_source.lower() else "target"


# --------------------------------------------------------------------------------------------
# joining results to metadata
# --------------------------------------------------------------------------------------------


def _with_metadata(summary: pl.DataFrame, indicators: pl.DataFrame | None) -> pl.DataFrame:
    """Summary rows with name, unit, frequency, target_source (and improvement/target when the
    summary lacks them) from the indicator catalogue."""
    meta_cols = ["name", "unit", "frequency", "target_source", "improvement", "target", "kind"]
    if indicators is None or indicators.height == 0:
        out = summary
    else:
        ind = indicators
        if "indicator_id" in summary.columns and "id" in ind.columns:
            on = ("indicator_id", "id")
        elif "series" in summary.columns and "series" in ind.columns:
            on = ("series", "series")
        elif "indicator_id" in summary.columns and "indicator_id" in ind.columns:
            on = ("indicator_id", "indicator_id")
        elif ind.height == 1:
            on = None
        else:
            raise ValueError(
                "narrative: cannot match indicators to the summary: give indicators an 'id' "
                "(matching summary.indicator_id) or a 'series' column"
            )
        keep = [c for c in meta_cols if c in ind.columns]
        sel = ind.select(*([on[1]] if on else []), *[pl.col(c).alias(f"_m_{c}") for c in keep])
        out = summary.join(sel, left_on=on[0], right_on=on[1], how="left") if on else summary.join(sel, how="cross")
        for c in keep:
            if c in out.columns:
                # the summary's own improvement and target are what the engine used
                out = out.with_columns(pl.coalesce(c, f"_m_{c}").alias(c)).drop(f"_m_{c}")
            else:
                out = out.rename({f"_m_{c}": c})
    for c in meta_cols:
        if c not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=pl.Float64 if c == "target" else pl.String).alias(c))
    return out


# --------------------------------------------------------------------------------------------
# sentences
# --------------------------------------------------------------------------------------------


def _rule_phrase(rule: str | None) -> str:
    if not rule or rule == "Common Cause":
        return "a rule for special-cause variation was triggered"
    words = rule_words(rule)
    if words.startswith("a point "):  # a one-point rule: the latest value is that point
        return "the latest value is " + words.removeprefix("a point ")
    return f"the latest value is part of {words}"


def plural(n: int, word: str) -> str:
    """'1 month', '3 months', '1 crossing'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass
class _Window:
    """What the displayed points of one series hold beyond the latest point."""

    episodes: list[dict] = field(default_factory=list)
    gaps: list[dict] = field(default_factory=list)
    suggestion: dict | None = None
    first: dt.date | None = None
    last: dt.date | None = None


def _episode_sentences(w: _Window, freq: str) -> list[str]:
    """What happened in the window: a count, then one sentence per episode."""
    if not w.episodes:
        return []
    n = len(w.episodes)
    span = span_text(w.first, w.last, freq) if w.first and w.last else ""
    intro = (f"Beyond normal variation in the period shown ({span.removeprefix('from ')}): "
             f"{'one episode' if n == 1 else f'{n} episodes'}.")
    return [intro] + [episode_sentence(e["first_period"], e["last_period"], e["n_points"], e["point_type"],
                                       e["direction"], e["rules"], freq) for e in w.episodes]


def gap_sentence(gaps: list[dict], frequency: str | None) -> str:
    """'58 months are missing: from March 2019 to December 2023.' ('' when none)."""
    if not gaps:
        return ""
    word = _period_word(frequency)
    total = sum(g["n_missing"] for g in gaps)
    spans = [span_text(g["first_missing"], g["last_missing"], frequency).removeprefix("in ") for g in gaps]
    shown = spans[:4] + ([f"{len(spans) - 4} more gaps"] if len(spans) > 4 else [])
    where = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
    verb = "is" if total == 1 else "are"
    return f"{plural(total, word)} {verb} missing between the figures: {where}."


#: Charts whose points are a statistic built from several periods, not each period's figure: the
#: narrative describes the signal, never quotes the statistic as the latest value or its centre
#: as an average, and suggests no recalculation from levels of the statistic.
STATISTIC_CHARTS = {"ewma": "weighted average of recent figures", "cusum": "cumulative sum of deviations"}


def _statistic_sentences(r: dict, w: _Window, label: str, freq: str) -> tuple[str, list[str]]:
    """Headline and verdict for an EWMA or CUSUM chart: what the statistic says, in words."""
    stat = STATISTIC_CHARTS[r["chart"]]
    chart = r.get("chart_label") or r["chart"].upper()
    headline = f"{label}: {chart} chart of the {_period_word(freq)}ly figures, to {period_text(r.get('latest_period'), freq)}."
    variation = r.get("variation") or "common_cause"
    if variation == "common_cause" and not w.episodes:
        verdict = (f"No sustained shift: the {stat} has stayed within its limits, so the figures have not "
                   "moved away from their usual level.")
    elif variation == "common_cause":
        verdict = (f"The {stat} is back within its limits now; earlier it went beyond them, a sign of a "
                   "small sustained shift at the time (below).")
    else:
        high = (r.get("latest_value") or 0.0) > (r.get("centre") or 0.0)
        side = "above its upper" if high else "below its lower"
        meaning = {"special_cause_improvement": "a change for the better",
                   "special_cause_concern": "a change for the worse"}.get(variation, "neither better nor worse for this indicator")
        verdict = (f"Special cause variation, {meaning}: the {stat} is {side} limit, a sign that the figures "
                   "have shifted and stayed shifted.")
    return headline, [verdict, "Each point on this chart is a running statistic, not that period's figure."]


def _sentences(r: dict, trend_row: dict | None, w: _Window, age: str) -> tuple[str, str, list[str]]:
    unit = r.get("unit") or ("%" if r.get("chart") in ("p", "pp") else "")
    freq = r.get("frequency") or "month"
    name = r.get("name") or r.get("series") or r.get("indicator_id") or "This indicator"
    area = r.get("area_name") or ""
    label = f"{name} ({area})" if area else name
    value = format_value(r.get("latest_value"), unit)
    when = period_text(r.get("latest_period"), freq)
    headline = f"{label}: {value} in {when}."

    lower, upper, centre = r.get("lower"), r.get("upper"), r.get("centre")
    if _is_percent(unit) and lower is not None:
        lower = max(lower, 0.0)
    if lower is not None and not _is_percent(unit) and lower < 0:
        lower = 0.0
    d = _limit_decimals(lower, upper, unit)
    has_limits = lower is not None and upper is not None
    lo_s = format_value(lower, unit, decimals=d)
    hi_s = format_value(upper, unit, decimals=d)
    target = r.get("target")
    noun = _noun(r.get("target_source"))
    assurance = assurance_status(r.get("assurance"), target, unit, noun, freq) if has_limits else ""

    phase_start = r.get("phase_start")
    new_phase = (r.get("latest_phase") or 1) > 1
    if new_phase and phase_start is not None:
        since = f"since the new phase began in {period_text(phase_start, freq)}"
    elif phase_start is not None:
        since = f"since the series began in {period_text(phase_start, freq)}"
    else:
        since = "in this phase"
    # A window that holds special cause is never summed up as "no change ... since it began".
    eventful = bool(w.episodes)
    if eventful:
        since = (f"(recalculated from {period_text(phase_start, freq)})" if new_phase and phase_start is not None
                 else f"(from {period_text(phase_start, freq)})" if phase_start is not None else "")

    sentences = [headline]
    variation = r.get("variation") or "common_cause"
    if r.get("chart") in STATISTIC_CHARTS:
        headline, said = _statistic_sentences(r, w, label, freq)
        sentences = [headline, *said]
    elif variation == "common_cause" and not eventful:
        s = f"No change beyond normal variation {since}"
        if has_limits:
            s += f"; the process runs between {lo_s} and {hi_s}"
            s += f", so {assurance}." if assurance else "."
        else:
            s += "."
        sentences.append(s)
    else:
        latest_phase = r.get("latest_phase") or max(e["phase"] for e in w.episodes)
        phase_clean = not any(e["phase"] == latest_phase for e in w.episodes)
        if variation == "common_cause" and new_phase and phase_clean and phase_start is not None:
            # the claim covers only the new phase, which holds no special cause
            s = ("The latest value is within normal variation, as is every point since the new phase "
                 f"began in {period_text(phase_start, freq)}")
            if has_limits:
                s += f"; the process runs between {lo_s} and {hi_s}"
                s += f", so {assurance}" if assurance else ""
            sentences.append(s + ".")
        elif variation == "common_cause":
            sentences.append("The latest value is within normal variation.")
        else:
            rule = _rule_phrase(r.get("latest_rule"))
            if variation == "special_cause_improvement":
                verdict = "a change for the better"
            elif variation == "special_cause_concern":
                verdict = "a change for the worse"
            elif variation == "special_cause_neutral_high":
                verdict = "unusually high (for this indicator neither better nor worse)"
            else:
                verdict = "unusually low (for this indicator neither better nor worse)"
            sentences.append(f"Special cause variation, {verdict}: {rule}.")
        if has_limits and not (variation == "common_cause" and new_phase and phase_clean):
            limits = f"The limits {since} run" if since else "The limits run"
            s = f"{limits} from {lo_s} to {hi_s} around an average of {format_value(centre, unit, decimals=d)}"
            s += f"; at these limits {assurance}." if assurance else "."
            sentences.append(s)
    sentences += _episode_sentences(w, freq)
    if w.suggestion is not None:
        sentences.append(suggestion_sentence(w.suggestion, unit, freq))
    gap = gap_sentence(w.gaps, freq)
    if gap:
        sentences.append(gap)

    if r.get("runs_signal") and variation == "common_cause":
        lr, lmax = r.get("longest_run"), r.get("longest_run_max")
        cr, cmin = r.get("crossings"), r.get("crossings_min")
        if lr is not None and lmax is not None and lr > lmax:
            sentences.append(
                f"The values are not randomly spread around the average: the longest run on one "
                f"side is {lr} points, more than the {lmax} chance would give; look for a "
                "sustained shift."
            )
        elif cr is not None and cmin is not None and cr < cmin:
            times = "once" if cr == 1 else f"{cr} times"
            sentences.append(
                f"The values are not randomly spread around the average: they cross it only {times}, "
                f"fewer than the {cmin} chance would give; look for a sustained shift."
            )
    if r.get("trial_limits") and has_limits:
        n_used = r.get("phase_n_used")
        extra = f" has only {n_used} points" if n_used is not None else " is short"
        sentences.append(f"These limits are provisional: the phase{extra} (12 are needed for firm limits).")
    if r.get("autocorrelated"):
        # never silent: limits from the moving range are too narrow for a series with memory
        sentences.append(dependence_sentence(freq, r.get("chart")))
    if trend_row is not None:
        sentences.append(_trend_sentence(trend_row, unit, r.get("improvement"), freq))
    if age:
        sentences.append(age[0].upper() + age[1:] + ".")
    for warning in r.get("warnings") or []:
        if r.get("trial_limits") and has_limits and "trial limits" in warning:
            continue  # already said in plain words above
        if gap and "gap" in warning and "missing" in warning:
            continue  # the gap sentence above says where
        sentences.append(warning if warning.endswith(".") else warning + ".")

    status = _status(variation, len(w.episodes))
    if assurance:
        status += f"; {assurance}"
    return headline, status + ".", sentences


def _status(variation: str, n_episodes: int) -> str:
    """The variation part of the status line; 'no change' only when the window holds none."""
    if variation == "common_cause" and n_episodes:
        return (f"Latest value within normal variation; {plural(n_episodes, 'earlier episode')} beyond it "
                "in the period shown")
    return variation_status(variation)


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _trend_sentence(t: dict, unit: str, improvement: str | None, frequency: str | None = "month") -> str:
    """The long-term trend in plain words (the test statistics are in `trend_detail`)."""
    months = t.get("window_months")
    span = f"the {months} months to" if months else "the period to"
    end = period_text(t.get("end"), frequency)  # quarters read as quarters
    if t.get("direction") in ("rising", "falling"):
        slope = t["slope_per_year"]
        per_year = format_value(abs(slope), unit, decimals=1 if _is_percent(unit) else None)
        if _is_percent(unit):
            per_year = per_year.replace("%", " percentage points")
        good = None
        if improvement in ("increase", "decrease"):
            good = (slope > 0) == (improvement == "increase")
        judgement = "" if good is None else (", an improvement" if good else ", a deterioration")
        return (f"Over {span} {end} the long-term trend is {t['direction']}, by about {per_year} a "
                f"year{judgement}; more than chance, even allowing for how each value follows the last.")
    if t.get("direction") == "step" and t.get("step_start") is not None:
        # one shift in level explains the values better than a steady trend (spc.trend.step_or_line)
        change = t.get("step_change") or 0.0
        size = format_value(abs(change), unit, decimals=1 if _is_percent(unit) else None)
        if _is_percent(unit):
            size = size.replace("%", " percentage points")
        return (f"Over {span} {end} the level stepped {'up' if change > 0 else 'down'} by about {size} in "
                f"{period_text(t['step_start'], frequency)}, rather than following a steady trend.")
    if t.get("direction") == "too few points":
        return f"Too few points to judge a long-term trend over {span} {end}."
    return f"Over {span} {end} there is no clear long-term trend."


def trend_detail(t: dict) -> str:
    """The trend tests behind the trend sentence, for an analyst's detail view: 'Mann-Kendall
    p = 0.003; Mann-Kendall, variance inflated for lag-1 autocorrelation p = 0.040; lag-1
    autocorrelation 0.21'."""
    parts = []
    if t.get("mk_p") is not None:  # the test before the allowance for autocorrelation
        plain = "Seasonal Kendall" if str(t.get("trend_test") or "").startswith("Seasonal") else "Mann-Kendall"
        parts.append(f"{plain} {_p(t['mk_p'])}")
    if t.get("mk_p_adjusted") is not None:
        parts.append(f"{t.get('trend_test') or 'Mann-Kendall allowing for autocorrelation'} {_p(t['mk_p_adjusted'])}")
    for col in ("lag1_autocorrelation", "lag1", "acf1"):
        if t.get(col) is not None:
            parts.append(f"lag-1 autocorrelation {t[col]:.2f}")
            break
    return "; ".join(parts)


def _windows(rows: pl.DataFrame, points: pl.DataFrame | None, key: list[str]) -> dict[tuple, _Window]:
    """Episodes, gaps and a recalculation suggestion for every series of `points`, at once."""
    need = {"period", "phase", "rule", "point_type", *key}
    if points is None or points.is_empty() or not need <= set(points.columns):
        return {}
    out: dict[tuple, _Window] = {}
    bounds = points.group_by(key).agg(first=pl.col("period").min(), last=pl.col("period").max())
    for b in bounds.iter_rows(named=True):
        out[tuple(b[k] for k in key)] = _Window(first=b["first"], last=b["last"])
    for e in episodes(points).iter_rows(named=True):
        out[tuple(e[k] for k in key)].episodes.append(e)
    if {"value", "centre"} <= set(points.columns):
        # only the latest phase's limits are the ones drawn now
        for s in current_suggestions(points).iter_rows(named=True):
            out[tuple(s[k] for k in key)].suggestion = s
    freq = rows.select(*key, pl.col("frequency").fill_null("month")).unique(subset=key)
    for f, part in points.join(freq, on=key, how="left").with_columns(
            pl.col("frequency").fill_null("month")).partition_by("frequency", as_dict=True).items():
        for g in gaps(part, f[0], key).iter_rows(named=True):
            out[tuple(g[k] for k in key)].gaps.append(g)
    return out


def _season_notes(rows: pl.DataFrame, points: pl.DataFrame | None, key: list[str]) -> dict[tuple, str]:
    """For series whose latest point is special cause on the side where the season usually
    takes it (high at a seasonal peak, low at a trough): `spc.trend.season_at_latest`'s sentence."""
    if points is None or points.is_empty() or "value" not in points.columns or "variation" not in rows.columns:
        return {}
    from spc.trend import season_at_latest

    signalled = rows.filter(pl.col("variation").str.starts_with("special_cause"))
    if signalled.is_empty() or not {"latest_value", "centre"} <= set(signalled.columns):
        return {}
    sides = {tuple(r[k] for k in key): r["latest_value"] > r["centre"] for r in signalled.iter_rows(named=True)
             if r["latest_value"] is not None and r["centre"] is not None}
    name = pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator="\x1f")
    part = points.join(signalled.select(key), on=key).select(name.alias("_season_key"), "period", "value", *key)
    if part.is_empty():
        return {}
    keys = {r["_season_key"]: tuple(r[k] for k in key)
            for r in part.select("_season_key", *key).unique().iter_rows(named=True)}
    notes = {}
    for s in season_at_latest(part.select(pl.col("_season_key").alias("series"), "period", "value")).iter_rows(named=True):
        k = keys[s["series"]]
        if s["position"] is not None and sides.get(k) == (s["position"] == "peak"):
            notes[k] = s["sentence"]
    return notes


def describe(
    summary: pl.DataFrame,
    phases: pl.DataFrame | None,
    indicators: pl.DataFrame | None,
    *,
    points: pl.DataFrame | None = None,
    trend: pl.DataFrame | None = None,
    checks: pl.DataFrame | None = None,
    today: dt.date | None = None,
) -> pl.DataFrame:
    """Plain-English narrative, one row per summary row.

    `summary`, `phases` and `points` are the engine's frames (keyed by `series`, or by
    `indicator_id` + `area_code` as stored). `indicators` is the catalogue (matched on `id` =
    indicator_id, or on `series`; one row applies to every series): name, unit ('%' for
    proportions stored as 0..1, 'count', 'seconds', 'minutes'), frequency, target_source and,
    when the summary lacks them, improvement and target. An optional `area_name` column on the
    summary is shown after the indicator name.

    `points` (the displayed window) lets the text name the rule behind a special cause and say
    what happened in the window: every special-cause episode (`spc.narrative.episodes`), a
    suggested recalculation date where the latest phase's limits average two levels
    (`spc.narrative.levels`) and the periods missing between figures (`spc.timeliness.gaps`).
    When the window holds special cause the text never says "no change" or "since the series
    began". `trend` (optional, from `spc.trend.long_term_trend`, keyed by `series`) adds a
    long-term trend sentence; `checks` (optional, from `spc.trend.data_checks`) adds its
    warnings; `today` adds how old the latest figure is (`spc.timeliness.data_age`).

    Returns the summary's key columns plus `headline` (first sentence), `status` (one line for
    the summary screen) and `sentences` (list[str], headline first: everything below, in
    reading order); and, for pages that lay the parts out themselves, `episodes` (the window's
    episodes: a count, then one sentence each), `suggestion` (the recalculation sentence) and
    `suggested_start` (its date), `gaps` (the missing-periods sentence), `age` (the data-age
    text) and `late` (a later figure is already due); null where there is nothing to say.
    """
    key = series_key(summary)
    rows = _with_metadata(summary, indicators)
    if phases is not None and phases.height and set(key) <= set(phases.columns):
        ph = phases.select(
            *key,
            pl.col("phase").alias("latest_phase"),
            pl.col("start").alias("phase_start"),
            *[pl.col(c) for c in ("longest_run", "longest_run_max", "crossings", "crossings_min") if c in phases.columns],
            *([pl.col("n_used").alias("phase_n_used")] if "n_used" in phases.columns else []),
        )
        rows = rows.join(ph, on=[*key, "latest_phase"], how="left")
    if points is not None and points.height and set(key) <= set(points.columns):
        latest = points.select(*key, pl.col("period").alias("latest_period"), pl.col("rule").alias("latest_rule"))
        rows = rows.join(latest, on=[*key, "latest_period"], how="left")
    windows = _windows(rows, points, key)
    season = _season_notes(rows, points, key)
    trend_rows: dict = {}
    if trend is not None and trend.height and "series" in trend.columns and key == ["series"]:
        trend_rows = {t["series"]: t for t in trend.iter_rows(named=True)}
    check_rows: dict[str, list[str]] = {}
    if checks is not None and checks.height and key == ["series"]:
        for c in checks.iter_rows(named=True):
            check_rows.setdefault(c["series"], []).append(c["message"])
    out = []
    for r in rows.iter_rows(named=True):
        t = trend_rows.get(r.get("series")) if trend_rows else None
        w = windows.get(tuple(r[k] for k in key), _Window())
        if r.get("chart") in STATISTIC_CHARTS:
            w.suggestion = None  # levels of a running statistic are not levels of the figures
        dated = None
        if today is not None and r.get("latest_period") is not None:
            dated = data_age(r["latest_period"], r.get("frequency") or "month", today,
                             indicator_id=r.get("indicator_id"))
        age = dated.text() if dated else ""
        headline, status, sentences = _sentences(r, t, w, age)
        if (note := season.get(tuple(r[k] for k in key))) is not None:
            sentences = [*sentences[:2], note, *sentences[2:]]  # right after the signal's sentence
        sentences = sentences + check_rows.get(r.get("series"), [])
        unit = r.get("unit") or ("%" if r.get("chart") in ("p", "pp") else "")
        out.append({**{k: r[k] for k in key}, "headline": headline, "status": status, "sentences": sentences,
                    "episodes": _episode_sentences(w, r.get("frequency") or "month"),
                    "suggestion": suggestion_sentence(w.suggestion, unit, r.get("frequency")) if w.suggestion else None,
                    "suggested_start": w.suggestion["suggested_start"] if w.suggestion else None,
                    "gaps": gap_sentence(w.gaps, r.get("frequency")) or None,
                    "age": age or None, "late": dated.late if dated else None})
    schema = {**{k: pl.String for k in key}, "headline": pl.String, "status": pl.String,
              "sentences": pl.List(pl.String), "episodes": pl.List(pl.String), "suggestion": pl.String,
              "suggested_start": pl.Date, "gaps": pl.String, "age": pl.String, "late": pl.Boolean}
    return pl.DataFrame(out, schema=schema) if out else pl.DataFrame(schema=schema)


def status_lines(summary: pl.DataFrame, indicators: pl.DataFrame | None = None,
                 points: pl.DataFrame | None = None) -> pl.Series:
    """One plain-English status line per summary row, in summary order, e.g.
    'No change beyond normal variation; the 90% standard will be met in some periods and
    missed in others.' (variation icon, then assurance icon when there is a target). With
    `points`, a latest point within normal variation after earlier special cause reads
    'Latest value within normal variation; 3 earlier episodes beyond it in the period shown'."""
    rows = _with_metadata(summary, indicators)
    key = series_key(summary)
    counts: dict[tuple, int] = {}
    if points is not None and points.height and {"period", "phase", "rule", "point_type", *key} <= set(points.columns):
        per = episodes(points).group_by(key).len()
        counts = {tuple(c[k] for k in key): c["len"] for c in per.iter_rows(named=True)}
    lines = []
    for r in rows.iter_rows(named=True):
        unit = r.get("unit") or ("%" if r.get("chart") in ("p", "pp") else "")
        line = _status(r.get("variation") or "", counts.get(tuple(r[k] for k in key), 0)) if r.get("variation") else ""
        a = assurance_status(r.get("assurance"), r.get("target"), unit, _noun(r.get("target_source")), r.get("frequency"))
        if a:
            line = f"{line}; {a}" if line else a[0].upper() + a[1:]
        lines.append(line + "." if line else "")
    return pl.Series("status", lines, dtype=pl.String)
