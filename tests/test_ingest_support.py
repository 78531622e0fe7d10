"""Helpers shared by the importer tests (no tests here): a real store built from the catalogue,
and full-table snapshots to prove a failed import changed nothing."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import duckdb

from spc.store import connect, migrate, transaction
from spc.store.catalogue import Catalogue, Indicator, load_catalogue, read_catalogue

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
if not REALDATA.exists():  # the tree is /work/main; the shared data is /work/shared
    REALDATA = Path("/work/shared/realdata")
STREET_DIR = REALDATA / "police_uk" / "staffordshire"
SAMPLES_DIR = REALDATA / "police_uk" / "samples"
MOJ_FILE = REALDATA / "moj" / "proven_reoffending_england_wales_long_2000_2014.csv"
BAD_DIR = Path(__file__).resolve().parent / "data" / "bad"

_COMMON = dict(priority="test", source="test", improvement="neutral")
#: Indicators the importers map to, with the attributes the tests rely on; added to the catalogue
#: only when the shipped catalogue does not (yet) declare them.
NEEDED = [
    *[Indicator(id=i, name=i, unit="count", kind="count", chart="xmr", frequency="month", local=True, **_COMMON)
      for i in ("asb_incidents", "neighbourhood_crime", "crime_bicycle_theft", "crime_burglary",
                "crime_criminal_damage_arson", "crime_drugs", "crime_other_crime", "crime_other_theft",
                "crime_possession_of_weapons", "crime_public_order", "crime_robbery", "crime_shoplifting",
                "crime_theft_from_the_person", "crime_vehicle_crime", "crime_violence_and_sexual_offences",
                "calls_999_received", "fire_incidents_attended")],
    Indicator(id="calls_999_answered_60s_plus", name="x", unit="%", kind="proportion", chart="pp", frequency="month",
              **_COMMON),
    Indicator(id="calls_999_answered_10s", name="x", unit="%", kind="proportion", chart="pp", frequency="month", **_COMMON),
    Indicator(id="calls_999_mean_answer_seconds", name="x", unit="seconds", kind="mean", chart="xmr",
              frequency="month", **_COMMON),
    Indicator(id="proven_reoffending_rate", name="x", unit="%", kind="proportion", chart="pp", frequency="quarter",
              **_COMMON),
    Indicator(id="fire_attendance_standard_met", name="x", unit="%", kind="proportion", chart="pp",
              frequency="month", **_COMMON),
    Indicator(id="fire_mean_attendance_minutes", name="x", unit="minutes", kind="mean", chart="xmr",
              frequency="month", **_COMMON),
]


def catalogue(force: str | None = None) -> Catalogue:
    """The shipped catalogue plus any importer indicator it lacks; optionally another force code."""
    cat = read_catalogue()
    have = {i.id for i in cat.indicators}
    indicators = cat.indicators + [i for i in NEEDED if i.id not in have]
    areas = cat.areas
    if force is not None:
        areas = [dataclasses.replace(a, code=force) if a.type == "force" else a for a in areas]
    return Catalogue(indicators=indicators, areas=areas)


_TEMPLATES: dict[str | None, bytes] = {}


def make_store(path: Path, force: str | None = None) -> Path:
    """A real DuckDB store at `path` with the schema and catalogue, no observations.

    Built once per force and copied (a closed DuckDB file is self-contained), to keep tests fast.
    """
    if force not in _TEMPLATES:
        template = Path(tempfile.mkdtemp()) / "template.duckdb"
        con = connect(template, create=True)
        try:
            migrate(con)
            with transaction(con):
                load_catalogue(con, catalogue(force))
        finally:
            con.close()
        _TEMPLATES[force] = template.read_bytes()
    path.write_bytes(_TEMPLATES[force])
    return path


DATA_TABLES = ("observation", "observation_revision", "indicator", "area", "annotation")


def snapshot(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...] = DATA_TABLES) -> dict[str, list[tuple]]:
    """Every row of each table, sorted, to compare a store before and after."""
    return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
