"""The engine past one machine: a Parquet dataset partitioned by series, one Dask task per partition.

``spc.engine.analyse`` treats every series on its own (limits, rules and runs never look across
series), so a long frame split by series can be analysed piece by piece and the pieces' outputs
put side by side give exactly the single-machine result. This module does that with Dask's
distributed scheduler (the optional extra ``distributed``: ``pip install 'spc[distributed]'``):

* :func:`partition_dataset` writes a long frame (series, period, value or numerator/denominator)
  as a Hive-partitioned Parquet dataset, ``part=K/…parquet``, K = hash(series) mod N, so every
  series lies wholly in one partition;
* :func:`analyse_dataset` maps the engine over the partitions on a ``distributed.Client`` (a
  ``LocalCluster`` on one machine, or a scheduler address for a real cluster): each task reads its
  partition with polars, runs ``analyse`` and writes ``points``, ``phases`` and ``summary`` as
  ``<target>/<frame>/part-K.parquet``; only a few counts travel back to the client.

No pandas or dask.dataframe is involved: a partition is a file path going out and a small dict
coming back, so the workers need only ``spc`` and polars, and a worker's memory is bounded by its
largest partition (choose N so a partition holds some tens of thousands of series).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from spc.engine import SeriesSpec, analyse
from spc.errors import SpcError

FRAMES = ("points", "phases", "summary")


def partition_dataset(data: pl.DataFrame | pl.LazyFrame, folder: str | Path, partitions: int,
                      series: str = "series") -> list[Path]:
    """Write ``data`` to ``folder`` as Parquet partitioned by a hash of ``series``
    (``part=K``, 0 <= K < partitions); return the partition folders that hold rows."""
    if partitions < 1:
        raise SpcError(f"partitions must be at least 1, got {partitions}")
    folder = Path(folder)
    frame = data.lazy().with_columns((pl.col(series).hash(seed=0) % partitions).cast(pl.Int64).alias("part"))
    frame.collect().write_parquet(folder, partition_by="part")
    return sorted((p for p in folder.glob("part=*") if p.is_dir()), key=lambda p: int(p.name[5:]))


def analyse_partition(source: str | Path, target: str | Path,
                      specs: SeriesSpec | Mapping[str, SeriesSpec]) -> dict[str, Any]:
    """Run the engine on one partition folder and write its three frames under ``target``."""
    source, target = Path(source), Path(target)
    frame = pl.read_parquet(source, hive_partitioning=False)
    frame = frame.drop("part") if "part" in frame.columns else frame
    result = analyse(frame, specs)
    name = f"{source.name.replace('=', '-')}.parquet"
    for kind in FRAMES:
        (target / kind).mkdir(parents=True, exist_ok=True)
        getattr(result, kind).write_parquet(target / kind / name)
    return {"partition": source.name, "series": result.summary.height, "points": result.points.height}


def analyse_dataset(source: str | Path, target: str | Path, specs: SeriesSpec | Mapping[str, SeriesSpec],
                    client: Any = None) -> dict[str, int]:
    """Analyse every partition of the dataset at ``source`` (as written by
    :func:`partition_dataset`) on a Dask ``distributed.Client``, one task per partition, writing
    ``<target>/{points,phases,summary}/part-K.parquet``. Without a client, a ``LocalCluster`` of
    one worker process per CPU is started for the call. Returns the partitions, series and
    points analysed; read the output back with ``pl.scan_parquet(target / "points")``."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - the extra is optional
        raise SpcError("the distributed engine needs Dask: pip install 'spc[distributed]'") from exc
    parts = sorted((p for p in Path(source).glob("part=*") if p.is_dir()), key=lambda p: int(p.name[5:]))
    if not parts:
        raise SpcError(f"no partitions (part=K folders) in {source}")
    own = client is None
    cluster = LocalCluster(threads_per_worker=1, dashboard_address=None) if own else None
    client = Client(cluster) if own else client
    try:
        futures = client.map(analyse_partition, [str(p) for p in parts], target=str(target), specs=specs,
                             pure=False)
        done = client.gather(futures)
    finally:
        if own:
            client.close()
            cluster.close()
    return {"partitions": len(done), "series": sum(d["series"] for d in done),
            "points": sum(d["points"] for d in done)}


def read_output(target: str | Path, kind: str = "points") -> pl.DataFrame:
    """One of the frames written by :func:`analyse_dataset`, every partition, sorted as the
    engine sorts (series, then period for points and phase for phases)."""
    if kind not in FRAMES:
        raise SpcError(f"kind must be one of {', '.join(FRAMES)}, got {kind!r}")
    frame = pl.read_parquet(Path(target) / kind)
    order = {"points": ["series", "period"], "phases": ["series", "phase"], "summary": ["series"]}[kind]
    return frame.sort([c for c in order if c in frame.columns])
