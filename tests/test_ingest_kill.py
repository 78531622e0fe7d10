"""An import killed with SIGKILL part-way leaves the store as it was; the re-run completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from test_ingest_support import STREET_DIR, make_store, snapshot

from spc.ingest import run_import
from spc.store import connect

N_MONTHS = 40


def _months(folder: Path) -> None:
    """40 month folders of synthetic street files: a real month's first 2,000 rows, re-dated."""
    lines = (STREET_DIR / "2024-01" / "2024-01-staffordshire-street.csv").read_bytes().splitlines(keepends=True)
    sample = b"".join(lines[:2001])
    for i in range(N_MONTHS):
        month = f"{2010 + i // 12}-{i % 12 + 1:02d}"
        target = folder / month / f"{month}-staffordshire-street.csv"
        target.parent.mkdir(parents=True)
        target.write_bytes(sample.replace(b",2024-01,", f",{month},".encode()))


def test_sigkill_midway_leaves_the_store_intact_and_the_rerun_completes(tmp_path: Path) -> None:
    db = make_store(tmp_path / "store.duckdb")
    con = connect(db)
    try:
        run_import(con, "police-uk", [STREET_DIR / "2024-01"])     # data the killed import must not harm
        before = snapshot(con, ("observation", "observation_revision", "load_batch", "rejected_row"))
    finally:
        con.close()
    months = tmp_path / "months"
    _months(months)

    proc = subprocess.Popen([sys.executable, "-m", "spc.cli", "import", "police-uk", str(months), "--db", str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).resolve().parents[1])
    assert proc.stdout is not None
    first = proc.stdout.readline().decode()          # printed once the first file is written
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert first.startswith(f"[1/{N_MONTHS}] "), first + proc.stderr.read().decode()
    assert proc.returncode == -signal.SIGKILL        # killed, not finished

    con = connect(db)
    try:
        assert snapshot(con, ("observation", "observation_revision", "load_batch", "rejected_row")) == before
        report = run_import(con, "police-uk", [months])
        n_obs = con.execute("SELECT count(*) FROM observation").fetchone()[0]
        n_months = con.execute("SELECT count(DISTINCT period_start) FROM observation").fetchone()[0]
    finally:
        con.close()
    assert len(report.files) == N_MONTHS and report.rows_rejected == 0
    assert sum(f.loaded for f in report.files) == N_MONTHS * 150
    assert (n_obs, n_months) == ((N_MONTHS + 1) * 150, N_MONTHS + 1)
