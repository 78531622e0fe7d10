"""The illustrative demo data: a deterministic generator calibrated to published figures.

Every indicator's shape comes from its `[indicator.demo]` table in `data/indicators.toml`;
this module has no per-indicator branches. The keys (all optional unless said):

    levels            [[month, level], ...] anchors of the underlying level, linearly
                      interpolated between anchors and flat outside them (required unless
                      `sum_of`). Counts are per period (a month, or a quarter for quarterly
                      indicators); proportions are fractions 0..1.
    noise             standard deviation of plain month-to-month noise, in the value's units
                      (proportions and durations).
    cv                counts: extra-Poisson noise as a coefficient of variation.
    season_amplitude  size of a yearly cosine cycle (a fraction of the level for counts,
    season_peak       value units otherwise) peaking in month `season_peak` (1-12).
    month_effects     twelve extra monthly effects, January first (bonfire night, Christmas).
    steps             [{date, change, ramp, text, kind, area, rebase}]: a lasting change from
                      `date` (a fraction of the level for counts, value units otherwise),
                      reached over `ramp` months. With `text` it is recorded as an annotation
                      (kind "intervention" unless `kind` says otherwise); `rebase = true` adds
                      a "recalculate" annotation too; `area` limits it to one area.
    events            [{start, end, change, text, kind, area}]: a temporary change between
                      two months inclusive (annotated as kind "note" when it has `text`).
    pin               {month = value}: a published single-period figure shown exactly
                      (force-wide, value-only series).
    denominator       proportions: the denominator's level per period (`denominator_cv`
                      its noise), or `denominator_from` another count indicator's values.
    sum_of            counts: the sum of other count indicators (force and every area).
    area_shares       {area code = share} for local indicators (default: police.uk shares).
    lag_months        the latest period is this many months before `end` (reoffending).
    decimals          rounding of value-only series.

Local indicators are generated area by area and the force figure is their sum (counts and
proportions with a denominator), so the areas add up exactly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from spc.errors import SpcError
from spc.store.catalogue import Catalogue, Indicator
from spc.store.observations import (OBSERVATION_COLUMNS, WriteCounts, finish_batch, record_rejections,
                                    now, start_batch, write_observations)

START = "2018-04"
AUTHOR = "spc demo-data (illustrative)"

#: Each partnership area's share of force-wide recorded crime and ASB, from the located
#: police.uk street rows for Staffordshire (Oct 2018 to Feb 2019 and Jan to Apr 2024).
DEFAULT_AREA_SHARES: dict[str, float] = {
    "cannock-chase": 0.079, "east-staffordshire": 0.101, "lichfield": 0.068,
    "newcastle-under-lyme": 0.099, "south-staffordshire": 0.060, "stafford": 0.101,
    "staffordshire-moorlands": 0.058, "tamworth": 0.062, "stoke-on-trent": 0.370,
}

ANNOTATION_COLUMNS: dict[str, pl.DataType] = {
    "indicator_id": pl.String(), "area_code": pl.String(), "date": pl.Date(),
    "kind": pl.String(), "text": pl.String(), "author": pl.String(),
}

_DEMO_KEYS = {"levels", "noise", "cv", "season_amplitude", "season_peak", "month_effects", "steps",
              "events", "pin", "denominator", "denominator_cv", "denominator_from", "sum_of",
              "area_shares", "lag_months", "decimals"}
_STEP_KEYS = {"date", "change", "ramp", "text", "kind", "area", "rebase"}
_EVENT_KEYS = {"start", "end", "change", "text", "kind", "area"}
_GRAIN_MONTHS = {"month": 1, "quarter": 3, "year": 12}
_DEFAULT_DECIMALS = {"survey proportion": 3, "proportion": 4, "duration": 2, "mean": 2, "rate": 2}


@dataclass(frozen=True)
class DemoData:
    """Generated demo observations and annotations (see `generate`)."""

    observations: pl.DataFrame
    annotations: pl.DataFrame
    seed: int = 2024
    end: dt.date | None = None


# --- months -----------------------------------------------------------------------------------

def parse_month(text: str) -> dt.date:
    """'YYYY-MM' as the first day of that month; SpcError for anything else."""
    match = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", str(text))
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise SpcError(f"month {text!r}: expected YYYY-MM, for example 2026-10")
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


#: the end month of the committed demo data in data/demo/: `spc demo-data` with no options
#: regenerates those files byte for byte, whatever today's date
DEMO_END = dt.date(2026, 10, 1)


def latest_full_month(today: dt.date | None = None) -> dt.date:
    """The first day of the last complete month before `today`."""
    today = today or dt.date.today()
    return dt.date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)


def _index(month: dt.date) -> int:
    """Months since year 0, so month arithmetic is integer arithmetic."""
    return month.year * 12 + month.month - 1


def _month_index(text: str, where: str) -> int:
    try:
        return _index(parse_month(text))
    except SpcError as exc:
        raise SpcError(f"{where}: {exc}") from None


def _dates(indices: np.ndarray) -> pl.Series:
    """Month indices as first-of-month dates (vectorised)."""
    frame = pl.DataFrame({"y": indices // 12, "m": indices % 12 + 1})
    return frame.select(pl.date("y", "m", 1).alias("period_start")).to_series()


# --- calibration -----------------------------------------------------------------------------

def _check_keys(where: str, table: dict[str, Any], allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            raise SpcError(f"{where}: unknown demo field '{key}' (allowed: {', '.join(sorted(allowed))})")


def _spec(ind: Indicator) -> dict[str, Any]:
    """The indicator's demo table, checked: unknown keys and missing levels are errors."""
    where = f"indicator {ind.id} [indicator.demo]"
    demo = dict(ind.demo)
    _check_keys(where, demo, _DEMO_KEYS)
    if "levels" not in demo and "sum_of" not in demo:
        raise SpcError(f"{where}: needs 'levels' (or 'sum_of')")
    for i, step in enumerate(demo.get("steps", []), start=1):
        _check_keys(f"{where} step {i}", step, _STEP_KEYS)
        if "date" not in step or "change" not in step:
            raise SpcError(f"{where} step {i}: needs 'date' and 'change'")
    for i, event in enumerate(demo.get("events", []), start=1):
        _check_keys(f"{where} event {i}", event, _EVENT_KEYS)
        if not {"start", "end", "change"} <= set(event):
            raise SpcError(f"{where} event {i}: needs 'start', 'end' and 'change'")
    if "pin" in demo and (ind.kind == "count" or {"denominator", "denominator_from", "sum_of"} & set(demo)):
        raise SpcError(f"{where}: 'pin' is for value-only series (durations, means, survey shares)")
    if len(demo.get("month_effects", [0] * 12)) != 12:
        raise SpcError(f"{where}: 'month_effects' needs 12 values, January first")
    return demo


def _periods(ind: Indicator, spec: dict[str, Any], end: dt.date) -> np.ndarray:
    """Period starts (month indices) from April 2018 to the last full period by `end`."""
    step = _GRAIN_MONTHS.get(ind.frequency)
    if step is None:
        raise SpcError(f"indicator {ind.id}: demo data is monthly, quarterly or yearly, not {ind.frequency!r}")
    first = _month_index(START, ind.id)
    last_month = _index(end) - int(spec.get("lag_months", 0))
    # April-aligned quarters and years are financial periods; every period must be complete
    return np.arange(first, last_month - step + 2, step)


def _months(ind: Indicator, periods: np.ndarray) -> np.ndarray:
    """The months each period covers, shape (periods, months per period)."""
    return periods[:, None] + np.arange(_GRAIN_MONTHS[ind.frequency])[None, :]


def _levels(spec: dict[str, Any], months: np.ndarray, where: str, key: str = "levels") -> np.ndarray:
    anchors = sorted((_month_index(m, f"{where} {key}"), float(v)) for m, v in spec[key])
    return np.interp(months, [a for a, _ in anchors], [v for _, v in anchors])


def _season(spec: dict[str, Any], months: np.ndarray) -> np.ndarray:
    calendar_month = months % 12 + 1
    cycle = spec.get("season_amplitude", 0.0) * np.cos(2 * np.pi * (calendar_month - spec.get("season_peak", 1)) / 12)
    return cycle + np.asarray(spec.get("month_effects", [0.0] * 12), dtype=float)[calendar_month - 1]


def _changes(spec: dict[str, Any], months: np.ndarray, areas: list[str], where: str,
             multiplicative: bool) -> np.ndarray:
    """Steps and events as one array (areas, periods, months): a factor for counts, an addition otherwise."""
    out = np.ones((len(areas), *months.shape)) if multiplicative else np.zeros((len(areas), *months.shape))
    for item in spec.get("steps", []) + spec.get("events", []):
        if "date" in item:
            start = _month_index(item["date"], where)
            ramp = int(item.get("ramp", 0))
            effect = item["change"] * np.clip((months - start + 1) / (ramp + 1), 0, 1)
        else:
            start, stop = _month_index(item["start"], where), _month_index(item["end"], where)
            effect = item["change"] * ((months >= start) & (months <= stop))
        rows = slice(None)
        if item.get("area"):
            if item["area"] not in areas:
                raise SpcError(f"{where}: area {item['area']!r} is not one of this indicator's areas")
            rows = areas.index(item["area"])
        if multiplicative:
            out[rows] = out[rows] * (1 + effect)
        else:
            out[rows] = out[rows] + effect
    return out


def _shares(spec: dict[str, Any], areas: list[str]) -> np.ndarray:
    given = spec.get("area_shares", {})
    raw = np.array([given.get(a, DEFAULT_AREA_SHARES.get(a, np.nan)) for a in areas], dtype=float)
    raw = np.where(np.isnan(raw), np.nanmean(raw) if not np.isnan(raw).all() else 1.0, raw)
    return raw / raw.sum()


def _annotations(ind: Indicator, spec: dict[str, Any], catalogue: Catalogue) -> list[dict[str, Any]]:
    """The indicator's dated steps and events as annotations; a `sum_of` total also carries its
    parts' steps (without their events), so a step in a part is explained on the total's chart."""
    items = spec.get("steps", []) + spec.get("events", [])
    for part in spec.get("sum_of", []):
        items += [step for step in catalogue.indicator(part).demo.get("steps", []) if step not in items]
    rows = []
    for item in items:
        if not item.get("text"):
            continue
        is_step = "date" in item
        date = parse_month(item["date"] if is_step else item["start"])
        base = {"indicator_id": ind.id, "area_code": item.get("area"), "date": date, "author": AUTHOR}
        rows.append({**base, "kind": item.get("kind", "intervention" if is_step else "note"), "text": item["text"]})
        if item.get("rebase"):
            rows.append({**base, "kind": "recalculate", "text": f"Limits recalculated from here: {item['text']}"})
    return rows


# --- generation ------------------------------------------------------------------------------

@dataclass
class _Series:
    """One indicator's generated values: rows are areas (force first), columns periods."""

    areas: list[str]
    periods: np.ndarray
    value: np.ndarray
    numerator: np.ndarray | None = None
    denominator: np.ndarray | None = None


def _rng(seed: int, indicator_id: str) -> np.random.Generator:
    # one stream per indicator, so adding or editing one indicator leaves the others unchanged
    return np.random.default_rng([seed, zlib.crc32(indicator_id.encode())])


def _generate_one(ind: Indicator, catalogue: Catalogue, seed: int, end: dt.date,
                  done: dict[str, _Series], busy: set[str]) -> _Series:
    if ind.id in done:
        return done[ind.id]
    if ind.id in busy:
        raise SpcError(f"indicator {ind.id} [indicator.demo]: 'sum_of' or 'denominator_from' refers back to itself")
    busy.add(ind.id)
    where = f"indicator {ind.id} [indicator.demo]"
    spec = _spec(ind)
    force = catalogue.force.code
    local = [a.code for a in catalogue.local_areas] if ind.local else []
    periods = _periods(ind, spec, end)
    months = _months(ind, periods)
    rng = _rng(seed, ind.id)

    def source(other_id: str, key: str) -> _Series:
        try:
            other = catalogue.indicator(other_id)
        except SpcError:
            raise SpcError(f"{where}: '{key}' names unknown indicator {other_id!r}") from None
        found = _generate_one(other, catalogue, seed, end, done, busy)
        if not np.array_equal(found.periods, periods):
            raise SpcError(f"{where}: '{key}' indicator {other_id} has different periods (frequency or lag)")
        return found

    def by_area(series: _Series) -> np.ndarray:
        """Another indicator's counts for this one's areas: its rows, or the force split by shares."""
        if local and series.areas[1:] == local:
            return series.value[1:]
        return rng.multinomial(series.value[0].astype(np.int64), _shares(spec, local)).T

    if "sum_of" in spec:
        parts = [source(other, "sum_of") for other in spec["sum_of"]]
        counts = sum(by_area(p) if local else p.value[:1] for p in parts)
        result = _finish_counts(counts, local, force, periods)
    elif ind.kind == "count":
        rows = local or [force]
        shares = _shares(spec, local) if local else np.ones(1)
        mean = (_levels(spec, months, where) * (1 + _season(spec, months)))[None] \
            * _changes(spec, months, rows, where, multiplicative=True)
        mean = mean.mean(axis=2) * shares[:, None]  # levels are per period, so average over its months
        cv = spec.get("cv", 0.0)
        common = np.exp(rng.normal(0.0, cv, len(periods)) - cv**2 / 2)  # force-wide noise, shared by areas
        counts = rng.poisson(mean * common[None, :]).astype(float)
        result = _finish_counts(counts, local, force, periods)
    elif "denominator" in spec or "denominator_from" in spec:
        if "denominator_from" in spec:
            den_series = source(spec["denominator_from"], "denominator_from")
            den = by_area(den_series) if local else den_series.value[:1]
        else:
            level = float(spec["denominator"]) * np.exp(rng.normal(0.0, spec.get("denominator_cv", 0.05), len(periods)))
            den_force = np.maximum(np.round(level), 1).astype(np.int64)
            den = rng.multinomial(den_force, _shares(spec, local)).T if local else den_force[None, :]
        rows = local or [force]
        p = (_levels(spec, months, where) + _season(spec, months))[None] \
            + _changes(spec, months, rows, where, multiplicative=False)
        p = p.mean(axis=2) + rng.normal(0.0, spec.get("noise", 0.0), len(periods))[None, :]
        num = rng.binomial(den.astype(np.int64), np.clip(p, 0.001, 0.999)).astype(float)
        den = den.astype(float)
        if local:
            num = np.vstack([num.sum(axis=0), num])
            den = np.vstack([den.sum(axis=0), den])
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(den > 0, num / den, np.nan)
        result = _Series([force, *local], periods, value, num, den)
    else:
        rows = [force, *local]
        value = (_levels(spec, months, where) + _season(spec, months))[None] \
            + _changes(spec, months, rows, where, multiplicative=False)
        noise = rng.normal(0.0, spec.get("noise", 0.0), (len(rows), len(periods)))
        noise[1:] *= 2  # an area's figure rests on fewer cases than the force's
        value = value.mean(axis=2) + noise
        for month, pinned in spec.get("pin", {}).items():
            value[0, periods == _month_index(month, f"{where} pin")] = float(pinned)
        if ind.unit == "%":
            value = np.clip(value, 0.0, 1.0)
        value = np.round(value, int(spec.get("decimals", _DEFAULT_DECIMALS.get(ind.kind, 2))))
        result = _Series(rows, periods, value)
    busy.discard(ind.id)
    done[ind.id] = result
    return result


def _finish_counts(counts: np.ndarray, local: list[str], force: str, periods: np.ndarray) -> _Series:
    """Counts by area with the force row (their sum) on top."""
    if local:
        return _Series([force, *local], periods, np.vstack([counts.sum(axis=0), counts]))
    return _Series([force], periods, counts)


def _frame(ind: Indicator, series: _Series) -> pl.DataFrame:
    n_areas, n_periods = series.value.shape
    dates = _dates(series.periods)

    def flat(a: np.ndarray | None) -> np.ndarray:
        return np.full(n_areas * n_periods, np.nan) if a is None else a.reshape(-1)

    value = flat(series.value)
    if series.numerator is not None:
        value = np.round(value, 6)
    return pl.DataFrame({
        "indicator_id": [ind.id] * (n_areas * n_periods),
        "area_code": np.repeat(series.areas, n_periods),
        "period_start": pl.concat([dates] * n_areas) if n_areas else dates,
        "period_grain": [ind.frequency] * (n_areas * n_periods),
        "value": value,
        "numerator": flat(series.numerator),
        "denominator": flat(series.denominator),
    }, schema=OBSERVATION_COLUMNS).with_columns(pl.col("value", "numerator", "denominator").fill_nan(None))


def generate(catalogue: Catalogue, seed: int = 2024, end: dt.date | None = None) -> DemoData:
    """Illustrative observations and annotations for every indicator with an `[indicator.demo]` table.

    Monthly (or quarterly, per the catalogue) from April 2018 to `end` (default: `DEMO_END`,
    the committed data's last month), force-wide and, for local indicators, for each partnership area. The same
    catalogue, seed and end give identical frames. Indicators without a demo table are skipped.
    """
    end = dt.date(end.year, end.month, 1) if end else DEMO_END
    done: dict[str, _Series] = {}
    frames, notes = [], []
    for ind in catalogue.indicators:
        if not ind.demo:
            continue
        frames.append(_frame(ind, _generate_one(ind, catalogue, seed, end, done, set())))
        notes += _annotations(ind, _spec(ind), catalogue)
    observations = (pl.concat(frames) if frames else pl.DataFrame(schema=OBSERVATION_COLUMNS))
    annotations = pl.DataFrame(notes, schema=ANNOTATION_COLUMNS).sort("date", "indicator_id", "kind", "text")
    return DemoData(observations=observations, annotations=annotations, seed=seed, end=end)


# --- files -----------------------------------------------------------------------------------

_README = """# Demo data (illustrative, not published data)

These files are **illustrative**. They were generated by `spc demo-data --end {end} --seed {seed}`
from the `[indicator.demo]` calibration in `data/indicators.toml`, and are calibrated to the
published figures quoted in the commissioner's plans and annual reports (for example 87% of 999
calls answered within 10 seconds in 2023/24, the Fire and Rescue Service meeting its attendance
standard at 80.9% of 8,203 incidents in 2023/24, anti-social behaviour falling from about 2,400
to 3,200 incidents a month in 2018/19 to about 900 to 1,050 a month in 2024). Every other month,
every area split and every dated intervention is invented. Do not quote them as real figures.

- `observations.csv`: indicator_id, area_code, period_start, period_grain, value, numerator,
  denominator. Proportions are fractions (value = numerator / denominator where both are given).
  For local indicators the nine community safety partnership areas add up to the force figure.
  Every series is the force's or a partnership area's own, none is national: the proven
  reoffending rate here is an illustrative local series (cohorts of about 1,150 offenders a
  quarter). MoJ's England and Wales figures are published data, loaded with
  `spc import reoffending FILE` under the national area "England and Wales".
- `annotations.csv`: the dated interventions and events behind the step changes (an empty
  area_code means every area).

Re-running the same command reproduces these files byte for byte (a test checks it).
`spc db init` loads them into the store.
"""


def write_demo(demo: DemoData, out: Path) -> list[Path]:
    """Write observations.csv, annotations.csv and a README saying the data is illustrative."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    obs_path, ann_path, readme = out / "observations.csv", out / "annotations.csv", out / "README.md"
    demo.observations.write_csv(obs_path, date_format="%Y-%m-%d")
    demo.annotations.write_csv(ann_path, date_format="%Y-%m-%d")
    end = demo.end.strftime("%Y-%m") if demo.end else "YYYY-MM"
    readme.write_text(_README.format(end=end, seed=demo.seed), encoding="utf-8")
    return [obs_path, ann_path, readme]


def _read(path: Path, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    if not path.is_file():
        raise SpcError(f"{path}: demo data file not found; generate it with `spc demo-data`")
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise SpcError(f"{path}: cannot read the demo CSV ({exc})") from None
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise SpcError(f"{path}: missing column(s) {', '.join(missing)}; regenerate it with `spc demo-data`")
    try:
        return frame.select([
            (pl.col(c).str.to_date("%Y-%m-%d") if dtype == pl.Date() else pl.col(c).cast(dtype)).alias(c)
            for c, dtype in schema.items()
        ])
    except pl.exceptions.PolarsError as exc:
        raise SpcError(f"{path}: a value does not match its column type ({exc}); "
                       "regenerate it with `spc demo-data`") from None


def load_demo(con: duckdb.DuckDBPyConnection, demo_dir: Path) -> WriteCounts:
    """Load the demo CSVs into the store, inside the caller's transaction.

    Observations go through `write_observations` in a load batch with source "demo" (unchanged
    rows are skipped); rows for indicators or areas missing from the catalogue are kept as
    rejected rows. Annotations already present (same indicator, area, date, kind and text,
    withdrawn or not) are not added again, so loading twice adds nothing.
    """
    demo_dir = Path(demo_dir)
    obs_path, ann_path = demo_dir / "observations.csv", demo_dir / "annotations.csv"
    observations = _read(obs_path, OBSERVATION_COLUMNS)
    annotations = _read(ann_path, ANNOTATION_COLUMNS)
    indicators = [r[0] for r in con.execute("SELECT id FROM indicator").fetchall()]
    areas = [r[0] for r in con.execute("SELECT code FROM area").fetchall()]

    batch = start_batch(con, "demo", obs_path, hashlib.sha256(obs_path.read_bytes()).hexdigest())
    observations = observations.with_row_index("line", offset=2)  # header is line 1
    bad_indicator = ~pl.col("indicator_id").is_in(indicators)
    bad_area = ~pl.col("area_code").is_in(areas)
    rejected = observations.filter(bad_indicator | bad_area).select(
        pl.lit(str(obs_path)).alias("file"), pl.col("line").cast(pl.Int64),
        pl.when(bad_indicator).then(pl.lit("indicator_id")).otherwise(pl.lit("area_code")).alias("column_name"),
        pl.when(bad_indicator).then(pl.col("indicator_id")).otherwise(pl.col("area_code")).alias("value"),
        pl.when(bad_indicator).then(pl.lit("indicator not in the catalogue"))
        .otherwise(pl.lit("area not in the catalogue")).alias("reason"),
        pl.concat_str(pl.exclude("line").cast(pl.String), separator=",", ignore_nulls=True).alias("raw"),
    )
    good = observations.filter(~(bad_indicator | bad_area)).drop("line")
    counts = write_observations(con, good, batch)
    n_rejected = record_rejections(con, batch, rejected)
    status = ("partial" if n_rejected else
              "unchanged" if counts.loaded == 0 and counts.revised == 0 else "loaded")
    finish_batch(con, batch, status=status, rows_read=observations.height, counts=counts,
                 rows_rejected=n_rejected, message="illustrative demo data")

    annotations = annotations.filter(
        (pl.col("indicator_id").is_null() | pl.col("indicator_id").is_in(indicators))
        & (pl.col("area_code").is_null() | pl.col("area_code").is_in(areas)))
    con.register("_demo_annotations", annotations.to_arrow())
    try:
        con.execute("""
            INSERT INTO annotation (indicator_id, area_code, date, kind, text, author, created_at)
            SELECT DISTINCT a.indicator_id, a.area_code, a.date, a.kind, a.text, a.author, ?::TIMESTAMP
            FROM _demo_annotations a
            WHERE NOT EXISTS (
                SELECT 1 FROM annotation b
                WHERE b.indicator_id IS NOT DISTINCT FROM a.indicator_id
                  AND b.area_code IS NOT DISTINCT FROM a.area_code
                  AND b.date = a.date AND b.kind = a.kind AND b.text = a.text)
        """, [now()])
    finally:
        con.unregister("_demo_annotations")
    return counts
