"""Engine benchmark: S series x 60 monthly points, full XmR analysis with MDC rules.

Prints points per second for ``spc.engine.analyse`` next to a floor measured in the
same run: a bare polars pass over the same frame computing the mean and the moving
range per series. Then the whole process: ``spc chart`` run as a new Python process on the
same frame written to Parquet, with CSV and with Parquet output, against the same floor and
against NHSRplotthedots' ``ptd_spc()`` at 9,000 points/s (measured in issue 14; R is not
run here). Usage: ``python benchmarks/engine.py [S ...] [--repeat N]`` (default 1000 10000
100000, 3 runs of each measurement, medians reported); ``--no-process`` skips the
whole-process runs.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import spc.engine as engine  # noqa: E402
from spc.engine import SeriesSpec, analyse  # noqa: E402

POINTS = 60
#: NHSRplotthedots ptd_spc() on the 100,000 x 60 frame, points/s (issue 14, measured in R)
NHSR_POINTS_PER_S = 9_000


def make_frame(n_series: int, seed: int = 1) -> pl.DataFrame:
    """n_series x 60 monthly points: noise around a level, some with a step or a trend."""
    rng = np.random.default_rng(seed)
    months = pl.date_range(dt.date(2019, 4, 1), dt.date(2024, 3, 1), "1mo", eager=True)
    level = rng.uniform(50, 500, n_series)[:, None]
    noise = rng.normal(0, 1, (n_series, POINTS)) * level * 0.05
    step = (rng.random(n_series) < 0.2)[:, None] * (np.arange(POINTS) >= 40) * level * 0.1
    values = (level + noise + step).ravel()
    return pl.DataFrame({
        "series": np.repeat([f"s{i:06d}" for i in range(n_series)], POINTS),
        "period": np.tile(months.to_numpy(), n_series),
        "value": values,
    })


def floor(frame: pl.DataFrame) -> pl.DataFrame:
    """The bare minimum: mean and mean moving range per series."""
    mr = (pl.col("value") - pl.col("value").shift(1)).abs()
    return frame.sort("series", "period").with_columns(
        mean=pl.col("value").mean().over("series"), mr=mr.over("series")
    ).group_by("series").agg(pl.col("mean").first(), pl.col("mr").mean())


def analyse_all(frame: pl.DataFrame, spec: SeriesSpec) -> None:
    """The whole analysis: points, and the phases and summary frames, which ``analyse``
    computes when they are first asked for (``spc chart`` writing points never asks)."""
    result = analyse(frame, spec)
    result.phases, result.summary  # noqa: B018


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def process(frame: pl.DataFrame, fmt: str) -> float:
    """Seconds for ``spc chart`` as a whole new process on ``frame`` (Parquet in, ``fmt`` out),
    with the spec the API run uses; the output is checked to hold every point."""
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.parquet", Path(tmp) / f"out.{fmt}"
        frame.write_parquet(src)
        cmd = [sys.executable, "-m", "spc.cli", "chart", str(src), "--improvement", "increase",
               "--target", "100", "--format", fmt, "--output", str(out)]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=os.path.join(os.path.dirname(__file__), ".."))
        seconds = time.perf_counter() - start
        rows = (pl.scan_csv(out) if fmt == "csv" else pl.scan_parquet(out)).select(pl.len())
        assert rows.collect().item() == frame.height, "spc chart lost points"
    return seconds


def main(sizes: list[int], whole_process: bool = True, repeat: int = 3) -> None:
    """Floor and engine alternated ``repeat`` times per size (medians, and each engine run's
    ratio to the floor measured just before it); then each whole-process run ``repeat``
    times, CSV and Parquet alternated (medians, against the median floor)."""
    spec = SeriesSpec(chart="xmr", improvement="increase", target=100.0)
    print(f"polars {pl.__version__}, threads {pl.thread_pool_size()}, cpus {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}, median of {repeat}")
    print(f"{'series':>8} {'points':>10} {'engine s':>9} {'floor s':>8} "
          f"{'engine pts/s':>13} {'floor pts/s':>12} {'ratio':>6}  (ratios of the runs)")
    analyse_all(make_frame(10), spec)  # warm up: polars' first calls
    floors: dict[int, float] = {}
    for n in sizes:
        frame = make_frame(n)
        t_floors, t_engines, stages = [], [], {}
        for _ in range(repeat):
            t_floors.append(min(timed(floor, frame) for _ in range(3)))
            engine._TIMINGS = {}
            t_engines.append(timed(analyse_all, frame, spec))
            for k, v in engine._TIMINGS.items():
                stages.setdefault(k, []).append(v)
        engine._TIMINGS = None
        t_floor = floors[n] = statistics.median(t_floors)
        t_engine = statistics.median(t_engines)
        ratios = " ".join(f"{e / f:.1f}" for e, f in zip(t_engines, t_floors, strict=True))
        stage_text = ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in stages.items()
                               if statistics.median(v) >= 0.005)
        pts = frame.height
        print(f"{n:>8} {pts:>10} {t_engine:>9.2f} {t_floor:>8.3f} {pts / t_engine:>13,.0f} "
              f"{pts / t_floor:>12,.0f} {t_engine / t_floor:>6.1f}  ({ratios}; stages: "
              f"{stage_text})", flush=True)
    if not whole_process:
        return
    print(f"\nwhole process: spc chart INPUT.parquet --output OUT (new Python process), "
          f"load average {os.getloadavg()[0]:.1f}, median of {repeat}")
    print(f"{'series':>8} {'points':>10} {'output':>7} {'seconds':>8} {'pts/s':>10} "
          f"{'x floor':>8} {'x NHSRplotthedots':>18}  (runs)")
    for n in sizes:
        frame = make_frame(n)
        times: dict[str, list[float]] = {"csv": [], "parquet": []}
        for _ in range(repeat):
            for fmt in times:
                times[fmt].append(process(frame, fmt))
        for fmt, runs in times.items():
            t = statistics.median(runs)
            pts = frame.height
            print(f"{n:>8} {pts:>10} {fmt:>7} {t:>8.2f} {pts / t:>10,.0f} "
                  f"{t / floors[n]:>8.1f} {pts / t / NHSR_POINTS_PER_S:>18.1f}  "
                  f"({' '.join(f'{r:.2f}' for r in runs)})", flush=True)


if __name__ == "__main__":
    argv = sys.argv[1:]
    repeat = 3
    if "--repeat" in argv:
        at = argv.index("--repeat")
        repeat = int(argv[at + 1])
        del argv[at:at + 2]
    args = [a for a in argv if a != "--no-process"]
    main([int(a) for a in args] or [1_000, 10_000, 100_000], "--no-process" not in argv, repeat)
