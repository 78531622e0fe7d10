"""Resident populations beside the observations, and rates per 1,000 residents.

The store holds each area's mid-year population estimate per year (`area_population`, schema 9,
summed over the ONS districts the area covers; `spc.store.areas.populations`). An observation
for a period is matched to the estimate for the period's calendar year; when that year is not
in the data (the latest estimates lag a year or two behind the crime data), to the nearest year
there is, and `population_year` says which year was used. One vectorised as-of join over every
(area, period), never a loop over rows or series.

A rate per 1,000 residents is count / population x 1,000 for the same period: per month for a
monthly figure, per window for a total over a window (see `window_rates`).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from spc.errors import SpcError

#: residents per rate: "per 1,000 residents"
PER = 1000.0

POPULATION_SCHEMA = {"area_code": pl.String, "year": pl.Int32, "population": pl.Float64, "source": pl.String}


def empty_populations() -> pl.DataFrame:
    """A populations frame with no rows (a store from before schema 9, or no estimates loaded)."""
    return pl.DataFrame(schema=POPULATION_SCHEMA)


def load_populations(con: Any) -> pl.DataFrame:
    """area_code, year, population, source: every area's mid-year estimates in the store.

    Empty (never an error) for a store that has none: a store from before schema 9 answers
    with no populations, and every view that needs them says so.
    """
    import duckdb

    from spc.store.areas import populations

    try:
        got = populations(con)
    except duckdb.CatalogException:  # a store from before schema 9
        return empty_populations()
    if not isinstance(got, pl.DataFrame) or got.is_empty():
        return empty_populations()
    return tidy_populations(got)


def tidy_populations(populations: pl.DataFrame) -> pl.DataFrame:
    """The populations frame in its one schema; `source` optional."""
    for c in ("area_code", "year", "population"):
        if c not in populations.columns:
            raise SpcError(f"populations: missing column {c!r} (expected area_code, year, population)")
    src = pl.col("source").cast(pl.String) if "source" in populations.columns else pl.lit(None, pl.String)
    return populations.select(
        pl.col("area_code").cast(pl.String),
        pl.col("year").cast(pl.Int32),
        pl.col("population").cast(pl.Float64),
        src.alias("source"),
    ).filter(pl.col("population").is_not_null() & (pl.col("population") > 0))


def with_population(frame: pl.DataFrame, populations: pl.DataFrame, *, area: str = "area_code",
                    period: str = "period") -> pl.DataFrame:
    """`frame` with each row's resident population: `population` and `population_year`.

    Every row (area, period) is matched to the area's mid-year estimate for the period's year,
    else the nearest year available (`population_year` says which; the later year when two are
    equally near). Areas with no estimate get nulls. Rows keep their order. One as-of join.
    """
    for c in (area, period):
        if c not in frame.columns:
            raise SpcError(f"populations: the data has no {c!r} column")
    pops = tidy_populations(populations) if populations.height else empty_populations()
    pops = (pops.select(pl.col("area_code").alias(area), pl.col("year").alias("population_year"),
                        "population", pl.col("year").alias("_year"))
            # the later of two equally near years: nearest keeps the first of equals, so search
            # a copy of the years in descending tie order via a tiny offset
            .with_columns((pl.col("_year").cast(pl.Float64) - 1e-6).alias("_key"))
            .sort("_key"))
    out = (frame.with_row_index("_row")
           .with_columns(pl.col(period).dt.year().cast(pl.Float64).alias("_key"))
           .sort("_key")
           .join_asof(pops.drop("_year"), on="_key", by=area, strategy="nearest",
                      check_sortedness=False)
           .sort("_row")
           .drop("_row", "_key"))
    return out


def per_thousand(value: str = "value", population: str = "population", per: float = PER) -> pl.Expr:
    """The expression count / population x `per` (null without a population)."""
    return pl.when(pl.col(population) > 0).then(pl.col(value) / pl.col(population) * per).otherwise(None)


def with_rates(frame: pl.DataFrame, populations: pl.DataFrame, *, value: str = "value", area: str = "area_code",
               period: str = "period", per: float = PER) -> pl.DataFrame:
    """`frame` with `population`, `population_year` and `rate` (the value per `per` residents)."""
    return with_population(frame, populations, area=area, period=period).with_columns(
        per_thousand(value, "population", per).alias("rate"))


def years_text(first: int | None, last: int | None) -> str:
    """'2024' or '2023 to 2024'."""
    if first is None:
        return "none"
    return str(first) if first == last else f"{first} to {last}"


def window_rates(frame: pl.DataFrame, populations: pl.DataFrame, *, area: str = "area_code",
                 period: str = "period", value: str = "value", per: float = PER) -> pl.DataFrame:
    """Per area: the count over the window's rows, the population and the rate per `per` residents.

    `frame` holds the rows of one window (one or more periods). Each row gets its period's
    population (`with_population`); an area's population for the window is the mean over its
    rows (one year's estimate for a window within a year), and its rate is count / population
    x `per`: the rate for the whole window (per month for a month, per year for twelve months).
    Returns area, periods, count, population, population_years ('2024', or '2023 to 2024' for a
    window across two years), estimate_years (the years of the estimates used, the same unless
    the data lacks the period's year), rate.
    """
    joined = with_population(frame, populations, area=area, period=period)
    return (joined.group_by(area, maintain_order=True)
            .agg(pl.len().alias("periods"),
                 pl.col(value).sum().alias("count"),
                 pl.col("population").mean().alias("population"),
                 pl.col("population").is_null().any().alias("_missing"),
                 pl.col(period).dt.year().min().alias("_y0"), pl.col(period).dt.year().max().alias("_y1"),
                 pl.col("population_year").min().alias("_e0"), pl.col("population_year").max().alias("_e1"))
            .with_columns(
                pl.when(pl.col("_missing")).then(None).otherwise(pl.col("population")).alias("population"))
            .with_columns(
                _years_expr("_y0", "_y1").alias("population_years"),
                pl.when(pl.col("population").is_null()).then(None)
                .otherwise(_years_expr("_e0", "_e1")).alias("estimate_years"),
                per_thousand("count", "population", per).alias("rate"))
            .drop("_missing", "_y0", "_y1", "_e0", "_e1"))


def _years_expr(first: str, last: str) -> pl.Expr:
    a, b = pl.col(first).cast(pl.String), pl.col(last).cast(pl.String)
    return pl.when(pl.col(first) == pl.col(last)).then(a).otherwise(pl.concat_str(a, pl.lit(" to "), b))


def estimate_note(rates: pl.DataFrame) -> str | None:
    """A sentence when an estimate from another year stood in for the period's year, else None."""
    if rates.is_empty() or "estimate_years" not in rates.columns:
        return None
    other = rates.filter(pl.col("estimate_years").is_not_null()
                         & (pl.col("estimate_years") != pl.col("population_years")))
    if other.is_empty():
        return None
    wanted = other["population_years"][0]
    used = other["estimate_years"][0]
    return (f"There is no mid-year population estimate for {wanted} in the data, so the nearest one "
            f"({used}) is used.")


#: the columns of a chart's result points that are in the value's units (scaled to a rate)
VALUE_COLUMNS = ("value", "centre", "lower", "upper", "lower_2s", "upper_2s", "lower_1s", "upper_1s")


def rate_points(points: pl.DataFrame, populations: pl.DataFrame, *, per: float = PER) -> pl.DataFrame:
    """A count chart's result points as rates per `per` residents: every value-unit column
    (value, centre, limits, sigma lines) divided by the period's population and times `per`.

    This is the counts' chart scaled, point by point. With one population estimate a year the
    scale is constant within a year and steps by the population's yearly change between years,
    so it is the XmR (or c) chart of the rates to within that change, and it flags exactly the
    points the counts' chart flags (tests/test_population.py measures both). Adds `population`
    and `population_year`; rows without a population keep nulls.
    """
    joined = with_population(points, populations)
    k = pl.when(pl.col("population") > 0).then(per / pl.col("population")).otherwise(None)
    return joined.with_columns([(pl.col(c) * k).alias(c) for c in VALUE_COLUMNS if c in joined.columns])


def yearly_change(populations: pl.DataFrame, area_code: str) -> float | None:
    """The largest change from one year's estimate to the next for an area, as a fraction
    (0.008 = 0.8%); None with fewer than two years."""
    mine = tidy_populations(populations).filter(pl.col("area_code") == area_code).sort("year")
    if mine.height < 2:
        return None
    change = (mine["population"] / mine["population"].shift(1) - 1).abs() / mine["year"].diff().cast(pl.Float64)
    return float(change.drop_nulls().max())
