"""`spc db init`, `spc db status`, `spc demo-data` and `spc export`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import duckdb
import polars as pl
import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from spc import geography
from spc.config import DATA_DIR, db_path
from spc.errors import SpcError
from spc.store import areas, connect, migrate, schema_version, transaction
from spc.store.catalogue import CATALOGUE_PATH, Catalogue, load_catalogue, read_catalogue
from spc.store.geography import relocate_national
from spc.store.observations import now
from spc.store.queries import frame, load_observations

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Database file (default: $SPC_DB, else indicators.duckdb).", show_default=False),
]

db_app = typer.Typer(help="Create and inspect the indicator store.", no_args_is_help=True)


ForceOption = Annotated[
    str | None,
    typer.Option("--force", help="Build the store for this police force (as police.uk writes it, e.g. "
                 "city-of-london), several separated by commas, or all; no demo data. Without it: the "
                 "Staffordshire demo, or the forces of a store made with --force.", show_default=False),
]

#: What `db init --force` says about the demo data it does not load.
NO_DEMO = ("no demo data: the demo is Staffordshire's; import police.uk files with "
           "`spc import police-uk FOLDER`")


@db_app.command("init")
def init(
    db: DbOption = None,
    force: ForceOption = None,
    empty: Annotated[bool, typer.Option("--empty", help="Catalogue only, no observations.")] = False,
    catalogue: Annotated[Path, typer.Option(help="Indicator catalogue (TOML).")] = CATALOGUE_PATH,
    demo_dir: Annotated[Path, typer.Option(help="Folder of demo data to load.")] = DATA_DIR / "demo",
) -> None:
    """Create or update the store: schema, catalogue, areas and populations, demo data, then the results.

    Safe to re-run on an existing store: the schema is migrated forward, the catalogue
    upserted, national figures an older importer stored under a local area moved to the
    national area (`spc.store.geography`), unchanged demo rows skipped, and analysts'
    annotations kept. With --force the areas are those forces' (spc.geography) and no demo
    data is loaded; a store made that way keeps its forces when db init is run again.
    """
    from spc.demo import load_demo

    path = db_path(db)
    cat = read_catalogue(catalogue)
    forces = None if force is None else geography.resolve_forces(force)   # before the store is touched
    _check_geography(required=forces is not None)
    con = connect(path, create=True)
    try:
        version = migrate(con)
        # One transaction: a failure anywhere leaves the store as it was.
        with transaction(con):
            if forces is None and areas.built_for(con) is not None:
                forces = areas.store_forces(con)   # a store made with --force keeps its forces
            setup = _set_up_areas(con, cat, catalogue, forces)
            moved = relocate_national(con)   # national figures an older importer stored under the force
            loaded = None if empty or forces is not None else load_demo(con, demo_dir)
            computed = record_results(con, trigger="db init")
    finally:
        con.close()
    typer.echo(f"{path}: schema version {version}, {len(cat.indicators)} indicators, {setup.areas} areas")
    if forces is not None:
        listed = ", ".join(forces) if len(forces) <= 12 else f"{len(forces)} ({', '.join(forces[:6])}, …)"
        typer.echo(f"forces: {listed}" + (f" (added {', '.join(setup.added)})" if setup.added else "")
                   + (f" (removed {', '.join(setup.removed)})" if setup.removed else ""))
    typer.echo(setup.populations)
    if moved.batches:
        typer.echo(f"national figures: {moved.observations} observations of {moved.batches} load(s) moved to the "
                   f"national area ({moved.series} series moved whole, {moved.restored} local figures current again)")
    if loaded is not None:
        typer.echo(f"demo data: {loaded.loaded} new, {loaded.revised} revised, {loaded.unchanged} unchanged rows "
                   "(illustrative figures, not published data)")
    elif forces is not None:
        typer.echo(NO_DEMO)
    typer.echo(f"results: {computed} series computed")


@dataclass(frozen=True)
class AreaSetup:
    """What `_set_up_areas` did: areas in the store, forces added and removed, a line on populations."""

    areas: int
    added: list[str]
    removed: list[str]
    populations: str


def _set_up_areas(con: duckdb.DuckDBPyConnection, cat: Catalogue, catalogue_path: Path,
                  forces: list[str] | None) -> AreaSetup:
    """Load the catalogue and the store's areas with their forces, districts and populations
    (inside the caller's transaction). `forces` None: the demo's store, its areas the catalogue's;
    else the lookup's areas of those forces and the catalogue's national area, and areas of forces
    no longer wanted are removed, unless they hold observations, revisions or annotations."""
    before = areas.store_forces(con)
    if forces is None:
        wanted = cat.areas
        links = _demo_links(cat, catalogue_path)
    else:
        wanted = geography.local_areas(forces) + ([cat.national] if cat.national else [])
        links = areas.force_links(forces)
    codes = {a.code for a in wanted}
    # the demo's store only gains areas, as before; a store for forces loses those of forces dropped
    dropped = [] if forces is None else [
        r[0] for r in con.execute("SELECT code FROM area ORDER BY code").fetchall() if r[0] not in codes]
    if dropped:
        _refuse_dropping_data(con, dropped, forces)
    load_catalogue(con, cat, areas=wanted)
    for code in dropped:
        for table in ("result_point", "result_phase", "result_summary", "result_view", "signal", "series_setting"):
            con.execute(f"DELETE FROM {table} WHERE area_code = ?", [code])   # table names are constants
        con.execute("DELETE FROM area WHERE code = ?", [code])
    if forces is not None:
        areas.set_built_for(con, forces)
    if links is None:
        for table in ("area_force", "area_district", "area_population"):   # table names are constants
            con.execute(f"DELETE FROM {table}")
        note = (f"populations: none (no reference geography at {geography.geography_dir()}; "
                "areas have no districts or populations)")
    else:
        pops = geography.district_populations()
        n = areas.fill_geography(con, links, pops, geography.POPULATION_SOURCE)
        years = sorted(set(pops["year"]))
        span = f"mid-{years[0]} to mid-{years[-1]}" if years else "no years"
        note = f"populations: {n} area-years (ONS mid-year estimates, {span})"
    after = areas.store_forces(con)
    return AreaSetup(areas=len(wanted), added=[f for f in after if f not in before and before],
                     removed=[f for f in before if f not in after], populations=note)


def _check_geography(*, required: bool) -> None:
    """Read and check every reference file before the store is touched, so a mistake in them
    (named by file, line, column and value) changes nothing. Without --force a missing lookup is
    allowed (the demo's store then has no districts or populations)."""
    if not required and not (geography.geography_dir() / geography.DISTRICTS_FILE).exists():
        return
    geography.area_table()
    geography.district_populations()
    if required or (geography.geography_dir() / geography.LSOA_FILE).exists():
        geography.lsoa_districts()
    if (geography.geography_dir() / geography.PEERS_FILE).exists():
        geography.peer_groups()


def _demo_links(cat: Catalogue, catalogue_path: Path) -> pl.DataFrame | None:
    """The demo areas' forces and districts from the lookup, or None when the lookup is not there
    (then the demo store has no districts or populations, as before schema 9)."""
    if not (geography.geography_dir() / geography.DISTRICTS_FILE).exists():
        return None
    return areas.demo_links(cat.areas, catalogue_path)


def _refuse_dropping_data(con: duckdb.DuckDBPyConnection, dropped: list[str], forces: list[str] | None) -> None:
    """An SpcError when an area that would go holds observations, revisions or annotations."""
    con.execute("CREATE OR REPLACE TEMP TABLE _dropped AS SELECT unnest(?::VARCHAR[]) AS code", [dropped])
    held = con.execute("""
        SELECT d.code, coalesce(any_value(f.force_code), d.code) AS force,
               (SELECT count(*) FROM observation o WHERE o.area_code = d.code)
             + (SELECT count(*) FROM observation_revision r WHERE r.area_code = d.code) AS observations,
               (SELECT count(*) FROM annotation a WHERE a.area_code = d.code) AS annotations
        FROM _dropped d LEFT JOIN area_force f ON f.area_code = d.code
        GROUP BY d.code ORDER BY d.code
    """).fetchall()
    con.execute("DROP TABLE _dropped")
    held = [row for row in held if row[2] or row[3]]
    if not held:
        return
    owners = sorted({row[1] for row in held})
    per_force = []
    for owner in owners:
        mine = [row for row in held if row[1] == owner]
        names = ", ".join(row[0] for row in mine[:5]) + (f" and {len(mine) - 5} more" if len(mine) > 5 else "")
        per_force.append(f"{owner}: {sum(r[2] for r in mine):,} observations and {sum(r[3] for r in mine):,} "
                         f"annotations in {len(mine)} area(s) ({names})")
    detail = "; ".join(per_force)
    keep = ",".join(sorted(set(forces or []) | set(owners))) if forces else None
    hint = (f"keep them with --force {keep}, or make a new store with --db FILE" if keep else
            "make a new store with --db FILE")
    raise SpcError(f"the store holds data for {', '.join(owners)} in areas this set-up would remove ({detail}); "
                   f"nothing was changed: {hint}")


def record_results(con: duckdb.DuckDBPyConnection, *, trigger: str) -> int:
    """Compute every series, store the results and record the signals they show, as one run
    in `refresh_run` (inside the caller's transaction). Returns the series computed.

    Recording the signals here makes them the baseline: the next `spc refresh` announces only
    what is new since the store was built, not every signal the demo history holds.
    """
    from spc import signals
    from spc.results import compute, write_results

    started = now()
    run_id = int(con.execute("INSERT INTO refresh_run (started_at, status, trigger) VALUES (?, 'running', ?) "
                             "RETURNING id", [started, trigger]).fetchone()[0])
    results = compute(con)
    computed = write_results(con, results, run_id)
    changes = signals.reconcile(signals.load_signals(con), signals.find_patterns(results.points), results.series)
    signals.apply(con, changes, run_id, started)
    con.execute("UPDATE refresh_run SET finished_at = ?, status = 'success', series_computed = ?, new_signals = ? "
                "WHERE id = ?", [now(), computed, int((changes["change"] == "new").sum()), run_id])
    return computed


@db_app.command("status")
def status(db: DbOption = None) -> None:
    """What is loaded: indicators, areas, periods and the last load."""
    path = db_path(db)
    con = connect(path, read_only=True)
    try:
        version = schema_version(con)
        rows = con.execute("""
            SELECT i.id, i.name, i.frequency, count(DISTINCT o.area_code) AS areas, count(o.value) AS points,
                   min(o.period_start) AS first, max(o.period_start) AS last
            FROM indicator i LEFT JOIN observation o ON o.indicator_id = i.id
            GROUP BY ALL ORDER BY any_value(i.sort_order), i.id
        """).fetchall()
        last = con.execute(
            "SELECT source, path, finished_at, status, rows_loaded, rows_revised, rows_rejected "
            "FROM load_batch ORDER BY id DESC LIMIT 1").fetchone()
        rejected = con.execute("SELECT count(*) FROM rejected_row").fetchone()[0]
        forces = areas.store_forces(con)
        kinds = con.execute("SELECT type, count(*) FROM area GROUP BY 1 ORDER BY 1").fetchall()
        made_for = areas.built_for(con) if version >= 9 else None
    finally:
        con.close()
    console = Console()
    console.print(f"[bold]{path}[/bold]: schema version {version}")
    shown = ", ".join(forces[:12]) + (f" and {len(forces) - 12} more" if len(forces) > 12 else "")
    console.print(Text(f"forces: {shown or 'none'} ({'made with --force' if made_for is not None else 'the demo'}); "
                       f"areas: {', '.join(f'{n} {kind}' for kind, n in kinds)}"))
    console.print(status_table(rows))
    if last:
        console.print(f"last load: {last[0]} {last[1]} at {last[2]:%Y-%m-%d %H:%M} ({last[3]}: "
                      f"{last[4]} new, {last[5]} revised, {last[6]} rejected)")
    else:
        console.print("no loads yet")
    console.print(f"rejected rows kept: {rejected}")


def status_table(rows: list[tuple]) -> Table:
    """The indicators table of `spc db status`, readable at 80 columns: the name under the
    id (ids run to 59 characters, names to 60), months as YYYY-MM, ids folded rather than cut."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("indicator / name", overflow="fold", ratio=1)
    table.add_column("grain", no_wrap=True)
    for name in ("areas", "points"):
        table.add_column(name, justify="right", no_wrap=True)
    for name in ("first", "last"):
        table.add_column(name, no_wrap=True)
    for ind_id, name, grain, areas, points, first, last in rows:
        # Text, not markup: a name with [brackets] is shown as typed
        label = Text(str(ind_id)).append("\n").append(Text(str(name or ""), style="dim"))
        table.add_row(label, str(grain or ""), str(areas), str(points),
                      *(f"{d:%Y-%m}" if d else "" for d in (first, last)))
    return table


def demo_data(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the demo CSVs to.")] = DATA_DIR / "demo",
    end: Annotated[str | None, typer.Option(
        help="Last month, YYYY-MM, or 'latest' for the latest full month (default: the committed "
             "demo data's end month, so the files are regenerated byte for byte).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 2024,
    catalogue: Annotated[Path, typer.Option(help="Indicator catalogue (TOML).")] = CATALOGUE_PATH,
) -> None:
    """Generate the illustrative demo data (deterministic for a given seed and end month)."""
    from spc.demo import generate, latest_full_month, parse_month, write_demo

    last = None if end is None else latest_full_month() if end == "latest" else parse_month(end)
    demo = generate(read_catalogue(catalogue), seed=seed, end=last)
    files = write_demo(demo, out)
    for file in files:
        typer.echo(f"wrote {file}")


def export(
    db: DbOption = None,
    indicator: Annotated[list[str] | None, typer.Option("--indicator", help="Indicator id (repeatable).")] = None,
    area: Annotated[list[str] | None, typer.Option("--area", help="Area code (repeatable).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout, CSV only).")] = None,
) -> None:
    """Export current observations with indicator and area names."""
    if fmt not in ("csv", "parquet"):
        raise SpcError(f"--format must be csv or parquet, got {fmt!r}")
    if fmt == "parquet" and output is None:
        raise SpcError("--format parquet needs --output FILE")
    con = connect(db_path(db), read_only=True)
    try:
        known = {r[0] for r in con.execute("SELECT id FROM indicator").fetchall()}
        for ind in indicator or []:
            if ind not in known:
                raise SpcError(f"--indicator {ind!r}: no such indicator (see `spc db status`)")
        areas = {r[0] for r in con.execute("SELECT code FROM area").fetchall()}
        for code in area or []:
            if code not in areas:
                raise SpcError(f"--area {code!r}: no such area; known: {', '.join(sorted(areas))}")
        obs = load_observations(con, indicator or None, area or None)
        names = frame(con, "SELECT id AS indicator_id, name AS indicator_name FROM indicator")
        area_names = frame(con, "SELECT code AS area_code, name AS area_name FROM area")
    finally:
        con.close()
    table = (
        obs.join(names, on="indicator_id", how="left")
        .join(area_names, on="area_code", how="left")
        .select(
            pl.col("indicator_id").alias("indicator"), "indicator_name",
            pl.col("area_code").alias("area"), "area_name", "period", "value", "numerator", "denominator",
        )
    )
    if fmt == "parquet":
        table.write_parquet(output)
    elif output is None:
        typer.echo(table.write_csv(), nl=False)
    else:
        table.write_csv(output)


def register(app: typer.Typer) -> None:
    """Add the store commands to the `spc` command."""
    app.add_typer(db_app, name="db")
    app.command("demo-data")(demo_data)
    app.command("export")(export)
