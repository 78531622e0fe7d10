"""Benchmark `spc import police-uk` on 36 months of one force's street files (~350,000 rows).

The files are synthetic but made of real rows: each month resamples (with replacement, seeded)
the rows of the real Staffordshire street files in ../shared/realdata/police_uk/, re-dated to
that month, so crime types, LSOA names, No Location rows and out-of-area rows occur at their
real rates. Written to a temporary folder, never to the project.

    .venv/bin/python benchmarks/ingest.py [--months 36] [--rows 9700] [--repeat 3]

Prints wall-clock times for: the first import into an empty store (Python API, one
transaction), the same import again (every value unchanged), the first import from a zip of
the same files, and the whole `spc import` command in a fresh process, each next to a floor
measured in the same run: a bare polars pass reading the same files and counting rows per
month, LSOA name and crime type (what any importer must at least do), with the ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spc.ingest import run_import  # noqa: E402
from spc.store import connect, migrate, transaction  # noqa: E402
from spc.store.catalogue import load_catalogue, read_catalogue  # noqa: E402

REAL = Path(os.environ.get("SPC_REALDATA", ROOT.parent / "shared" / "realdata")) / "police_uk" / "staffordshire"


def make_months(folder: Path, months: int, rows: int, seed: int = 5) -> int:
    """Write `months` synthetic street files under `folder`; return the total data rows."""
    real = pl.concat([pl.read_csv(p, infer_schema=False) for p in sorted(REAL.glob("*/*-street.csv"))])
    total = 0
    for i in range(months):
        month = f"{2021 + i // 12}-{i % 12 + 1:02d}"
        frame = real.sample(n=rows, with_replacement=True, seed=seed + i).with_columns(pl.lit(month).alias("Month"))
        target = folder / month / f"{month}-staffordshire-street.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        frame.write_csv(target)
        total += frame.height
    return total


def new_store(path: Path) -> Path:
    """An empty store with the shipped catalogue."""
    path.unlink(missing_ok=True)
    con = connect(path, create=True)
    try:
        migrate(con)
        with transaction(con):
            load_catalogue(con, read_catalogue())
    finally:
        con.close()
    return path


def floor(folder: Path) -> float:
    """Seconds for the bare polars pass over the same files: read, then count per month,
    LSOA name and crime type. No validation, no store."""
    start = time.perf_counter()
    counts = (pl.scan_csv(sorted(folder.rglob("*-street.csv")), infer_schema=False)
              .group_by("Month", "LSOA name", "Crime type").len().collect())
    assert counts["len"].sum() > 0
    return time.perf_counter() - start


def timed(db: Path, paths: list[Path]) -> tuple[float, object]:
    """Seconds for one `run_import` (connection open and close included)."""
    start = time.perf_counter()
    con = connect(db)
    try:
        report = run_import(con, "police-uk", paths)
    finally:
        con.close()
    return time.perf_counter() - start, report


def main() -> None:
    """Run the benchmark and print the figures as a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--rows", type=int, default=9700, help="rows per month")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        folder = tmp_path / "months"
        start = time.perf_counter()
        total = make_months(folder, args.months, args.rows)
        print(f"made {args.months} files, {total:,} rows in {time.perf_counter() - start:.1f} s")
        archive = tmp_path / "archive.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(folder.rglob("*.csv")):
                zf.write(p, p.relative_to(folder).as_posix())
        db = tmp_path / "bench.duckdb"
        first, again, zipped, command, bare = [], [], [], [], []
        for _ in range(args.repeat):
            bare.append(floor(folder))
            new_store(db)
            seconds, report = timed(db, [folder])
            assert report.rows_rejected == 0 and sum(f.loaded for f in report.files) == args.months * 150
            first.append(seconds)
            seconds, report = timed(db, [folder])
            assert sum(f.unchanged for f in report.files) == args.months * 150
            again.append(seconds)
            new_store(db)
            zipped.append(timed(db, [archive])[0])
            new_store(db)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "spc.cli", "import", "police-uk", str(folder), "--db", str(db)],
                           check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
            command.append(time.perf_counter() - start)
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"polars {pl.__version__}; median of {args.repeat}\n")
    base = statistics.median(bare)
    print("| run | files | rows | seconds | rows/s | × floor |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, times in (("floor: bare polars read and count", bare), ("first import (folder, API)", first),
                        ("re-import, all unchanged", again), ("first import from a zip", zipped),
                        ("`spc import` command, new process", command)):
        median = statistics.median(times)
        print(f"| {name} | {args.months} | {total:,} | {median:.2f} | {total / median:,.0f} | {median / base:.1f} |")


if __name__ == "__main__":
    main()
