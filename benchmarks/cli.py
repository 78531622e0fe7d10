"""Command-line start-up benchmark: `spc --help` and `spc chart` on a small file, each as a
new process, against `python -c pass` in the same run (the floor: starting Python at all).

Prints the median wall time of each over ``--repeat`` runs (default 7), alternating the
commands so load from other work falls on all of them alike, and each one's ratio to the floor.
Usage: ``python benchmarks/cli.py [--repeat N]``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def small_csv(folder: Path) -> Path:
    """24 monthly points of one series: the size of a typical analyst's file."""
    path = folder / "small.csv"
    values = [50, 53, 48, 51, 55, 49, 52, 47, 50, 54, 51, 48] * 2
    path.write_text("period,value\n" + "".join(
        f"{2023 + i // 12}-{i % 12 + 1:02d}-01,{v}\n" for i, v in enumerate(values)))
    return path


def wall(cmd: list[str]) -> float:
    """Seconds to run ``cmd`` to completion (output discarded; a failure stops the benchmark)."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def main(repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = small_csv(Path(tmp))
        spc = [sys.executable, "-m", "spc.cli"]
        commands = {
            "python -c pass (floor)": [sys.executable, "-c", "pass"],
            "spc --help": [*spc, "--help"],
            "spc chart small.csv": [*spc, "chart", str(src)],
            "spc chart small.csv --format json": [*spc, "chart", str(src), "--format", "json"],
        }
        for cmd in commands.values():  # warm the file cache once
            wall(cmd)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(repeat):
            for name, cmd in commands.items():
                times[name].append(wall(cmd))
    floor = statistics.median(times["python -c pass (floor)"])
    print(f"Python {sys.version.split()[0]}, cpus {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}, median of {repeat}")
    print(f"{'command':<36} {'seconds':>8} {'x floor':>8}")
    for name, runs in times.items():
        t = statistics.median(runs)
        print(f"{name:<36} {t:>8.3f} {t / floor:>8.1f}")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(int(args[args.index("--repeat") + 1]) if "--repeat" in args else 7)
