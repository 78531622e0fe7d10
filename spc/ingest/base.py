"""What every importer receives and returns.

A store holds one force or many (`Context.forces`). Importers whose figures carry no area
(999 calls, fire without an area column) store them under `--area`, or under the store's force
when it has exactly one (`Context.force`); with several forces `--area` is required.
`Context.local_areas` says which local areas of each force cover which ONS district (from the
store's `area_force` and `area_district` tables, schema 9): police.uk street rows count towards
the local areas of their file's force whose districts hold the row's district.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import polars as pl

from spc.errors import SpcError
from spc.ingest.files import FileRejected
from spc.ingest.validate import empty_rejections

#: The local areas of each force and the ONS districts each covers (one row per pair).
LOCAL_AREA_SCHEMA = {"force_code": pl.String, "lad_code": pl.String, "area_code": pl.String}

_LAD_CODE = r"^[EW]0[6-9]\d{6}$"   # local authority district codes (E06-E09, W06)


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()[0])


def _local_areas(con: duckdb.DuckDBPyConnection, areas: pl.DataFrame, forces: list[str]) -> pl.DataFrame:
    """force_code, lad_code, area_code for every local area (not a force, not national) of the store.

    From `area_force` and `area_district` (schema 9). An area the store gives no districts (a
    store made before schema 9 that `db init` has not yet filled in) covers its `ons_code` when
    that is a district code and the store has one force: the catalogue's own statement of it.
    """
    local = areas.filter(~pl.col("type").is_in(["force", "national"]))
    frames = []
    if _table_exists(con, "area_force") and _table_exists(con, "area_district"):
        rows = con.execute(
            "SELECT f.force_code, d.lad_code, d.area_code FROM area_district d "
            "JOIN area_force f USING (area_code)").fetchall()
        frames.append(pl.DataFrame(rows, schema=LOCAL_AREA_SCHEMA, orient="row")
                      .filter(pl.col("area_code").is_in(local.get_column("code").implode())))
    have = pl.concat(frames).get_column("area_code").unique() if frames else pl.Series([], dtype=pl.String)
    if len(forces) == 1:
        frames.append(local.filter(~pl.col("code").is_in(have.implode()) & pl.col("ons_code").str.contains(_LAD_CODE))
                      .select(pl.lit(forces[0]).alias("force_code"), pl.col("ons_code").alias("lad_code"),
                              pl.col("code").alias("area_code")))
    result = pl.concat(frames).unique() if frames else pl.DataFrame(schema=LOCAL_AREA_SCHEMA)
    # a district covered by local areas of two forces: the store's geography contradicts itself
    twice = result.group_by("lad_code").agg(pl.col("force_code").unique().sort()).filter(
        pl.col("force_code").list.len() > 1).sort("lad_code")
    if not twice.is_empty():
        lad, owners = twice.row(0)
        raise SpcError(f"the store's area_district table puts district {lad} in local areas of {len(owners)} forces "
                       f"({', '.join(owners)}); a district belongs to one force: rebuild the store with "
                       "`spc db init`")
    return result.sort("force_code", "lad_code", "area_code")


@dataclass(frozen=True)
class Context:
    """The store's catalogue and the command's options, as an importer needs them."""

    indicators: pl.DataFrame          # id, kind, frequency, unit
    areas: pl.DataFrame               # code, name, type, ons_code
    forces: tuple[str, ...]           # codes of the store's force-wide areas (one or many)
    local_areas: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=LOCAL_AREA_SCHEMA))
    encoding: str = "utf-8"
    proportion_scale: str = "fraction"  # how a file states proportions: fraction (0-1) or percent (0-100)
    area: str | None = None           # --area: where figures without an area column are stored
    group: str = "All"                # --group: MoJ offender group

    @property
    def force(self) -> str:
        """The store's one force (figures without an area go there); several forces need `--area`."""
        if len(self.forces) == 1:
            return self.forces[0]
        shown = ", ".join(self.forces[:8]) + (", ..." if len(self.forces) > 8 else "")
        raise SpcError(f"this store holds {len(self.forces)} forces ({shown}) and the file has no area column: "
                       f"say which area its figures are for with --area (e.g. --area {self.forces[0]})")

    @classmethod
    def from_store(cls, con: duckdb.DuckDBPyConnection, **options: object) -> Context:
        """Read the catalogue from the store; an empty catalogue is a clear error."""
        # plain rows: DuckDB 2's results have no `.pl()`, and the catalogue is small
        indicators = pl.DataFrame(con.execute("SELECT id, kind, frequency, unit FROM indicator").fetchall(),
                                  schema=["id", "kind", "frequency", "unit"], orient="row")
        areas = pl.DataFrame(con.execute("SELECT code, name, type, ons_code FROM area").fetchall(),
                             schema={"code": pl.String, "name": pl.String, "type": pl.String, "ons_code": pl.String},
                             orient="row")
        if indicators.is_empty():
            raise SpcError("the store has no indicators: run `spc db init` first")
        forces = sorted(areas.filter(pl.col("type") == "force").get_column("code").to_list())
        if not forces:
            raise SpcError("the store has no force: run `spc db init` (or `spc db init --force NAME`)")
        area = options.get("area")
        if area is not None and area not in areas.get_column("code").to_list():
            raise SpcError(f"--area {area!r}: no such area; known: {', '.join(sorted(areas.get_column('code')))}")
        return cls(indicators=indicators, areas=areas, forces=tuple(forces),
                   local_areas=_local_areas(con, areas, forces),
                   **{k: v for k, v in options.items() if v is not None})  # type: ignore[arg-type]

    def area_by_name(self) -> pl.DataFrame:
        """Lower-cased area names and codes (both match) to area codes: columns `_key`, `area_code`."""
        return pl.concat([
            self.areas.select(pl.col("name").str.to_lowercase().alias("_key"), pl.col("code").alias("area_code")),
            self.areas.select(pl.col("code").str.to_lowercase().alias("_key"), pl.col("code").alias("area_code")),
        ]).unique("_key")


@dataclass
class Parsed:
    """An importer's result for one file, before the store rules are applied."""

    observations: pl.DataFrame        # OBSERVATION_COLUMNS + validate.SOURCE_COLUMNS
    rows_read: int
    rejected: pl.DataFrame = field(default_factory=empty_rejections)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, int] = field(default_factory=dict)   # source-specific counts for the summary
    read_problems: list[FileRejected] = field(default_factory=list)  # lines left out when reading
