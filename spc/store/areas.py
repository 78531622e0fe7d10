"""The store's geography (schema version 9): which force each area belongs to, the ONS districts
each area covers, and each area's mid-year population; and how `spc db init` fills them.

Reads (each a polars frame, sorted):
- `store_forces(con)`: the codes of the store's force areas.
- `area_forces(con)`: area_code, force_code (the national area has no row).
- `area_districts(con)`: area_code, lad_code.
- `populations(con)`: area_code, year, population, source.
- `built_for(con)`: the forces the store was built for with `--force`, or None for the demo's store.

Scopes of an analyst's chart setting (series_setting.area_code) and of an annotation
(annotation.area_code): an area's code, `force_scope(f)` for every area of one force,
`EVERY_AREA` for every area (an annotation writes NULL for it); `setting_scopes` orders them
nearest first, and `covers` picks the rows whose scope covers one area.

Writes (inside the caller's transaction): `fill_geography` replaces the three tables' rows for
the store's areas from the reference lookup (spc.geography).
"""

from __future__ import annotations

import duckdb
import polars as pl

from spc.errors import SpcError
from spc.store.queries import frame

#: `store_setting` name holding the --force list a store was built with.
FORCES_SETTING = "forces"

#: series_setting.area_code of a setting for every area of the indicator, in every force
EVERY_AREA = "*"


def force_scope(force_code: str) -> str:
    """series_setting.area_code of a setting for every area of one force (the force itself and
    its local areas, not the national context): a store of many forces keeps one force's
    analysts' choices to that force."""
    return f"{EVERY_AREA}:{force_code}"


def setting_scopes(area_code: str, force_code: str | None) -> list[str]:
    """The series_setting.area_code values that apply to one area, nearest first: the area
    itself, every area of its force (when it has one), every area."""
    return [area_code, *([force_scope(force_code)] if force_code else []), EVERY_AREA]


def covers(area_code: str, force_code: str | None, column: str = "area_code") -> pl.Expr:
    """The rows of settings or annotations whose scope (`column`) covers `area_code` of the force
    `force_code`: the area's own, its force's, and every area's (EVERY_AREA or NULL). Another
    force's scope never covers it."""
    return pl.col(column).is_null() | pl.col(column).is_in(setting_scopes(area_code, force_code))


def scope_force(column: str = "area_code") -> pl.Expr:
    """The force code of a force scope in `column` (`force_scope`), null for any other scope."""
    return pl.when(pl.col(column).str.starts_with(force_scope(""))).then(
        pl.col(column).str.strip_prefix(force_scope("")))


def store_forces(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The codes of the store's force areas (area.type = 'force'), sorted."""
    return [r[0] for r in con.execute("SELECT code FROM area WHERE type = 'force' ORDER BY code").fetchall()]


def area_forces(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """area_code, force_code: the force each area belongs to (a force: itself; national: no row).
    A store from before schema 9, not yet migrated, has no such table: no rows."""
    if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'area_force'").fetchall()[0][0]:
        return pl.DataFrame(schema={"area_code": pl.String, "force_code": pl.String})
    return frame(con, "SELECT area_code, force_code FROM area_force ORDER BY force_code, area_code")


def area_districts(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """area_code, lad_code: the ONS local authority districts each area covers."""
    return frame(con, "SELECT area_code, lad_code FROM area_district ORDER BY area_code, lad_code")


def populations(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """area_code, year, population, source: mid-year residents per area and year."""
    return frame(con, "SELECT area_code, year, population, source FROM area_population ORDER BY area_code, year")


def built_for(con: duckdb.DuckDBPyConnection) -> list[str] | None:
    """The forces a store made with `spc db init --force` was built for; None for the demo's store."""
    rows = con.execute("SELECT value FROM store_setting WHERE name = ?", [FORCES_SETTING]).fetchall()
    return None if not rows else [f for f in str(rows[0][0]).split(",") if f]


def set_built_for(con: duckdb.DuckDBPyConnection, forces: list[str]) -> None:
    """Record the forces a store is built for (inside the caller's transaction)."""
    con.execute("INSERT INTO store_setting VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                [FORCES_SETTING, ",".join(forces)])


def force_observations(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Observations (current and revised) per force, over the force's own and its local areas."""
    rows = con.execute("""
        SELECT f.force_code, count(*) FROM (
            SELECT area_code FROM observation UNION ALL SELECT area_code FROM observation_revision) o
        JOIN area_force f USING (area_code) GROUP BY 1
    """).fetchall()
    return {str(force): int(n) for force, n in rows}


def fill_geography(con: duckdb.DuckDBPyConnection, links: pl.DataFrame, district_populations: pl.DataFrame,
                   source: str) -> int:
    """Replace area_force, area_district and area_population from `links` (area_code, force_code,
    lad_code; lad_code null for an area with no districts) and `district_populations` (lad_code,
    year, population). An area's population for a year is the sum over its districts, only for
    years every one of its districts has. `source` is formatted with the year. Returns the number
    of population rows. Runs inside the caller's transaction."""
    unknown = set(links["area_code"]) - {r[0] for r in con.execute("SELECT code FROM area").fetchall()}
    if unknown:
        raise SpcError(f"geography for areas the store does not have: {', '.join(sorted(unknown))}")
    forces = links.select("area_code", "force_code").unique().sort("area_code")
    covers = links.select("area_code", "lad_code").drop_nulls().unique().sort("area_code", "lad_code")
    n_lads = covers.group_by("area_code").agg(pl.len().alias("n_lads"))
    pops = (covers.join(district_populations, on="lad_code")
            .group_by("area_code", "year").agg(pl.col("population").sum(), pl.len().alias("n"))
            .join(n_lads, on="area_code").filter(pl.col("n") == pl.col("n_lads"))
            .select("area_code", pl.col("year").cast(pl.Int32), pl.col("population").cast(pl.Int64),
                    pl.format(source.replace("{year}", "{}"), pl.col("year")).alias("source"))
            .sort("area_code", "year"))
    for table in ("area_force", "area_district", "area_population"):   # table names are constants
        con.execute(f"DELETE FROM {table}")
    con.register("_area_force_rows", forces)
    con.register("_area_district_rows", covers)
    con.register("_area_population_rows", pops)
    try:
        con.execute("INSERT INTO area_force SELECT area_code, force_code FROM _area_force_rows")
        con.execute("INSERT INTO area_district SELECT area_code, lad_code FROM _area_district_rows")
        con.execute("INSERT INTO area_population SELECT area_code, year, population, source "
                    "FROM _area_population_rows")
    finally:
        for name in ("_area_force_rows", "_area_district_rows", "_area_population_rows"):
            con.unregister(name)
    return pops.height


# --------------------------------------------------------------------------------------------
# What `spc db init` loads (spc.commands.db)
# --------------------------------------------------------------------------------------------

def force_links(force_list: list[str]) -> pl.DataFrame:
    """area_code, force_code, lad_code for the lookup's areas of these forces (a force with no
    districts, such as btp, has one row with lad_code null)."""
    from spc import geography

    table = geography.area_table(force_list).select(pl.col("code").alias("area_code"),
                                                    pl.col("force").alias("force_code"), "lad_codes")
    covered = table.explode("lad_codes").drop_nulls("lad_codes").rename({"lad_codes": "lad_code"})
    bare = (table.filter(pl.col("lad_codes").list.len() == 0)
            .select("area_code", "force_code", pl.lit(None, pl.String).alias("lad_code")))
    return pl.concat([covered, bare])


def demo_links(areas: list, catalogue_path: object = "the catalogue") -> pl.DataFrame:
    """area_code, force_code, lad_code for a catalogue's areas (the demo's), matched through the
    lookup: a force by its code (every district of that force), a local area by its ons_code (a
    LAD code: that district; a CSP code: its districts). The catalogue must agree with the lookup:
    every local area is a district or partnership of the force, and together they cover exactly
    the force's districts. The national area gets no row."""
    from spc import geography

    table = geography.districts()
    force = next((a for a in areas if a.type == "force"), None)
    if force is None:
        return pl.DataFrame(schema={"area_code": pl.String, "force_code": pl.String, "lad_code": pl.String})
    if force.code not in set(geography.forces()["force"]):
        raise SpcError(f"{catalogue_path}: force {force.code!r} is not a force of "
                       f"{geography.geography_dir() / geography.FORCES_FILE}")
    mine = table.filter(pl.col("force") == force.code)
    by_lad = set(mine["lad_code"])
    by_csp: dict[str, list[str]] = {}
    for lad, csp in mine.select("lad_code", "csp_code").iter_rows():
        by_csp.setdefault(csp, []).append(lad)
    rows = [{"area_code": force.code, "force_code": force.code, "lad_code": lad} for lad in sorted(by_lad)]
    covered: set[str] = set()
    for area in areas:
        if area.type in ("force", "national"):
            continue
        if area.ons_code in by_lad:
            lads = [area.ons_code]
        elif area.ons_code in by_csp:
            lads = sorted(by_csp[area.ons_code])
        else:
            raise SpcError(f"{catalogue_path}: area {area.code!r} has ons_code {area.ons_code!r}, which is not a "
                           f"district or community safety partnership of force {force.code!r} in "
                           f"{geography.geography_dir() / geography.DISTRICTS_FILE}")
        if area.type != "district":
            covered.update(lads)
        rows += [{"area_code": area.code, "force_code": force.code, "lad_code": lad} for lad in lads]
    local = [a for a in areas if a.type not in ("force", "national")]
    if local and covered != by_lad:
        missing = sorted(by_lad - covered)
        raise SpcError(f"{catalogue_path}: the partnership areas of force {force.code!r} do not cover its districts "
                       f"in {geography.geography_dir() / geography.DISTRICTS_FILE}: missing {', '.join(missing)}")
    return pl.DataFrame(rows, schema={"area_code": pl.String, "force_code": pl.String, "lad_code": pl.String})
