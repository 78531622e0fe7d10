"""Helpers shared by the refresh, signal, concurrency and brief tests (not a conftest: imported).

A store is built the way a deployment builds it (schema + catalogue), and data arrives the way
it does in production: tidy CSV files dropped in the folder sources.toml points at.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np

from spc.store import connect, migrate, transaction
from spc.store.catalogue import load_catalogue, read_catalogue

ROOT = Path(__file__).resolve().parent.parent
SPC = [sys.executable, "-m", "spc.cli"]
INDICATOR = "asb_incidents"   # a count where a decrease is improvement: high values are a concern
FORCE, LOCAL = "staffordshire", "tamworth"


def month(offset: int, today: dt.date | None = None) -> dt.date:
    """The first day of the month `offset` months from the current one (negative: earlier)."""
    today = today or dt.datetime.now(dt.UTC).date()
    index = today.year * 12 + today.month - 1 + offset
    return dt.date(index // 12, index % 12 + 1, 1)


def make_store(root: Path) -> tuple[Path, Path, Path]:
    """An empty store with the catalogue, a sources.toml and its drop-in folder.

    Returns (db, sources, incoming folder).
    """
    db = root / "store.duckdb"
    con = connect(db, create=True)
    migrate(con)
    with transaction(con):
        load_catalogue(con, read_catalogue())
    con.close()
    incoming = root / "incoming" / "tidy"
    incoming.mkdir(parents=True)
    sources = root / "sources.toml"
    sources.write_text(
        '[expect]\ndefault_lag_periods = 1\n\n'
        '[[source]]\nname = "tidy drop folder"\nimporter = "tidy"\npath = "incoming/tidy"\npattern = "*.csv"\n',
        encoding="utf-8")
    return db, sources, incoming


def write_tidy(path: Path, rows: list[tuple[str, str, dt.date, float]]) -> Path:
    """A tidy CSV (indicator, area, period, value) as the generic importer reads it."""
    lines = ["indicator,area,period,value"] + [f"{i},{a},{p:%Y-%m},{v:g}" for i, a, p, v in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def history(months: int = 36, last_offset: int = -2, seed: int = 7) -> list[tuple[str, str, dt.date, float]]:
    """Common-cause history for the force (ending `last_offset` months from now) and for one local
    area whose data stopped six months earlier (so the digest has expected data that is missing)."""
    rng = np.random.default_rng(seed)
    rows = []
    for area, last, level in ((FORCE, last_offset, 1000.0), (LOCAL, last_offset - 6, 120.0)):
        for k in range(months):
            rows.append((INDICATOR, area, month(last - months + 1 + k), float(round(rng.normal(level, level * 0.03)))))
    return rows


def run_spc(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run the `spc` command in a fresh process, as cron would."""
    return subprocess.run([*SPC, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**os.environ, **(env or {})})


def table_rows(db: Path, tables: tuple[str, ...] = ("observation", "observation_revision", "load_batch",
                                                     "rejected_row", "result_point", "result_phase",
                                                     "result_summary", "result_view", "signal",
                                                     "annotation")) -> dict[str, list]:
    """Every row of the given tables, sorted, for before/after comparisons."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall())) for t in tables}
    finally:
        con.close()


def read_log(path: Path) -> list[dict]:
    """The JSON-lines log as a list of records."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
