"""The reference geography: police forces, their local authority districts and community safety
partnerships, LSOAs, populations and most similar groups, read from the files in `data/geography/`
(or `$SPC_GEOGRAPHY` when set).

The files (see data/geography/README.md for where they come from):

- `forces.csv`: force, name, pfa_code, falls_within (force = police.uk's slug, e.g. city-of-london)
- `districts.csv`: lad_code, lad_name, csp_code, csp_name, pfa_code, pfa_name, force (one row per
  local authority district of England and Wales)
- `lsoa_districts.csv.gz`: lsoa_code, lad_code (2011 and 2021 LSOA codes to the current district)
- `population.csv`: lad_code, year, population (ONS mid-year estimates)
- `most_similar_groups.csv`: force, peer, rank

Every reader is cached (per folder and file version) and checks its file whole: a problem is an
SpcError naming the file, the line (1-based, the header is line 1), the column and the value.

The areas of a store for a set of forces (`local_areas`): each force itself (code = police.uk
slug, type "force", ons_code = its PFA code); one "community safety partnership area" per
partnership of the force (code = slug of its name; ons_code = the district's LAD code when the
partnership covers exactly one district, else the partnership's CSP code, and then each of its
districts is an area of type "district" too). A local area whose code is a force's code gets
"-district" appended (wiltshire-district, city-of-london-district).
"""

from __future__ import annotations

import os
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import polars as pl

from spc.config import DATA_DIR
from spc.errors import SpcError
from spc.store.catalogue import Area

#: The packaged reference geography; `$SPC_GEOGRAPHY` overrides it.
GEOGRAPHY_DIR = DATA_DIR / "geography"

FORCES_FILE = "forces.csv"
DISTRICTS_FILE = "districts.csv"
LSOA_FILE = "lsoa_districts.csv.gz"
POPULATION_FILE = "population.csv"
PEERS_FILE = "most_similar_groups.csv"

FORCE_TYPE = "force"
PARTNERSHIP_TYPE = "community safety partnership area"
DISTRICT_TYPE = "district"
#: Appended to a local area's code that is also a force's code.
COLLISION_SUFFIX = "-district"
#: The source text stored with each population row (`area_population.source`), by year.
POPULATION_SOURCE = "ONS mid-year population estimates, mid-{year}"

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: ONS codes: a country letter, a two-digit entity code and six digits.
_ONS = re.compile(r"^[EW]\d{8}$")
_LAD = re.compile(r"^[EW]0[6-9]\d{6}$")       # E06 unitary, E07 non-metropolitan, E08 metropolitan, E09 London, W06
_LSOA = re.compile(r"^[EW]01\d{6}$")
_INT = re.compile(r"^\d+$")


def geography_dir() -> Path:
    """The folder of reference files: `$SPC_GEOGRAPHY` when set, else data/geography."""
    return Path(os.environ.get("SPC_GEOGRAPHY") or GEOGRAPHY_DIR)


def slug(text: str) -> str:
    """An area code from a name: lower case, accents dropped, apostrophes dropped, every run of
    other non-alphanumerics one "-" ("King's Lynn and West Norfolk" → kings-lynn-and-west-norfolk,
    "Ynys Môn" → ynys-mon)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    plain = re.sub(r"['’]", "", plain.lower())
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")


# --------------------------------------------------------------------------------------------
# Reading and checking
# --------------------------------------------------------------------------------------------

def _path(name: str) -> Path:
    return geography_dir() / name


def _version(path: Path) -> tuple[str, int, int]:
    """The cache key of a file: its path, modification time and size (a missing file is an error)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise SpcError(f"{path}: reference geography file not found (the folder is $SPC_GEOGRAPHY, "
                       f"else {GEOGRAPHY_DIR})") from None
    return str(path), stat.st_mtime_ns, stat.st_size


def _read(path: Path, columns: tuple[str, ...]) -> pl.DataFrame:
    """The file as text columns, with `line` (1-based, header = 1), checked for its columns."""
    try:
        table = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except Exception as exc:   # polars raises several types for an unreadable file
        raise SpcError(f"{path}: not a readable CSV file ({exc})") from None
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise SpcError(f"{path}: line 1 (header): missing column(s) {', '.join(missing)} "
                       f"(expected {', '.join(columns)}; found {', '.join(table.columns)})")
    return (table.select(pl.col(c).str.strip_chars() for c in columns)
            .with_row_index("line", offset=2).with_columns(pl.col("line").cast(pl.Int64)))


def _fail(path: Path, line: int, column: str, value: object, problem: str) -> SpcError:
    return SpcError(f"{path}: line {line}, column {column}: {value!r} {problem}")


def _check_pattern(path: Path, table: pl.DataFrame, column: str, pattern: re.Pattern[str], what: str,
                   *, allow_empty: bool = False) -> None:
    for line, value in table.select("line", column).iter_rows():
        if value is None or value == "":
            if not allow_empty:
                raise _fail(path, line, column, value or "", "is empty")
        elif not pattern.match(value):
            raise _fail(path, line, column, value, f"is not {what}")


def _check_unique(path: Path, table: pl.DataFrame, columns: list[str], what: str) -> None:
    seen: dict[tuple, int] = {}
    for row in table.select("line", *columns).iter_rows():
        key = row[1:]
        if key in seen:
            shown = key[0] if len(key) == 1 else key
            raise _fail(path, row[0], columns[0], shown, f"is listed twice ({what}; first on line {seen[key]})")
        seen[key] = row[0]


def _check_known(path: Path, table: pl.DataFrame, column: str, known: set[str], what: str) -> None:
    for line, value in table.select("line", column).iter_rows():
        if value not in known:
            raise _fail(path, line, column, value, f"is not {what}")


@lru_cache(maxsize=8)
def _forces(key: tuple[str, int, int]) -> pl.DataFrame:
    path = Path(key[0])
    table = _read(path, ("force", "name", "pfa_code", "falls_within"))
    _check_pattern(path, table, "force", _SLUG, "a police.uk force name (lower case words joined by '-')")
    _check_pattern(path, table, "pfa_code", _ONS, "an ONS police force area code (E23…, W15…)", allow_empty=True)
    for line, name in table.select("line", "name").iter_rows():
        if not name:
            raise _fail(path, line, "name", "", "is empty: every force needs its name")
    _check_unique(path, table, ["force"], "a force")
    _check_unique(path, table.filter(pl.col("pfa_code").is_not_null() & (pl.col("pfa_code") != "")),
                  ["pfa_code"], "a police force area code belongs to one force")
    if table.is_empty():
        raise SpcError(f"{path}: no forces")
    return table


@lru_cache(maxsize=8)
def _districts(key: tuple[str, int, int], forces_key: tuple[str, int, int]) -> pl.DataFrame:
    path = Path(key[0])
    forces_table = _forces(forces_key)
    table = _read(path, ("lad_code", "lad_name", "csp_code", "csp_name", "pfa_code", "pfa_name", "force"))
    _check_pattern(path, table, "lad_code", _LAD, "a local authority district code (E06/E07/E08/E09/W06 and six digits)")
    _check_pattern(path, table, "csp_code", _ONS, "a community safety partnership code (E22…, W16…)")
    _check_pattern(path, table, "pfa_code", _ONS, "a police force area code (E23…, W15…)")
    for column in ("lad_name", "csp_name"):
        for line, value in table.select("line", column).iter_rows():
            if not value:
                raise _fail(path, line, column, "", "is empty")
    # a district listed twice: under two forces, or the same row twice
    first: dict[str, tuple[int, str]] = {}
    for line, lad, force in table.select("line", "lad_code", "force").iter_rows():
        if lad in first:
            other_line, other_force = first[lad]
            if other_force != force:
                raise _fail(path, line, "force", force,
                            f"is a second force for district {lad}: it is already in force {other_force!r} "
                            f"(line {other_line}); a district belongs to exactly one force")
            raise _fail(path, line, "lad_code", lad, f"is listed twice (first on line {other_line})")
        first[lad] = (line, force)
    known = dict(forces_table.select("force", "pfa_code").iter_rows())
    _check_known(path, table, "force", set(known), f"a force of {forces_table_path(forces_key)}")
    for line, force, pfa in table.select("line", "force", "pfa_code").iter_rows():
        if known[force] and known[force] != pfa:
            raise _fail(path, line, "pfa_code", pfa, f"is not force {force!r}'s police force area code "
                        f"{known[force]!r} (in {forces_table_path(forces_key)})")
    # a partnership lies within one force and has one name
    csp: dict[str, tuple[int, str, str]] = {}
    for line, code, name, force in table.select("line", "csp_code", "csp_name", "force").iter_rows():
        if code in csp:
            other_line, other_name, other_force = csp[code]
            if other_force != force:
                raise _fail(path, line, "csp_code", code, f"is in force {force!r} here but in {other_force!r} "
                            f"on line {other_line}; a partnership lies within one force")
            if other_name != name:
                raise _fail(path, line, "csp_name", name, f"differs from partnership {code}'s name "
                            f"{other_name!r} on line {other_line}")
        else:
            csp[code] = (line, name, force)
    return table


def forces_table_path(key: tuple[str, int, int]) -> str:
    return key[0]


@lru_cache(maxsize=4)
def _lsoas(key: tuple[str, int, int], districts_key: tuple[str, int, int],
           forces_key: tuple[str, int, int]) -> pl.DataFrame:
    path = Path(key[0])
    table = _read(path, ("lsoa_code", "lad_code"))
    bad = table.filter(~pl.col("lsoa_code").str.contains(_LSOA.pattern) | pl.col("lsoa_code").is_null())
    if bad.height:
        line, value = bad.select("line", "lsoa_code").row(0)
        raise _fail(path, line, "lsoa_code", value or "", "is not an LSOA code (E01…/W01… and six digits)")
    known = _districts(districts_key, forces_key)["lad_code"]
    unknown = table.filter(~pl.col("lad_code").is_in(known.implode()) | pl.col("lad_code").is_null())
    if unknown.height:
        line, value = unknown.select("line", "lad_code").row(0)
        raise _fail(path, line, "lad_code", value or "", f"is not a district of {districts_key[0]}")
    # 2011 and 2021 codes are mostly the same code: a repeat is fine when it names the same district
    conflict = (table.group_by("lsoa_code").agg(pl.col("lad_code").n_unique().alias("n"), pl.col("line").max())
                .filter(pl.col("n") > 1).sort("line"))
    if conflict.height:
        code, line = conflict.select("lsoa_code", "line").row(0)
        raise _fail(path, line, "lsoa_code", code, "is mapped to two different districts")
    return table.unique("lsoa_code", keep="first", maintain_order=True).select("lsoa_code", "lad_code")


@lru_cache(maxsize=8)
def _populations(key: tuple[str, int, int], districts_key: tuple[str, int, int],
                 forces_key: tuple[str, int, int]) -> pl.DataFrame:
    path = Path(key[0])
    table = _read(path, ("lad_code", "year", "population"))
    _check_known(path, table, "lad_code", set(_districts(districts_key, forces_key)["lad_code"]),
                 f"a district of {districts_key[0]}")
    _check_pattern(path, table, "year", re.compile(r"^(19|20)\d\d$"), "a year (YYYY)")
    _check_pattern(path, table, "population", _INT, "a whole number of residents")
    _check_unique(path, table, ["lad_code", "year"], "one population per district and year")
    return table.select("lad_code", pl.col("year").cast(pl.Int32),
                        pl.col("population").cast(pl.Int64)).sort("lad_code", "year")


@lru_cache(maxsize=8)
def _peers(key: tuple[str, int, int], forces_key: tuple[str, int, int]) -> pl.DataFrame:
    path = Path(key[0])
    table = _read(path, ("force", "peer", "rank"))
    known = set(_forces(forces_key)["force"])
    _check_known(path, table, "force", known, f"a force of {forces_key[0]}")
    _check_known(path, table, "peer", known, f"a force of {forces_key[0]}")
    _check_pattern(path, table, "rank", re.compile(r"^[1-9]\d*$"), "a rank (1, 2, …)")
    _check_unique(path, table, ["force", "peer"], "a peer once per force")
    for line, force, peer in table.select("line", "force", "peer").iter_rows():
        if force == peer:
            raise _fail(path, line, "peer", peer, "is the force itself")
    return table.select("force", "peer", pl.col("rank").cast(pl.Int32)).sort("force", "rank")


def forces() -> pl.DataFrame:
    """forces.csv, checked: force, name, pfa_code (None for btp), falls_within."""
    table = _forces(_version(_path(FORCES_FILE))).drop("line")
    return table.with_columns(pl.when(pl.col("pfa_code") == "").then(None).otherwise(pl.col("pfa_code"))
                              .alias("pfa_code"))


def districts() -> pl.DataFrame:
    """districts.csv, checked: lad_code, lad_name, csp_code, csp_name, pfa_code, pfa_name, force."""
    return _districts(_version(_path(DISTRICTS_FILE)), _version(_path(FORCES_FILE))).drop("line")


def lsoa_districts() -> pl.DataFrame:
    """lsoa_districts.csv.gz, checked: lsoa_code, lad_code (one row per LSOA code)."""
    return _lsoas(_version(_path(LSOA_FILE)), _version(_path(DISTRICTS_FILE)), _version(_path(FORCES_FILE)))


def district_populations() -> pl.DataFrame:
    """population.csv, checked: lad_code, year (Int32), population (Int64)."""
    return _populations(_version(_path(POPULATION_FILE)), _version(_path(DISTRICTS_FILE)),
                        _version(_path(FORCES_FILE)))


def peer_groups() -> pl.DataFrame:
    """most_similar_groups.csv, checked: force, peer, rank (Int32), sorted by force and rank."""
    return _peers(_version(_path(PEERS_FILE)), _version(_path(FORCES_FILE)))


def clear_cache() -> None:
    """Forget every file read (the cache already notices a changed file by its time and size)."""
    for reader in (_forces, _districts, _lsoas, _populations, _peers, _area_table):
        reader.cache_clear()


# --------------------------------------------------------------------------------------------
# Forces and areas
# --------------------------------------------------------------------------------------------

def resolve_forces(text: str) -> list[str]:
    """The forces named by `--force`: "all", one name, or names separated by commas (as police.uk
    writes them, e.g. city-of-london). An unknown name is an SpcError listing the choices."""
    known = forces()["force"].to_list()
    names = [part.strip() for part in (text or "").split(",") if part.strip()]
    if not names:
        raise SpcError(f"--force: name a force, a list separated by commas, or all; choices: {', '.join(known)}")
    if "all" in names:
        return sorted(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SpcError(f"--force: unknown force {', '.join(map(repr, unknown))}; choose from all, "
                       f"{', '.join(sorted(known))} (names as police.uk writes them)")
    return list(dict.fromkeys(names))


@lru_cache(maxsize=8)
def _area_table(districts_key: tuple[str, int, int], forces_key: tuple[str, int, int]) -> pl.DataFrame:
    """Every area of every force, with its districts: code, name, type, ons_code, force, lad_codes
    (list), order. Codes are made over all forces at once so they never depend on the selection."""
    force_table = _forces(forces_key)
    table = _districts(districts_key, forces_key)
    codes = set(force_table["force"])
    rows: list[dict] = []
    taken: dict[str, str] = {}

    def add(code: str, name: str, kind: str, ons: str | None, force: str, lads: list[str]) -> None:
        if kind != FORCE_TYPE and code in codes:
            code += COLLISION_SUFFIX
        if code in taken:
            raise SpcError(f"{districts_key[0]}: two areas would have the code {code!r} ({taken[code]} and "
                           f"{kind} {name!r}); rename one in the lookup")
        taken[code] = f"{kind} {name!r}"
        rows.append({"code": code, "name": name, "type": kind, "ons_code": ons, "force": force,
                     "lad_codes": lads, "order": len(rows)})

    partnerships = (table.group_by("force", "csp_code", "csp_name", maintain_order=True)
                    .agg(pl.col("lad_code"), pl.col("lad_name")).sort("force", "csp_name"))
    by_force: dict[str, list[tuple]] = {}
    for row in partnerships.iter_rows():
        by_force.setdefault(row[0], []).append(row[1:])
    pending: list[tuple] = []   # districts of multi-district partnerships, after every partnership
    for force, name, pfa in force_table.sort("force").select("force", "name", "pfa_code").iter_rows():
        parts = by_force.get(force, [])
        add(force, name, FORCE_TYPE, pfa or None, force, sorted(lad for p in parts for lad in p[2]))
        for csp_code, csp_name, lads, lad_names in parts:
            single = len(lads) == 1
            add(slug(csp_name), csp_name, PARTNERSHIP_TYPE, lads[0] if single else csp_code, force, sorted(lads))
            if not single:
                pending += [(lad, lad_name, force) for lad, lad_name in sorted(zip(lads, lad_names))]
    for lad, lad_name, force in pending:
        add(slug(lad_name), lad_name, DISTRICT_TYPE, lad, force, [lad])
    order = {f: i for i, f in enumerate(sorted(codes))}
    kinds = {FORCE_TYPE: 0, PARTNERSHIP_TYPE: 1, DISTRICT_TYPE: 2}
    rows.sort(key=lambda r: (order[r["force"]], kinds[r["type"]], r["order"]))
    return pl.DataFrame(rows, schema={"code": pl.String, "name": pl.String, "type": pl.String,
                                      "ons_code": pl.String, "force": pl.String, "lad_codes": pl.List(pl.String),
                                      "order": pl.Int64}).drop("order")


def area_table(force_list: list[str] | None = None) -> pl.DataFrame:
    """The areas of these forces (all when None): code, name, type, ons_code, force, lad_codes
    (the districts each covers), each force followed by its partnerships, then its districts."""
    table = _area_table(_version(_path(DISTRICTS_FILE)), _version(_path(FORCES_FILE)))
    if force_list is None:
        return table
    return table.filter(pl.col("force").is_in(list(force_list)))


def local_areas(force_list: list[str]) -> list[Area]:
    """The areas of a store for these forces: each force, its partnership areas and, where a
    partnership covers several districts, those districts (see the module docstring). The
    national area is the catalogue's, not part of this."""
    return [Area(code=code, name=name, type=kind, ons_code=ons)
            for code, name, kind, ons in area_table(force_list).select("code", "name", "type", "ons_code").iter_rows()]


def area_districts(force_list: list[str] | None = None) -> pl.DataFrame:
    """area_code, lad_code, force: the districts each area of these forces covers."""
    return (area_table(force_list).select(pl.col("code").alias("area_code"), "lad_codes", "force")
            .explode("lad_codes").rename({"lad_codes": "lad_code"}).drop_nulls("lad_code"))


def district_areas(force_list: list[str] | None = None) -> pl.DataFrame:
    """lad_code, force, partnership_code, district_code: for each district, the local areas it is
    counted in (its partnership area; its own district area when the partnership covers several
    districts, else None). What an importer needs to place a row found by its LSOA."""
    table = area_table(force_list)
    local = table.filter(pl.col("type") != FORCE_TYPE).explode("lad_codes").rename({"lad_codes": "lad_code"})
    part = local.filter(pl.col("type") == PARTNERSHIP_TYPE).select("lad_code", "force",
                                                                    pl.col("code").alias("partnership_code"))
    dist = local.filter(pl.col("type") == DISTRICT_TYPE).select("lad_code", pl.col("code").alias("district_code"))
    return part.join(dist, on="lad_code", how="left").sort("force", "lad_code")
