"""National scale: the police.uk archive for every force, imported and analysed (issue 11, part 5).

Generates the police.uk archive layout for all 43 territorial forces and British Transport
Police into a folder (``YYYY-MM/YYYY-MM-<force>-street.csv``, the real 12-column header), about
500,000 street rows a month nationally by default, and measures in the same run:

(a) the floor: a bare polars scan of every CSV, counted per force, month and crime type;
(b) ``spc db init --force all`` and ``spc import police-uk FOLDER --no-recompute`` as whole
    processes (wall clock and peak RSS from ``/usr/bin/time -v``), then the results computation
    the import runs by default (``compute_results`` on every changed indicator, in its own
    process), each against the floor; peak memory against the archive's size on disk; then
    ``spc import police-uk FOLDER`` with its default recompute as one process;
(c) ``spc.engine.analyse`` over every force x crime type, every district x crime type and every
    LSOA x crime type series of the generated data (each in its own process: seconds, points/s,
    peak RSS).

Run by hand (not in the test suite)::

    .venv/bin/python benchmarks/national.py                      # 36 months x 500,000 rows
    .venv/bin/python benchmarks/national.py --quick              # 3 months x 100,000 rows
    .venv/bin/python benchmarks/national.py --months 36 --rows-per-month 500000 --folder /tmp/national
    .venv/bin/python benchmarks/national.py --keep               # reuse the folder if it holds the same archive
    .venv/bin/python benchmarks/national.py --keep --repeat 3    # floor and import 3 times, medians
    .venv/bin/python benchmarks/national.py --keep --distributed --limit 250000 500000 1000000 2000000

The rows: each force's share of the national volume follows its population (the mid-year
estimates in data/geography/population.csv summed over the force's districts when that file is
there, else the approximate figures below; City of London and British Transport Police, whose
crime is not residents', get fixed shares near their real police.uk volumes). LSOA codes are
each force's own, from data/geography/lsoa_districts.csv.gz and districts.csv (names made as
"<district> 001A"); without those files every force draws from the LSOAs of the real
Staffordshire files in ../shared/realdata. Crime types follow their national shares in the real
2024 files (../shared/realdata/derived/police_uk_force_month_crime_type_counts.csv), last
outcomes the real Staffordshire ones; anti-social behaviour rows have an empty Crime ID and
outcome; about 1% of rows are "No Location" (no coordinates, no LSOA). Generation is vectorised
(NumPy draws, polars writes), one file at a time, so memory stays at the largest file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("SPC_REALDATA", ROOT.parent / "shared" / "realdata"))
GEOGRAPHY = Path(os.environ.get("SPC_GEOGRAPHY", ROOT / "data" / "geography"))
HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
          "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"]

#: police.uk slug, "Falls within", approximate population in thousands (ONS mid-2022, rounded);
#: City of London and BTP: a population-equivalent near their real share of police.uk rows
#: (about 0.15% and 1.2% of the national volume).
FORCES = [
    ("avon-and-somerset", "Avon and Somerset Constabulary", 1770), ("bedfordshire", "Bedfordshire Police", 700),
    ("btp", "British Transport Police", 720), ("cambridgeshire", "Cambridgeshire Constabulary", 900),
    ("cheshire", "Cheshire Constabulary", 1080), ("city-of-london", "City of London Police", 90),
    ("cleveland", "Cleveland Police", 570), ("cumbria", "Cumbria Constabulary", 500),
    ("derbyshire", "Derbyshire Constabulary", 1060), ("devon-and-cornwall", "Devon & Cornwall Police", 1800),
    ("dorset", "Dorset Police", 780), ("durham", "Durham Constabulary", 640),
    ("dyfed-powys", "Dyfed-Powys Police", 520), ("essex", "Essex Police", 1850),
    ("gloucestershire", "Gloucestershire Constabulary", 650), ("greater-manchester", "Greater Manchester Police", 2900),
    ("gwent", "Gwent Police", 600), ("hampshire", "Hampshire Constabulary", 2030),
    ("hertfordshire", "Hertfordshire Constabulary", 1200), ("humberside", "Humberside Police", 940),
    ("kent", "Kent Police", 1880), ("lancashire", "Lancashire Constabulary", 1540),
    ("leicestershire", "Leicestershire Police", 1110), ("lincolnshire", "Lincolnshire Police", 770),
    ("merseyside", "Merseyside Police", 1430), ("metropolitan", "Metropolitan Police Service", 8870),
    ("norfolk", "Norfolk Constabulary", 920), ("north-wales", "North Wales Police", 690),
    ("north-yorkshire", "North Yorkshire Police", 830), ("northamptonshire", "Northamptonshire Police", 800),
    ("northumbria", "Northumbria Police", 1470), ("nottinghamshire", "Nottinghamshire Police", 1170),
    ("south-wales", "South Wales Police", 1340), ("south-yorkshire", "South Yorkshire Police", 1390),
    ("staffordshire", "Staffordshire Police", 1140), ("suffolk", "Suffolk Constabulary", 770),
    ("surrey", "Surrey Police", 1210), ("sussex", "Sussex Police", 1720),
    ("thames-valley", "Thames Valley Police", 2470), ("warwickshire", "Warwickshire Police", 610),
    ("west-mercia", "West Mercia Police", 1310), ("west-midlands", "West Midlands Police", 2940),
    ("west-yorkshire", "West Yorkshire Police", 2370), ("wiltshire", "Wiltshire Police", 740),
]
#: forces whose volume is not set by their residents (kept at the fixed shares above)
FIXED_SHARE = ("btp", "city-of-london")


# ---------------------------------------------------------------------------------------------
# The archive


def force_table() -> tuple[pl.DataFrame, str]:
    """force, falls_within, weight (thousands of residents); and where the figures came from."""
    table = pl.DataFrame(FORCES, schema=["force", "falls_within", "weight"], orient="row")
    source = "approximate ONS mid-2022 populations in benchmarks/national.py"
    forces_csv, districts_csv, population_csv = (GEOGRAPHY / n for n in ("forces.csv", "districts.csv", "population.csv"))
    if forces_csv.exists():
        named = pl.read_csv(forces_csv, infer_schema=False).select("force", "falls_within")
        table = table.join(named, on="force", how="left", suffix="_geo").with_columns(
            pl.coalesce("falls_within_geo", "falls_within").alias("falls_within")).drop("falls_within_geo")
    if districts_csv.exists() and population_csv.exists():
        pop = pl.read_csv(population_csv, schema_overrides={"population": pl.Float64, "year": pl.Int64})
        pop = pop.filter(pl.col("year") == pop.get_column("year").max())
        per_force = (pl.read_csv(districts_csv, infer_schema=False).select("lad_code", "force")
                     .join(pop, on="lad_code").group_by("force").agg((pl.col("population").sum() / 1000).alias("pop")))
        if per_force.height:
            year = pop.get_column("year").max()
            table = table.join(per_force, on="force", how="left").with_columns(
                pl.when(pl.col("force").is_in(FIXED_SHARE) | pl.col("pop").is_null()).then(pl.col("weight"))
                .otherwise(pl.col("pop")).alias("weight")).drop("pop")
            source = f"{population_csv.relative_to(ROOT) if population_csv.is_relative_to(ROOT) else population_csv} ({year})"
    return table, source


def lsoa_pools(forces: list[str]) -> tuple[dict[str, pl.DataFrame], pl.DataFrame, str]:
    """Per force the LSOAs its rows are drawn from (lsoa_code, lsoa_name, lad_code), the whole
    LSOA -> district lookup used for district series, and where they came from."""
    lookup_csv, districts_csv = GEOGRAPHY / "lsoa_districts.csv.gz", GEOGRAPHY / "districts.csv"
    if lookup_csv.exists() and districts_csv.exists():
        districts = pl.read_csv(districts_csv, infer_schema=False).select("lad_code", "lad_name", "force")
        lsoas = (pl.read_csv(lookup_csv, infer_schema=False).select("lsoa_code", "lad_code").unique("lsoa_code")
                 .join(districts, on="lad_code").sort("lad_code", "lsoa_code")
                 .with_columns(pl.int_range(pl.len()).over("lad_code").alias("_i"))
                 .with_columns(pl.format("{} {}{}", "lad_name", (pl.col("_i") // 4 + 1).cast(pl.String).str.zfill(3),
                                         pl.lit("ABCD").str.slice(pl.col("_i") % 4, 1)).alias("lsoa_name")))
        pools = {f: g.select("lsoa_code", "lsoa_name", "lad_code") for (f,), g in lsoas.group_by("force")}
        everything = lsoas.select("lsoa_code", "lsoa_name", "lad_code")
        pools["btp"] = everything  # British Transport Police: stations everywhere
        missing = [f for f in forces if f not in pools]
        if missing:
            raise SystemExit(f"no LSOAs for {', '.join(missing)} in {lookup_csv} and {districts_csv}")
        return pools, everything.select("lsoa_code", "lad_code"), f"{lookup_csv.name} + {districts_csv.name}"
    files = sorted((REAL / "police_uk" / "staffordshire").glob("*/*-street.csv"))
    real = (pl.scan_csv(files, infer_schema=False).select(pl.col("LSOA code").alias("lsoa_code"),
                                                         pl.col("LSOA name").alias("lsoa_name"))
            .drop_nulls().unique("lsoa_code").sort("lsoa_code").collect()
            .with_columns(pl.col("lsoa_name").str.replace(r"\s*\d{3}[A-Z]$", "").alias("lad_code")))
    return ({f: real for f in forces}, real.select("lsoa_code", "lad_code"),
            "the LSOAs of the real Staffordshire files (data/geography not there yet); district = LSOA name's prefix")


def real_shares() -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """Crime types with their national share (real 2024 files), outcomes with their share among
    crimes (real Staffordshire 2024), and street locations seen in the real files."""
    counts = pl.read_csv(REAL / "derived" / "police_uk_force_month_crime_type_counts.csv")
    types = (counts.filter(pl.col("month") >= "2024-01").group_by("crime_type").agg(pl.col("count").sum())
             .sort("crime_type").with_columns(share=pl.col("count") / pl.col("count").sum()))
    outcomes = pl.read_csv(REAL / "derived" / "staffordshire_month_crime_type_last_outcome_counts.csv")
    outcomes = (outcomes.filter((pl.col("month") >= "2024-01") & (pl.col("last_outcome_category") != "(blank)"))
                .group_by("last_outcome_category").agg(pl.col("count").sum()).sort("last_outcome_category")
                .with_columns(share=pl.col("count") / pl.col("count").sum()))
    files = sorted((REAL / "police_uk" / "staffordshire").glob("*/*-street.csv"))
    places = (pl.scan_csv(files, infer_schema=False).select("Location").unique().collect()
              .filter(pl.col("Location") != "No Location").sort("Location").get_column("Location").to_list())
    return types, outcomes, places


def month_list(start: str, months: int) -> list[str]:
    year, month = map(int, start.split("-"))
    return [f"{year + (month - 1 + i) // 12}-{(month - 1 + i) % 12 + 1:02d}" for i in range(months)]


def _pick(values: pl.Series, index: np.ndarray) -> pl.Series:
    return values.gather(pl.Series(index, dtype=pl.UInt32))


def street_file(rng: np.random.Generator, n: int, month: str, falls_within: str, pool: pl.DataFrame,
                lsoa_weights: np.ndarray, centre: tuple[float, float], types: pl.DataFrame,
                outcomes: pl.DataFrame, places: pl.Series) -> pl.DataFrame:
    """One force's street file for one month: n rows, every column drawn at once."""
    type_names = types.get_column("crime_type")
    kind = rng.choice(type_names.len(), n, p=types.get_column("share").to_numpy())
    asb = kind == type_names.to_list().index("Anti-social behaviour")
    nowhere = rng.random(n) < 0.01
    lsoa = rng.choice(pool.height, n, p=lsoa_weights)
    ids = pl.Series(rng.integers(1, 256, (n, 32), dtype=np.uint8).view("S32").ravel()).bin.encode("hex")
    outcome = rng.choice(outcomes.height, n, p=outcomes.get_column("share").to_numpy())
    lon = np.round(centre[0] + rng.normal(0, 0.15, n), 6)
    lat = np.round(centre[1] + rng.normal(0, 0.1, n), 6)
    place = rng.integers(0, places.len(), n)
    frame = pl.DataFrame({
        "Crime ID": ids, "Month": pl.repeat(month, n, eager=True), "Reported by": pl.repeat(falls_within, n, eager=True),
        "Falls within": pl.repeat(falls_within, n, eager=True), "Longitude": lon, "Latitude": lat,
        "Location": _pick(places, place), "LSOA code": _pick(pool.get_column("lsoa_code"), lsoa),
        "LSOA name": _pick(pool.get_column("lsoa_name"), lsoa), "Crime type": _pick(type_names, kind),
        "Last outcome category": _pick(outcomes.get_column("last_outcome_category"), outcome),
        "Context": pl.repeat(None, n, dtype=pl.String, eager=True),
        "_asb": asb, "_nowhere": nowhere,
    })
    blank_if = lambda mask, name: pl.when(pl.col(mask)).then(None).otherwise(pl.col(name)).alias(name)  # noqa: E731
    return frame.with_columns(
        blank_if("_asb", "Crime ID"), blank_if("_asb", "Last outcome category"),
        *(blank_if("_nowhere", c) for c in ("Longitude", "Latitude", "LSOA code", "LSOA name")),
        pl.when(pl.col("_nowhere")).then(pl.lit("No Location")).otherwise(pl.col("Location")).alias("Location"),
    ).select(HEADER)


def generate(folder: Path, months: list[str], rows_per_month: int, seed: int = 11) -> dict:
    """Write the archive; return its manifest (files, rows, bytes, sources)."""
    forces, weight_source = force_table()
    pools, _, lsoa_source = lsoa_pools(forces.get_column("force").to_list())
    types, outcomes, places = real_shares()
    places_series = pl.Series(places)
    rng = np.random.default_rng(seed)
    share = forces.get_column("weight").to_numpy() / forces.get_column("weight").sum()
    # per force: a fixed centre and fixed LSOA weights (some LSOAs busier than others)
    centres = {f: (rng.uniform(-4.5, 1.2), rng.uniform(50.5, 54.8)) for f in forces.get_column("force")}
    weights = {}
    for f in forces.get_column("force"):
        w = rng.gamma(2.0, 1.0, pools[f].height)
        weights[f] = w / w.sum()
    rows = files = 0
    for month in months:
        (folder / month).mkdir(parents=True, exist_ok=True)
        season = 1 + 0.08 * np.sin(2 * np.pi * (int(month[5:]) - 4) / 12)
        for (force, falls_within, _), s in zip(forces.iter_rows(), share):
            n = max(1, int(rows_per_month * s * season * rng.normal(1, 0.03)))
            frame = street_file(rng, n, month, falls_within, pools[force], weights[force], centres[force],
                                types, outcomes, places_series)
            frame.write_csv(folder / month / f"{month}-{force}-street.csv", float_precision=6)
            rows += n
            files += 1
    size = sum(p.stat().st_size for p in folder.rglob("*-street.csv"))
    return {"months": months, "rows_per_month": rows_per_month, "seed": seed, "rows": rows, "files": files,
            "bytes": size, "weights": weight_source, "lsoas": lsoa_source, "forces": forces.height}


# ---------------------------------------------------------------------------------------------
# Measures


def floor(folder: Path) -> tuple[float, pl.DataFrame]:
    """(a) Seconds for a bare polars scan of every street CSV counted per force, month and crime
    type: what any importer must at least do. No validation, no store."""
    start = time.perf_counter()
    counts = (pl.scan_csv(sorted(folder.glob("*/*-street.csv")), infer_schema=False)
              .group_by("Falls within", "Month", "Crime type").len().collect())
    return time.perf_counter() - start, counts


def lsoa_counts(folder: Path) -> tuple[float, pl.DataFrame]:
    """The same scan counted per force, month, LSOA code and crime type (the engine's input)."""
    start = time.perf_counter()
    counts = (pl.scan_csv(sorted(folder.glob("*/*-street.csv")), infer_schema=False)
              .group_by("Falls within", "Month", "LSOA code", "Crime type").len().collect())
    return time.perf_counter() - start, counts


def timed_process(cmd: list[str], log: Path) -> dict:
    """Run cmd under /usr/bin/time -v; wall seconds, peak RSS (MB) and exit code."""
    start = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.run(["/usr/bin/time", "-v", *cmd], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    text = log.read_text(errors="replace")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    return {"seconds": seconds, "rss_mb": int(rss.group(1)) / 1024 if rss else float("nan"), "rc": proc.returncode}


RECOMPUTE = """
import sys, time
from spc.results import compute_results
from spc.store import connect
con = connect(sys.argv[1])
ids = [r[0] for r in con.execute("SELECT DISTINCT indicator_id FROM observation").fetchall()]
start = time.perf_counter()
n = compute_results(con, ids, trigger="import")
print(f"RESULT {n} series of {len(ids)} indicators in {time.perf_counter() - start:.2f} s", flush=True)
con.close()
"""

ENGINE = """
import json, resource, sys, time
import polars as pl
from spc.engine import SeriesSpec, analyse
frame = pl.read_parquet(sys.argv[1])
spec = SeriesSpec(chart="xmr", improvement="decrease")
analyse(frame.head(36 * 10), spec)
start = time.perf_counter()
out = analyse(frame, spec)
seconds = time.perf_counter() - start
assert out.points.height == frame.height
print("RESULT " + json.dumps({"seconds": seconds, "points": frame.height,
      "series": frame.get_column("series").n_unique(),
      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
"""


SYNTHETIC = """
import datetime as dt, json, resource, sys, time
import numpy as np, polars as pl
from spc.engine import SeriesSpec, analyse
n, months = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(7)
periods = pl.date_range(dt.date(2022, 1, 1), dt.date(2030, 12, 1), "1mo", eager=True)[:months].to_numpy()
mean = rng.gamma(1.0, 2.0, n)[:, None]
frame = pl.DataFrame({"series": pl.int_range(n, eager=True).cast(pl.String).str.zfill(7).repeat_by(months).explode(),
                      "period": np.tile(periods, n), "value": rng.poisson(mean, (n, months)).ravel().astype(float)})
del mean
spec = SeriesSpec(chart="xmr", improvement="decrease")
analyse(frame.head(months * 10), spec)
start = time.perf_counter()
out = analyse(frame, spec)
seconds = time.perf_counter() - start
assert out.points.height == frame.height
print("RESULT " + json.dumps({"seconds": seconds, "points": frame.height, "series": n,
      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
"""


def engine_limit(sizes: list[int], months: int, work: Path, seconds: float = 60, rss_mb: float = 8192) -> list[dict]:
    """The engine on synthetic count series (Poisson, small means, like LSOA x crime type), each
    size in its own process, until a run takes more than `seconds` or `rss_mb`."""
    runs: list[dict] = []
    for n in sizes:
        if runs and runs[-1]["rss_mb"] * n / runs[-1]["series"] > 1.5 * rss_mb:
            print(f"engine limit {n:,} series: not run (would need about "
                  f"{runs[-1]['rss_mb'] * n / runs[-1]['series'] / 1024:.0f} GB)", flush=True)
            break
        log = work / f"limit-{n}.log"
        timing = timed_process([sys.executable, "-c", SYNTHETIC, str(n), str(months)], log)
        line = [t for t in log.read_text().splitlines() if t.startswith("RESULT ")]
        if timing["rc"] or not line:
            print(f"engine limit {n:,} series: failed (rc {timing['rc']}, peak {timing['rss_mb']:,.0f} MB)", flush=True)
            runs.append({"series": n, "points": n * months, "failed": True, "rss_mb": timing["rss_mb"]})
            break
        run = json.loads(line[0][7:]) | {"process_s": timing["seconds"]}
        runs.append(run)
        print(f"engine limit {n:,} series x {months}: {run['seconds']:.1f} s, peak {run['rss_mb']:,.0f} MB", flush=True)
        if run["seconds"] > seconds or run["rss_mb"] > rss_mb:
            break
    return runs


def distributed_run(frame: pl.DataFrame, work: Path, partitions: int = 8) -> dict | None:
    """The same frame through spc.distributed on a LocalCluster of 2 worker processes."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("distributed: Dask not installed (pip install '.[distributed]'), skipped", flush=True)
        return None
    sys.path.insert(0, str(ROOT))
    from spc.distributed import analyse_dataset, partition_dataset
    from spc.engine import SeriesSpec
    start = time.perf_counter()
    partition_dataset(frame, work / "dataset", partitions)
    t_write = time.perf_counter() - start
    start = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        t_start = time.perf_counter() - start
        start = time.perf_counter()
        done = analyse_dataset(work / "dataset", work / "analysed", SeriesSpec(chart="xmr", improvement="decrease"),
                               client=client)
        t_run = time.perf_counter() - start
    assert done["points"] == frame.height
    shutil.rmtree(work / "dataset", ignore_errors=True)
    shutil.rmtree(work / "analysed", ignore_errors=True)
    return {"write_s": t_write, "cluster_s": t_start, "seconds": t_run, **done}


def series_frames(counts: pl.DataFrame, lookup: pl.DataFrame, months: list[str]) -> dict[str, pl.DataFrame]:
    """Every force x crime type, district x crime type and LSOA x crime type series (a month
    with no row counts 0), from the per-LSOA counts: series, period, value."""
    month_frame = pl.DataFrame({"Month": months})

    def complete(keyed: pl.DataFrame, key: str) -> pl.DataFrame:
        summed = keyed.group_by(key, "Crime type", "Month").agg(pl.col("len").sum())
        grid = summed.select(key, "Crime type").unique().join(month_frame, how="cross")
        return (grid.join(summed, on=[key, "Crime type", "Month"], how="left")
                .select(pl.format("{}|{}", key, "Crime type").alias("series"),
                        pl.col("Month").str.to_date("%Y-%m").alias("period"),
                        pl.col("len").fill_null(0).cast(pl.Float64).alias("value"))
                .sort("series", "period"))

    located = counts.filter(pl.col("LSOA code").is_not_null())
    return {
        "force x crime type": complete(counts, "Falls within"),
        "district x crime type": complete(located.join(lookup, left_on="LSOA code", right_on="lsoa_code"), "lad_code"),
        "LSOA x crime type": complete(located, "LSOA code"),
    }


def run_engine(frame: pl.DataFrame, work: Path, name: str) -> dict:
    path = work / f"engine-{re.sub(r'[^a-z]+', '-', name.lower())}.parquet"
    frame.write_parquet(path)
    timing = timed_process([sys.executable, "-c", ENGINE, str(path)], work / (path.stem + ".log"))
    line = [t for t in (work / (path.stem + ".log")).read_text().splitlines() if t.startswith("RESULT ")]
    if timing["rc"] or not line:
        print((work / (path.stem + ".log")).read_text()[-3000:])
        return {"name": name, "failed": True}
    result = json.loads(line[0][7:])
    path.unlink()
    return {"name": name, **result, "process_s": timing["seconds"]}


def store_summary(db: Path) -> str:
    code = ("import sys; from spc.store import connect; con = connect(sys.argv[1]); "
            "print(con.execute(\"SELECT count(*), count(DISTINCT area_code), count(DISTINCT indicator_id) "
            "FROM observation\").fetchone()); "
            "print(con.execute(\"SELECT type, count(*) FROM area GROUP BY type ORDER BY 1\").fetchall())")
    out = subprocess.run([sys.executable, "-c", code, str(db)], cwd=ROOT, capture_output=True, text=True)
    return (out.stdout + out.stderr).strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--rows-per-month", type=int, default=500_000, help="street rows a month, nationally")
    parser.add_argument("--start", default="2022-01", help="first month (YYYY-MM)")
    parser.add_argument("--quick", action="store_true", help="3 months x 100,000 rows")
    parser.add_argument("--folder", type=Path, help="archive folder (default: a new one under /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the folder and reuse it when it holds the same archive")
    parser.add_argument("--repeat", type=int, default=1, help="floor and import runs (median reported)")
    parser.add_argument("--skip-import", action="store_true", help="only the floor and the engine")
    parser.add_argument("--no-lsoa", action="store_true", help="skip the LSOA x crime type engine run")
    parser.add_argument("--limit", type=int, nargs="*", metavar="N",
                        help="also run the engine on N synthetic count series x the months (each in its own "
                             "process) until one takes over 60 s or 8 GB, e.g. --limit 500000 1000000 2000000")
    parser.add_argument("--distributed", action="store_true",
                        help="also run the LSOA series through spc.distributed on a 2-worker LocalCluster")
    args = parser.parse_args()
    if args.quick:
        args.months, args.rows_per_month = 3, 100_000
    months = month_list(args.start, args.months)
    folder = args.folder or Path(tempfile.gettempdir()) / f"spc-national-{args.months}x{args.rows_per_month}"
    work = Path(tempfile.mkdtemp(prefix="spc-national-work-"))
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if args.keep and manifest_path.exists() else None
    same_lsoas = (GEOGRAPHY / "lsoa_districts.csv.gz").exists() == manifest.get("lsoas", "").startswith("lsoa_districts") \
        if manifest else False
    if manifest and same_lsoas and (manifest["months"], manifest["rows_per_month"]) == (months, args.rows_per_month):
        print(f"reusing {folder}: {manifest['files']:,} files, {manifest['rows']:,} rows", flush=True)
    else:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        start = time.perf_counter()
        manifest = generate(folder, months, args.rows_per_month)
        manifest["generate_s"] = time.perf_counter() - start
        manifest_path.write_text(json.dumps(manifest))
        print(f"generated {manifest['files']:,} files, {manifest['rows']:,} rows, {manifest['bytes'] / 1e9:.2f} GB "
              f"in {manifest['generate_s']:.1f} s into {folder}", flush=True)
    print(f"  volumes: {manifest['weights']}; LSOAs: {manifest['lsoas']}", flush=True)
    rows, size_mb = manifest["rows"], manifest["bytes"] / 2**20
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, polars {pl.__version__}, "
          f"load average {os.getloadavg()[0]:.1f}, {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC", flush=True)

    table: list[tuple[str, float, str, str, str]] = []  # name, seconds, throughput, x floor, peak RSS
    floor(folder)  # warm the page cache: every measure reads the files from memory
    base, counts = floor(folder)
    assert counts.get_column("len").sum() == rows, "floor lost rows"
    table.append(("(a) floor: polars scan, count per force, month, crime type", base, f"{rows / base:,.0f} rows/s", "1.0", ""))
    t_lsoa, per_lsoa = lsoa_counts(folder)
    table.append(("    same, counted per LSOA too", t_lsoa, f"{rows / t_lsoa:,.0f} rows/s", f"{t_lsoa / base:.1f}", ""))
    print(f"floor {base:.2f} s ({rows / base:,.0f} rows/s); per LSOA {t_lsoa:.2f} s", flush=True)

    if not args.skip_import:
        db = work / "national.duckdb"
        spc = [sys.executable, "-m", "spc.cli"]
        def fresh_store(log: str) -> dict:
            db.unlink(missing_ok=True)
            init = timed_process([*spc, "db", "init", "--force", "all", "--db", str(db)], work / log)
            if init["rc"]:
                raise SystemExit("spc db init --force all failed:\n" + (work / log).read_text()[-2000:])
            return init

        imports, floors = [], [base]
        for i in range(args.repeat):
            init = fresh_store("init.log")
            if i == 0:
                print(f"db init --force all: {init['seconds']:.1f} s", flush=True)
                table.append(("(b) spc db init --force all", init["seconds"], "", "", f"{init['rss_mb']:,.0f} MB"))
            else:
                floors.append(floor(folder)[0])
            imp = timed_process([*spc, "import", "police-uk", str(folder), "--db", str(db), "--no-recompute"],
                                work / "import.log")
            print(f"import: {imp['seconds']:.1f} s, peak {imp['rss_mb']:,.0f} MB, rc {imp['rc']} "
                  f"(floor {floors[-1]:.2f} s)", flush=True)
            if imp["rc"]:
                print((work / "import.log").read_text()[-4000:])
            imports.append(imp)
        if args.repeat > 1:
            base = statistics.median(floors)
            table[0] = (f"(a) floor: polars scan, count per force, month, crime type (median of {len(floors)}: "
                        f"{min(floors):.2f}–{max(floors):.2f})", base, f"{rows / base:,.0f} rows/s", "1.0", "")
        seconds = [i["seconds"] for i in imports]
        imp = sorted(imports, key=lambda i: i["seconds"])[len(imports) // 2]
        spread = f" (median of {len(seconds)}: {min(seconds):.1f}–{max(seconds):.1f})" if len(seconds) > 1 else ""
        table.append((f"(b) spc import police-uk FOLDER --no-recompute{spread}", imp["seconds"],
                      f"{rows / imp['seconds']:,.0f} rows/s", f"{imp['seconds'] / base:.1f}",
                      f"{max(i['rss_mb'] for i in imports):,.0f} MB "
                      f"({max(i['rss_mb'] for i in imports) / size_mb:.2f}× archive)"))
        rec = timed_process([sys.executable, "-c", RECOMPUTE, str(db)], work / "recompute.log")
        said = [t for t in (work / "recompute.log").read_text().splitlines() if t.startswith("RESULT ")]
        print(f"results: {rec['seconds']:.1f} s, {said[0][7:] if said else 'failed'}", flush=True)
        if rec["rc"]:
            print((work / "recompute.log").read_text()[-4000:])
        table.append(("(b) results and stored views after the import (process)", rec["seconds"],
                      said[0][7:].split(" in ")[0] if said else "failed", f"{rec['seconds'] / base:.1f}",
                      f"{rec['rss_mb']:,.0f} MB"))
        print(f"store: {store_summary(db)}", flush=True)
        fresh_store("init.log")
        whole = timed_process([*spc, "import", "police-uk", str(folder), "--db", str(db)], work / "whole.log")
        print(f"import with its recompute: {whole['seconds']:.1f} s, peak {whole['rss_mb']:,.0f} MB, "
              f"rc {whole['rc']}", flush=True)
        table.append(("(b) spc import police-uk FOLDER (default: results recomputed)", whole["seconds"],
                      f"{rows / whole['seconds']:,.0f} rows/s", f"{whole['seconds'] / base:.1f}",
                      f"{whole['rss_mb']:,.0f} MB"))

    _, lookup, _ = lsoa_pools([f for f, _, _ in FORCES])
    frames = series_frames(per_lsoa, lookup, months)
    for name, frame in frames.items():
        if args.no_lsoa and name.startswith("LSOA"):
            continue
        r = run_engine(frame, work, name)
        if r.get("failed"):
            table.append((f"(c) engine: {name}", float("nan"), "failed", "", ""))
            continue
        print(f"engine {name}: {r['series']:,} series, {r['points']:,} points, {r['seconds']:.2f} s, "
              f"peak {r['rss_mb']:,.0f} MB", flush=True)
        table.append((f"(c) engine: {r['series']:,} {name} series × {len(months)} months", r["seconds"],
                      f"{r['points'] / r['seconds']:,.0f} points/s", "", f"{r['rss_mb']:,.0f} MB"))

    if args.distributed:
        d = distributed_run(frames["LSOA x crime type"], work)
        if d:
            print(f"distributed: {d}", flush=True)
            table.append((f"(c) spc.distributed, LocalCluster 2 processes: {d['series']:,} LSOA series in "
                          f"{d['partitions']} partitions (+{d['write_s']:.1f} s partitioning, +{d['cluster_s']:.1f} s "
                          f"cluster start)", d["seconds"], f"{d['points'] / d['seconds']:,.0f} points/s", "", ""))
    for r in engine_limit(args.limit or [], len(months), work):
        if r.get("failed"):
            table.append((f"(c) engine limit: {r['series']:,} synthetic series × {len(months)}", float("nan"),
                          "failed", "", f"{r['rss_mb']:,.0f} MB"))
        else:
            table.append((f"(c) engine limit: {r['series']:,} synthetic series × {len(months)}", r["seconds"],
                          f"{r['points'] / r['seconds']:,.0f} points/s", "", f"{r['rss_mb']:,.0f} MB"))

    print(f"\n{manifest['files']:,} files, {rows:,} rows, {size_mb:,.0f} MB on disk, {len(months)} months; "
          f"load average {os.getloadavg()[0]:.1f}\n")
    print("| measure | seconds | throughput | × floor | peak RSS |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds, speed, ratio, rss in table:
        print(f"| {name} | {seconds:.2f} | {speed} | {ratio} | {rss} |")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
