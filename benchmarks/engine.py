"""Engine benchmark: S series x 60 monthly points, full XmR analysis with MDC rules.

Prints points per second for ``spc.engine.analyse`` next to a floor measured in the
same run: a bare polars pass over the same frame computing the mean and the moving
range per series. Usage: ``python benchmarks/engine.py [S ...]`` (default 1000 10000 100000).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time

import numpy as np
import polars as pl

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import spc.engine as engine  # noqa: E402
from spc.engine import SeriesSpec, analyse  # noqa: E402

POINTS = 60


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


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main(sizes: list[int]) -> None:
    spec = SeriesSpec(chart="xmr", improvement="increase", target=100.0)
    print(f"polars {pl.__version__}, threads {pl.thread_pool_size()}, cpus {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'series':>8} {'points':>10} {'engine s':>9} {'floor s':>8} "
          f"{'engine pts/s':>13} {'floor pts/s':>12} {'ratio':>6}")
    analyse(make_frame(10), spec)  # warm up: lazy imports (scipy) and polars' first calls
    for n in sizes:
        frame = make_frame(n)
        t_floor = min(timed(floor, frame) for _ in range(3))
        engine._TIMINGS = {}
        t_engine = timed(analyse, frame, spec)
        stages = ", ".join(f"{k} {v:.2f}" for k, v in engine._TIMINGS.items())
        engine._TIMINGS = None
        pts = frame.height
        print(f"{n:>8} {pts:>10} {t_engine:>9.2f} {t_floor:>8.3f} {pts / t_engine:>13,.0f} "
              f"{pts / t_floor:>12,.0f} {t_engine / t_floor:>6.1f}   ({stages})", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1_000, 10_000, 100_000])
