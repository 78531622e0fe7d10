"""Which areas a funnel compares, and the funnels of areas a store's figures make.

The units of a comparison are areas of one kind, never a mix (a force beside its own districts
would be compared with itself):

- level "district": the local areas of one force (its community safety partnership areas; in
  the Staffordshire demo the nine districts and unitary authorities);
- level "force": the forces of a store of many forces;
- group "msg": a force and its most similar group of forces (`spc.geography.peer_groups`).

`choose_units` decides from what the store holds (areas, the force of each area, the store's
forces) and says why when the choice cannot be made. `rate_funnel` makes the funnel of counts
per 1,000 residents, `change_funnel` each area's count against its own a year earlier, and
`ratio_funnel` a stored numerator over denominator. All take plain frames, so the command line
and the Compare page share them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import polars as pl

from spc.compare.funnel import BAND_WORDS, Funnel, funnel, funnel_change
from spc.errors import SpcError
from spc.population import PER, estimate_note, window_rates

LOCAL_TYPE = "community safety partnership area"
DISTRICT_TYPE = "district"
LEVELS = ("district", "force")
GROUPS = ("msg",)

#: how to build a store with every force's figures, said wherever one is needed
NATIONAL_STORE = ("build a national store: `spc db init --force all --db national.duckdb`, then "
                  "`spc import police-uk ARCHIVE --db national.duckdb` with the police.uk archive "
                  "(https://data.police.uk/data/archive/)")


@dataclass(frozen=True)
class Units:
    """The areas one funnel compares."""

    level: str                      # "district", "force" or "msg"
    force: str | None               # whose areas (district), whose group (msg); None for all forces
    codes: list[str]
    names: dict[str, str]
    description: str                # "the local areas of Staffordshire", "Staffordshire and its most similar group"
    notes: list[str] = field(default_factory=list)


def store_forces_of(areas: pl.DataFrame) -> list[str]:
    """The force area codes of a store (its `area` rows of type force)."""
    return sorted(areas.filter(pl.col("type") == "force")["code"].to_list())


def _force_name(areas: pl.DataFrame, code: str) -> str:
    got = areas.filter(pl.col("code") == code)["name"].to_list()
    return got[0].removesuffix(" (force-wide)") if got else code


def choose_units(areas: pl.DataFrame, area_forces: pl.DataFrame | None = None, *, level: str | None = None,
                 force: str | None = None, group: str | None = None,
                 peers: pl.DataFrame | None = None) -> Units:
    """The areas to compare, from the store's `areas` (code, name, type) and `area_forces`
    (area_code, force_code; schema 9).

    Defaults: in a store of one force, its local areas; in a store of many, the forces.
    `force` names whose local areas (level district) or whose most similar group (group msg);
    in a store of many forces both need it. `peers` (force, peer, rank) is the most similar
    groups table. Raises SpcError saying what to do for a choice the store cannot make.
    """
    if level is not None and level not in LEVELS:
        raise SpcError(f"--level {level!r}: expected {' or '.join(LEVELS)}")
    if group is not None and group not in GROUPS:
        raise SpcError(f"--group {group!r}: expected msg (the force's most similar group of forces)")
    if group is not None and level == "district":
        raise SpcError("--group msg compares forces; it cannot be combined with --level district")
    forces = store_forces_of(areas)
    if not forces:
        raise SpcError("the store has no force area to compare the areas of")
    many = len(forces) > 1
    if force is not None and force not in forces:
        raise SpcError(f"--force {force!r}: the store holds no such force (it has {', '.join(forces)})"
                       + ("" if many else f"; for another force, {NATIONAL_STORE}"))
    names = dict(zip(areas["code"].to_list(), areas["name"].to_list()))
    if group == "msg":
        if force is None:
            if many:
                raise SpcError("--group msg needs --force NAME: whose most similar group to compare "
                               f"(the store has {', '.join(forces)})")
            force = forces[0]
        if peers is None or peers.is_empty():
            raise SpcError("no most similar groups are available (data/geography/most_similar_groups.csv)")
        mine = peers.filter(pl.col("force") == force).sort("rank")
        if mine.is_empty():
            raise SpcError(f"{force!r} has no most similar group in the reference data")
        group_codes = [force, *[p for p in mine["peer"].to_list() if p != force]]
        missing = [p for p in group_codes if p not in forces]
        present = [p for p in group_codes if p in forces]
        if len(present) < 3:
            raise SpcError(
                f"the most similar group of {_force_name(areas, force)} is {', '.join(group_codes[1:])}, "
                f"but this store holds figures for {', '.join(forces)} only; to compare them, {NATIONAL_STORE}, "
                f"then `spc compare --funnel --group msg --force {force} --db national.duckdb`")
        notes = ([f"Not in this store, so left out of the group: {', '.join(missing)}."] if missing else [])
        return Units("msg", force, present, {c: names.get(c, c) for c in present},
                     f"{_force_name(areas, force)} and its most similar group of forces", notes)
    if level is None:
        level = "force" if many and force is None else "district"
    if level == "force":
        if not many:
            raise SpcError(f"this store holds one force ({forces[0]}), so there are no forces to compare; "
                           f"to compare forces, {NATIONAL_STORE}")
        return Units("force", None, forces, {c: names.get(c, c) for c in forces}, "the forces")
    if force is None:
        if many:
            raise SpcError("--level district in a store of many forces needs --force NAME "
                           f"(one of {', '.join(forces)})")
        force = forces[0]
    local = areas.filter(pl.col("type") == LOCAL_TYPE)
    if area_forces is not None and not area_forces.is_empty():
        mine = area_forces.filter(pl.col("force_code") == force)["area_code"]
        local = local.filter(pl.col("code").is_in(mine.implode()))
    elif many:
        raise SpcError("the store does not record which force each area belongs to (run `spc db init` "
                       "to bring it up to date)")
    if local.is_empty():
        raise SpcError(f"the store has no local areas of {_force_name(areas, force)}")
    codes = local.sort("name")["code"].to_list()
    return Units("district", force, codes, {c: names.get(c, c) for c in codes},
                 f"the local areas of {_force_name(areas, force)}")


def _window_rows(obs: pl.DataFrame, units: Units, start: dt.date, end: dt.date) -> pl.DataFrame:
    return obs.filter(pl.col("area_code").is_in(units.codes) & pl.col("period").is_between(start, end)
                      & pl.col("value").is_not_null())


def _label(units: Units, codes: pl.Series) -> pl.Series:
    """Area names for the plot, or codes when two areas share a name."""
    labels = codes.replace_strict(units.names, default=codes, return_dtype=pl.String)
    return labels if labels.n_unique() == labels.len() else codes


def _complete(rows: pl.DataFrame, units: Units, what: str) -> tuple[pl.DataFrame, list[str]]:
    """Keep the areas with a figure for every period of the window (a partial window would
    understate their count); notes name those left out."""
    notes = []
    per_area = rows.group_by("area_code").agg(pl.col("period").n_unique().alias("k"))
    full = per_area["k"].max() if per_area.height else 0
    short = per_area.filter(pl.col("k") < full)["area_code"].to_list()
    none = [c for c in units.codes if c not in per_area["area_code"].to_list()]
    if none:
        notes.append(f"No {what} for {', '.join(units.names.get(c, c) for c in none)} in this window; left out.")
    if short:
        notes.append(f"Figures for only part of the window for {', '.join(units.names.get(c, c) for c in short)}; "
                     "left out.")
    return rows.filter(~pl.col("area_code").is_in(short)), notes


@dataclass(frozen=True)
class AreaFunnel:
    """A funnel of areas: the Funnel, its table (one row per area) and notes for the reader."""

    funnel: Funnel
    table: pl.DataFrame
    notes: list[str]
    view: str   # "rate", "change" or "ratio"
    start: dt.date
    end: dt.date


def unit_words(note: str, word: str) -> str:
    """The funnel's notes say "unit"; the page says what the units are (areas or forces)."""
    note = re.sub(r"\b([Aa]) unit\b", lambda m: ("An " if m.group(1) == "A" else "an ") + word
                  if word[0] in "aeiou" else m.group(1) + " " + word, note)
    note = re.sub(r"\bunits\b", word + "s", note)
    return re.sub(r"\bunit\b", word, note)


def _said(units: Units, notes: list[str]) -> list[str]:
    return [unit_words(n, "area" if units.level == "district" else "force") for n in notes]


def _too_few(units: Units, n: int) -> SpcError:
    extra = (f"; to compare a force with its most similar group, {NATIONAL_STORE}" if units.level == "msg" else "")
    return SpcError(f"only {n} of {units.description} {'has' if n == 1 else 'have'} figures for this window; "
                    f"a funnel needs at least three{extra}")


def rate_funnel(obs: pl.DataFrame, populations: pl.DataFrame, units: Units, start: dt.date, end: dt.date, *,
                overdispersion: str = "auto", per: float = PER) -> AreaFunnel:
    """Counts per `per` residents of the `units` over the window `start`..`end`, as a funnel.

    `obs` holds area_code, period, value (counts). Each area's count over the window is the
    numerator and its resident population (mid-year estimate, `spc.population.window_rates`)
    the denominator: Poisson counts with mean rate x population, exact Spiegelhalter limits,
    overdispersion adjusted as `funnel` does. The table: area, area_name, count, population,
    rate_per_1000, band, meaning, limits per 1,000, population_years, estimate_years, periods.
    """
    rows, notes = _complete(_window_rows(obs, units, start, end), units, "figures")
    if rows.is_empty():
        raise SpcError(f"no figures for {units.description} from {start} to {end}")
    rates = window_rates(rows, populations, per=per)
    no_pop = rates.filter(pl.col("population").is_null())
    if no_pop.height == rates.height:
        raise SpcError(f"the store has no resident populations for {units.description}; run `spc db init` "
                       "to load the ONS mid-year estimates (a store from before schema 9 has none)")
    if no_pop.height:
        notes.append("No resident population for "
                     f"{', '.join(units.names.get(c, c) for c in no_pop['area_code'].to_list())}; left out.")
    rates = rates.filter(pl.col("population").is_not_null())
    if rates.height < 3:
        raise _too_few(units, rates.height)
    said = estimate_note(rates)
    if said:
        notes.append(said)
    rates = rates.with_columns(_label(units, rates["area_code"]).alias("unit"))
    f = funnel(rates.select("unit", pl.col("count").alias("numerator"), pl.col("population").alias("denominator")),
               kind="rate", overdispersion=overdispersion, per=per)
    table = (rates.join(f.units.select("unit", "value", "band", "lower_998", "lower_95", "upper_95", "upper_998"),
                        on="unit")
             .select(pl.col("area_code").alias("area"), pl.col("unit").alias("area_name"),
                     pl.col("count").round(0).cast(pl.Int64), pl.col("population").round(0).cast(pl.Int64),
                     pl.col("value").round(4).alias("rate_per_1000"), "band",
                     pl.col("band").replace_strict(BAND_WORDS, default=None).alias("meaning"),
                     *[pl.col(c).round(4).alias(f"{c}_per_1000")
                       for c in ("lower_998", "lower_95", "upper_95", "upper_998")],
                     "population_years", "estimate_years", "periods")
             .sort("rate_per_1000", descending=True))
    return AreaFunnel(f, table, [*units.notes, *notes, *_said(units, f.notes)], "rate", start, end)


def _year_earlier(d: dt.date) -> dt.date:
    return d.replace(year=d.year - 1, day=min(d.day, 28)) if d.month == 2 and d.day == 29 else d.replace(year=d.year - 1)


def change_funnel(obs: pl.DataFrame, units: Units, start: dt.date, end: dt.date, *,
                  overdispersion: str = "auto") -> AreaFunnel:
    """Each area's count over the window against its own count a year earlier (`funnel_change`,
    the conditional binomial funnel): a view of change, not of level, that needs no population."""
    rows, notes = _complete(_window_rows(obs, units, start, end), units, "figures")
    before = _window_rows(obs, units, _year_earlier(start), _year_earlier(end))
    counts = (rows.group_by("area_code").agg(pl.col("value").sum().alias("current"))
              .join(before.group_by("area_code").agg(pl.col("value").sum().alias("previous")), on="area_code",
                    how="left")
              .with_columns(pl.col("previous").fill_null(0)))
    if counts.height < 3:
        raise _too_few(units, counts.height)
    counts = counts.with_columns(_label(units, counts["area_code"]).alias("unit"))
    f = funnel_change(counts.select("unit", "current", "previous"), overdispersion=overdispersion)
    table = (counts.join(f.units.select("unit", "value", "band"), on="unit")
             .select(pl.col("area_code").alias("area"), pl.col("unit").alias("area_name"),
                     pl.col("current").alias("count"), pl.col("previous").alias("count_a_year_earlier"),
                     pl.col("value").alias("ratio"), "band",
                     pl.col("band").replace_strict(BAND_WORDS, default=None).alias("meaning"))
             .sort("ratio", descending=True, nulls_last=True))
    return AreaFunnel(f, table, [*units.notes, *notes, *_said(units, f.notes)], "change", start, end)


def ratio_funnel(obs: pl.DataFrame, units: Units, start: dt.date, end: dt.date, *, kind: str,
                 overdispersion: str = "auto", per: float = 1.0) -> AreaFunnel:
    """A stored numerator over denominator (a proportion or rate indicator) for the `units`."""
    rows, notes = _complete(_window_rows(obs, units, start, end), units, "figures")
    sums = rows.group_by("area_code").agg(pl.col("numerator").sum(), pl.col("denominator").sum())
    if sums.height < 3:
        raise _too_few(units, sums.height)
    sums = sums.with_columns(_label(units, sums["area_code"]).alias("unit"))
    f = funnel(sums.select("unit", "numerator", "denominator"), kind=kind, overdispersion=overdispersion, per=per)
    table = (sums.join(f.units.select("unit", "value", "band"), on="unit")
             .select(pl.col("area_code").alias("area"), pl.col("unit").alias("area_name"), "numerator",
                     "denominator", "value", "band",
                     pl.col("band").replace_strict(BAND_WORDS, default=None).alias("meaning"))
             .sort("value", descending=True))
    return AreaFunnel(f, table, [*units.notes, *notes, *_said(units, f.notes)], "ratio", start, end)


# ------------------------------------------------------------------------------------------------
# reading a store
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreAreas:
    """What a funnel of areas reads from a store, for one indicator."""

    indicator_name: str
    areas: pl.DataFrame          # code, name, type
    area_forces: pl.DataFrame    # area_code, force_code (empty before schema 9)
    observations: pl.DataFrame   # area_code, period, value, numerator, denominator
    populations: pl.DataFrame    # area_code, year, population, source
    peers: pl.DataFrame | None   # force, peer, rank (most similar groups), when asked for


def area_forces_of(con) -> pl.DataFrame:
    """area_code, force_code from the store (schema 9); empty for an older store."""
    import duckdb

    from spc.store.areas import area_forces

    try:
        got = area_forces(con)
    except duckdb.CatalogException:  # a store from before schema 9
        got = None
    if got is None or got.is_empty():
        return pl.DataFrame(schema={"area_code": pl.String, "force_code": pl.String})
    return got.select(pl.col("area_code").cast(pl.String), pl.col("force_code").cast(pl.String))


def most_similar_groups() -> pl.DataFrame:
    """force, peer, rank: the reference most similar groups (spc.geography.peer_groups)."""
    from spc import geography

    return geography.peer_groups()


def read_store_con(con, indicator_id: str, *, with_peers: bool = False) -> StoreAreas:
    """`StoreAreas` for one indicator from an open connection."""
    from spc.population import load_populations
    from spc.store.queries import frame, load_areas

    name = frame(con, "SELECT name FROM indicator WHERE id = ?", [indicator_id])["name"].to_list()
    if not name:
        raise SpcError(f"no indicator {indicator_id!r} in the store")
    obs = frame(con, "SELECT area_code, period_start AS period, value, numerator, denominator FROM observation "
                     "WHERE indicator_id = ? ORDER BY area_code, period_start", [indicator_id])
    if obs.is_empty():
        raise SpcError(f"no observations for indicator {indicator_id}")
    return StoreAreas(str(name[0]), load_areas(con).select("code", "name", "type"), area_forces_of(con), obs,
                      load_populations(con), most_similar_groups() if with_peers else None)


def read_store(db, indicator_id: str, *, with_peers: bool = False) -> StoreAreas:
    """`StoreAreas` for one indicator from the store at `db` (default $SPC_DB), read-only."""
    from pathlib import Path

    from spc.config import db_path
    from spc.store import connect

    path = db_path(db)
    if not Path(path).exists():
        raise SpcError(f"{path}: database not found (run `spc db init` first)")
    con = connect(path, read_only=True)
    try:
        return read_store_con(con, indicator_id, with_peers=with_peers)
    finally:
        con.close()
