"""A small planted store for the Summary tests: a few series whose signals are known in advance.

Monthly series end last month (so they are on time whatever day the tests run), except one that
ends in April 2024 (late on any day after mid-2024):

| indicator | area | planted |
|---|---|---|
| crime_burglary | force | upward shift in the last 8 months: a concern (decrease is better) |
| asb_incidents | force | downward shift in the last 8 months: an improvement |
| crime_robbery | force | steady; then a refresh triples its latest month: a NEW concern |
| crime_shoplifting | force | steady, ends April 2024: late |
| fire_attendance_standard_met | force | steady near 60% against an 80% standard: will not meet it |
| outcome_awaiting_court_outcome | force | upward shift: changed (an outcome, no better direction) |
| outcome_offender_sent_to_prison | force | steady |
| crime_burglary | tamworth | steady, with 5 months missing (the 11th to the 15th of 36) |
| proven_reoffending_rate | england-and-wales | national (only when the store allows national areas) |
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

NATIONAL_CODE = "england-and-wales"
NATIONAL_NAME = "England and Wales"


def _months(end: dt.date, n: int) -> list[dt.date]:
    index = end.year * 12 + end.month - 1
    return [dt.date((index - k) // 12, (index - k) % 12 + 1, 1) for k in range(n - 1, -1, -1)]


def last_month(today: dt.date | None = None) -> dt.date:
    """The first day of the month before `today` (default: today, UTC)."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    first = today.replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


def planted_rows(end: dt.date) -> pl.DataFrame:
    """The tidy rows of the planted store (see the module docstring)."""
    rng = np.random.default_rng(7)
    months = _months(end, 36)
    rows: list[dict] = []

    def series(indicator: str, area: str, values: np.ndarray, periods: list[dt.date] | None = None) -> None:
        for p, v in zip(periods or months, values):
            rows.append({"indicator": indicator, "area": area, "period": p.isoformat(), "value": float(round(v)),
                         "numerator": None, "denominator": None})

    def steady(level: float, sd: float, n: int = 36) -> np.ndarray:
        return level + sd * rng.standard_normal(n)

    def shifted(level: float, sd: float, by: float) -> np.ndarray:
        v = steady(level, sd)
        v[-8:] += by
        return v

    series("crime_burglary", "staffordshire", shifted(400, 15, 120))
    series("asb_incidents", "staffordshire", shifted(1500, 40, -400))
    series("crime_robbery", "staffordshire", steady(60, 3))
    series("crime_shoplifting", "staffordshire", steady(500, 20), _months(dt.date(2024, 4, 1), 36))
    series("outcome_awaiting_court_outcome", "staffordshire", shifted(300, 10, 80))
    series("outcome_offender_sent_to_prison", "staffordshire", steady(40, 2))
    tamworth = steady(40, 3)
    series("crime_burglary", "tamworth", np.delete(tamworth, range(10, 15)), months[:10] + months[15:])  # a gap
    for p in months:  # about 60% against the 80% standard, with a denominator
        denominator = 1000
        numerator = int(round(denominator * (0.6 + 0.01 * rng.standard_normal())))
        rows.append({"indicator": "fire_attendance_standard_met", "area": "staffordshire", "period": p.isoformat(),
                     "value": None, "numerator": float(numerator), "denominator": float(denominator)})
    return pl.DataFrame(rows, schema={"indicator": pl.String, "area": pl.String, "period": pl.String,
                                      "value": pl.Float64, "numerator": pl.Float64, "denominator": pl.Float64})


def national_rows(end: dt.date) -> pl.DataFrame:
    """Quarterly proven reoffending for England and Wales (national context)."""
    rng = np.random.default_rng(11)
    quarter_end = dt.date(end.year, (end.month - 1) // 3 * 3 + 1, 1)
    quarters = _months(quarter_end, 3 * 20)[::-3][::-1]
    values = 0.25 + 0.003 * rng.standard_normal(len(quarters))
    return pl.DataFrame({"indicator": "proven_reoffending_rate", "area": NATIONAL_CODE,
                         "period": [q.isoformat() for q in quarters], "value": values,
                         "numerator": None, "denominator": None},
                        schema={"indicator": pl.String, "area": pl.String, "period": pl.String,
                                "value": pl.Float64, "numerator": pl.Float64, "denominator": pl.Float64})


def add_national_area(db: Path) -> bool:
    """Add the England and Wales national area; False when this store's schema has no such type."""
    con = duckdb.connect(str(db))
    try:
        if con.execute("SELECT count(*) FROM area WHERE code = ?", [NATIONAL_CODE]).fetchone()[0]:
            return True
        con.execute("INSERT INTO area (code, name, type) VALUES (?, ?, 'national')", [NATIONAL_CODE, NATIONAL_NAME])
        return True
    except duckdb.ConstraintException:
        return False
    finally:
        con.close()


def build_planted_store(path: Path, end: dt.date | None = None) -> bool:
    """Build the planted store at `path`; True when it holds the national series too."""
    from spc.cli import main

    end = end or last_month()
    assert main(["db", "init", "--empty", "--db", str(path)]) == 0
    national = add_national_area(path)
    frame = planted_rows(end)
    if national:
        frame = pl.concat([frame, national_rows(end)])
    csv = path.with_suffix(".csv")
    frame.write_csv(csv)
    assert main(["import", "tidy", str(csv), "--db", str(path)]) == 0
    return national


def add_new_concern(path: Path) -> None:
    """A revised latest robbery figure (tripled), then a refresh: crime_robbery becomes a NEW concern."""
    from spc.cli import main

    con = duckdb.connect(str(path))
    con.execute("""UPDATE observation SET value = value * 3, loaded_at = now()
                   WHERE indicator_id = 'crime_robbery' AND area_code = 'staffordshire'
                     AND period_start = (SELECT max(period_start) FROM observation
                                         WHERE indicator_id = 'crime_robbery')""")
    con.close()
    assert main(["refresh", "--db", str(path), "--only", "crime_robbery"]) == 3
