"""The indicator catalogue: `data/indicators.toml` read, checked and loaded into the store.

Adding an indicator is adding an `[[indicator]]` table to that file. Further catalogue files
in `data/indicators.d/*.toml` (for example the police.uk crime types and outcomes) are read
after it, in name order. Every field is checked up front, and a mistake is reported naming
the file, the indicator and the field.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from spc.config import DATA_DIR
from spc.errors import SpcError
from spc.text import (MAX_AREA_NAME, MAX_CATALOGUE_FIELD, MAX_INDICATOR_DESCRIPTION, MAX_INDICATOR_NAME, TooLong,
                      check_length)

CATALOGUE_PATH = DATA_DIR / "indicators.toml"

KINDS = ("count", "proportion", "rate", "duration", "mean", "survey proportion")
IMPROVEMENTS = ("increase", "decrease", "neutral")
CHARTS = ("xmr", "run", "p", "pp", "u", "up", "c", "g", "t")
FREQUENCIES = ("week", "month", "quarter", "year")
#: "national": figures for a whole country (MoJ's England and Wales series), shown beside the
#: force's own figures as context, never as the force's.
AREA_TYPES = ("force", "community safety partnership area", "district", "national")


@dataclass(frozen=True)
class Indicator:
    """One catalogue entry (the columns of the `indicator` table, plus its demo settings)."""

    id: str
    name: str
    unit: str
    kind: str
    improvement: str
    chart: str
    frequency: str
    priority: str
    source: str
    description: str = ""
    owner: str = ""
    target: float | None = None
    target_source: str | None = None
    local: bool = False
    sort_order: int = 0
    demo: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Area:
    """One reporting area: the force, a community safety partnership area, a district or the nation."""

    code: str
    name: str
    type: str
    ons_code: str | None = None
    valid_from: str | None = None
    valid_to: str | None = None


@dataclass(frozen=True)
class Catalogue:
    """Everything the catalogue file declares."""

    indicators: list[Indicator]
    areas: list[Area]

    @property
    def force(self) -> Area:
        """The catalogue's force: the demo's (Staffordshire). A store may hold many forces (its
        force areas, spc.store.areas.store_forces); this is only the one the catalogue declares."""
        found = self.forces
        if len(found) != 1:
            raise SpcError(f"the catalogue declares {len(found)} force areas; the demo needs exactly one")
        return found[0]

    @property
    def forces(self) -> list[Area]:
        """The force areas the catalogue declares (at most one: the demo's)."""
        return [a for a in self.areas if a.type == "force"]

    @property
    def national(self) -> Area | None:
        """The national area (England and Wales), if the catalogue declares one."""
        return next((a for a in self.areas if a.type == "national"), None)

    @property
    def local_areas(self) -> list[Area]:
        """The community safety partnership areas."""
        return [a for a in self.areas if a.type == "community safety partnership area"]

    def indicator(self, indicator_id: str) -> Indicator:
        """The indicator with this id, or a clear error."""
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise SpcError(f"unknown indicator {indicator_id!r}; known: {', '.join(i.id for i in self.indicators)}")


_INDICATOR_REQUIRED = ("id", "name", "unit", "kind", "improvement", "chart", "frequency", "priority", "source")
_INDICATOR_CHOICES = {"kind": KINDS, "improvement": IMPROVEMENTS, "chart": CHARTS, "frequency": FREQUENCIES}
_INDICATOR_FIELDS = set(Indicator.__dataclass_fields__)
_AREA_FIELDS = set(Area.__dataclass_fields__)
#: Length limits of text fields (spc.text); any other text field has MAX_CATALOGUE_FIELD.
_TEXT_LIMITS = {("indicator", "name"): MAX_INDICATOR_NAME, ("indicator", "description"): MAX_INDICATOR_DESCRIPTION,
                ("area", "name"): MAX_AREA_NAME}


def _check_entry(path: Path, what: str, position: int, entry: dict[str, Any], required: tuple[str, ...],
                 allowed: set[str], choices: dict[str, tuple[str, ...]]) -> None:
    label = f"{path}: {what} #{position} ({entry.get('id') or entry.get('code') or 'no id'})"
    for name in required:
        if name not in entry or entry[name] in ("", None):
            raise SpcError(f"{label}: missing required field '{name}'")
        if not isinstance(entry[name], str):
            raise SpcError(f"{label}: field '{name}' must be text, got {entry[name]!r}")
    for name in entry:
        if name not in allowed:
            raise SpcError(f"{label}: unknown field '{name}' (allowed: {', '.join(sorted(allowed))})")
    for name, options in choices.items():
        if entry.get(name) is not None and entry[name] not in options:
            raise SpcError(f"{label}: field '{name}' is {entry[name]!r}; expected one of {', '.join(options)}")
    for name, value in entry.items():
        if isinstance(value, str):
            try:
                check_length(f"field '{name}'", value, _TEXT_LIMITS.get((what, name), MAX_CATALOGUE_FIELD))
            except TooLong as exc:
                raise SpcError(f"{label}: {exc}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SpcError(f"{path}: catalogue file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SpcError(f"{path}: not valid TOML ({exc})") from exc


def read_catalogue(path: str | Path = CATALOGUE_PATH) -> Catalogue:
    """Read and check the catalogue file and the extra files in `indicators.d/` beside it."""
    path = Path(path)
    raw = _read_toml(path)
    extra_dir = path.parent / "indicators.d"
    extras = sorted(extra_dir.glob("*.toml")) if extra_dir.is_dir() else []
    # (file, position in that file, entry) so errors name the file the entry came from
    indicator_entries = [(path, i, e) for i, e in enumerate(raw.get("indicator", []), start=1)]
    for extra in extras:
        indicator_entries += [(extra, i, e) for i, e in enumerate(_read_toml(extra).get("indicator", []), start=1)]

    areas = []
    for i, entry in enumerate(raw.get("area", []), start=1):
        _check_entry(path, "area", i, entry, ("code", "name", "type"), _AREA_FIELDS, {"type": AREA_TYPES})
        areas.append(Area(**{k: (str(v) if k.startswith("valid") else v) for k, v in entry.items()}))
    # The catalogue declares the demo's force (Staffordshire); a store made with
    # `spc db init --force` takes its forces from the reference geography instead (spc.geography).
    if sum(a.type == "force" for a in areas) > 1:
        raise SpcError(f"{path}: at most one [[area]] may have type = \"force\" (the demo's force; a store for "
                       "other or several forces is made with `spc db init --force NAME|a,b|all`)")
    if sum(a.type == "national" for a in areas) > 1:
        raise SpcError(f"{path}: at most one [[area]] may have type = \"national\"")

    indicators = []
    for order, (source, i, entry) in enumerate(indicator_entries, start=1):
        _check_entry(source, "indicator", i, entry, _INDICATOR_REQUIRED, _INDICATOR_FIELDS, _INDICATOR_CHOICES)
        label = f"{source}: indicator #{i} ({entry['id']})"
        target = entry.get("target")
        if target is not None and (isinstance(target, bool) or not isinstance(target, (int, float))):
            raise SpcError(f"{label}: field 'target' must be a number, got {target!r}")
        if target is not None and not entry.get("target_source"):
            raise SpcError(f"{label}: a 'target' needs its 'target_source'")
        if entry["unit"] == "%" and target is not None and not 0 <= target <= 1:
            raise SpcError(f"{label}: field 'target' of a % indicator is a fraction 0..1, got {target!r}")
        indicators.append(Indicator(**{**entry, "sort_order": entry.get("sort_order", order)}))

    for name, items, key in (("indicator", indicators, "id"), ("area", areas, "code")):
        seen: set[str] = set()
        for item in items:
            value = getattr(item, key)
            if value in seen:
                raise SpcError(f"{path}: {name} {key} {value!r} is declared twice")
            seen.add(value)
    if not indicators:
        raise SpcError(f"{path}: no [[indicator]] tables")
    return Catalogue(indicators=indicators, areas=areas)


def load_catalogue(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, areas: list[Area] | None = None) -> None:
    """Insert or update every indicator and area (run inside the caller's transaction). `areas`,
    when given, replaces the catalogue's own (a store made with `spc db init --force` has the
    lookup's areas of its forces and the catalogue's national area).

    Entries are upserted, not replaced, so observations that refer to them stay valid. In a store
    made with `spc db init --force` (schema 9 `store_setting`), only the catalogue's national area
    is loaded, never the demo force's areas, whoever reloads the catalogue (the app does too).
    """
    if areas is None and _built_for_forces(con):
        areas = [a for a in catalogue.areas if a.type == "national"]
    for ind in catalogue.indicators:
        con.execute(
            """INSERT INTO indicator (id, name, description, unit, kind, improvement, chart, frequency,
                                      priority, source, owner, target, target_source, local, sort_order)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description,
                 unit = excluded.unit, kind = excluded.kind, improvement = excluded.improvement,
                 chart = excluded.chart, frequency = excluded.frequency, priority = excluded.priority,
                 source = excluded.source, owner = excluded.owner, target = excluded.target,
                 target_source = excluded.target_source, local = excluded.local,
                 sort_order = excluded.sort_order""",
            [ind.id, ind.name, ind.description, ind.unit, ind.kind, ind.improvement, ind.chart,
             ind.frequency, ind.priority, ind.source, ind.owner, ind.target, ind.target_source,
             ind.local, ind.sort_order],
        )
    for area in catalogue.areas if areas is None else areas:
        con.execute(
            """INSERT INTO area (code, name, type, ons_code, valid_from, valid_to) VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (code) DO UPDATE SET name = excluded.name, type = excluded.type,
                 ons_code = excluded.ons_code, valid_from = excluded.valid_from, valid_to = excluded.valid_to""",
            [area.code, area.name, area.type, area.ons_code, area.valid_from, area.valid_to],
        )


def _built_for_forces(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the store was made with `spc db init --force` (spc.store.areas.built_for)."""
    has = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'store_setting'").fetchall()[0][0]
    return bool(has) and bool(con.execute("SELECT count(*) FROM store_setting WHERE name = 'forces'").fetchall()[0][0])
