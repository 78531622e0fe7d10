"""What every importer receives and returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import polars as pl

from spc.errors import SpcError
from spc.ingest.files import FileRejected
from spc.ingest.validate import empty_rejections


@dataclass(frozen=True)
class Context:
    """The store's catalogue and the command's options, as an importer needs them."""

    indicators: pl.DataFrame          # id, kind, frequency, unit
    areas: pl.DataFrame               # code, name, type
    force: str                        # code of the force-wide area
    encoding: str = "utf-8"
    proportion_scale: str = "fraction"  # how a file states proportions: fraction (0-1) or percent (0-100)
    area: str | None = None           # --area: where figures without an area column are stored
    group: str = "All"                # --group: MoJ offender group

    @classmethod
    def from_store(cls, con: duckdb.DuckDBPyConnection, **options: object) -> Context:
        """Read the catalogue from the store; an empty catalogue is a clear error."""
        # plain rows: DuckDB 2's results have no `.pl()`, and the catalogue is small
        indicators = pl.DataFrame(con.execute("SELECT id, kind, frequency, unit FROM indicator").fetchall(),
                                  schema=["id", "kind", "frequency", "unit"], orient="row")
        areas = pl.DataFrame(con.execute("SELECT code, name, type FROM area").fetchall(),
                             schema=["code", "name", "type"], orient="row")
        if indicators.is_empty():
            raise SpcError("the store has no indicators: run `spc db init` first")
        forces = areas.filter(pl.col("type") == "force").get_column("code").to_list()
        if len(forces) != 1:
            raise SpcError("the store needs exactly one force-wide area: run `spc db init`")
        area = options.get("area")
        if area is not None and area not in areas.get_column("code").to_list():
            raise SpcError(f"--area {area!r}: no such area; known: {', '.join(sorted(areas.get_column('code')))}")
        return cls(indicators=indicators, areas=areas, force=forces[0],
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
