"""spc.distributed: the engine mapped over a series-partitioned Parquet dataset on a local Dask
cluster of 2 workers gives the single-machine engine's frames exactly (skipped without Dask)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

distributed = pytest.importorskip("distributed")

from spc.distributed import analyse_dataset, partition_dataset, read_output  # noqa: E402
from spc.engine import SeriesSpec, analyse  # noqa: E402
from spc.errors import SpcError  # noqa: E402


def _frame(n_series: int = 120, months: int = 36) -> pl.DataFrame:
    rng = np.random.default_rng(3)
    periods = pl.date_range(dt.date(2022, 1, 1), dt.date(2024, 12, 1), "1mo", eager=True)[:months]
    level = rng.uniform(5, 200, n_series)[:, None]
    step = (rng.random(n_series) < 0.3)[:, None] * (np.arange(months) >= 24) * level * 0.4
    values = np.round(level + rng.normal(0, 1, (n_series, months)) * np.sqrt(level) + step)
    return pl.DataFrame({
        "series": np.repeat([f"E01{i:06d}|Burglary" for i in range(n_series)], months),
        "period": np.tile(periods.to_numpy(), n_series),
        "value": values.ravel(),
    })


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def test_partitions_hold_whole_series(tmp_path):
    frame = _frame()
    parts = partition_dataset(frame, tmp_path / "in", partitions=4)
    assert 1 < len(parts) <= 4
    owners = pl.concat([pl.read_parquet(p, hive_partitioning=False).select("series").unique()
                        .with_columns(pl.lit(p.name).alias("part")) for p in parts])
    assert owners.height == frame.get_column("series").n_unique()  # no series in two partitions
    assert sum(pl.read_parquet(p, hive_partitioning=False).height for p in parts) == frame.height


def test_distributed_equals_single_machine(tmp_path, client):
    frame = _frame()
    spec = SeriesSpec(chart="xmr", improvement="decrease", target=50.0)
    partition_dataset(frame, tmp_path / "in", partitions=4)
    done = analyse_dataset(tmp_path / "in", tmp_path / "out", spec, client=client)
    single = analyse(frame, spec)
    assert done["series"] == 120 and done["points"] == frame.height
    assert_frame_equal(read_output(tmp_path / "out", "points"), single.points.sort("series", "period"))
    assert_frame_equal(read_output(tmp_path / "out", "phases"), single.phases.sort("series", "phase"))
    assert_frame_equal(read_output(tmp_path / "out", "summary"), single.summary.sort("series"))


def test_per_series_specs_travel_to_the_workers(tmp_path, client):
    frame = _frame(n_series=20)
    names = frame.get_column("series").unique().sort().to_list()
    specs = {s: SeriesSpec(chart="c" if i % 2 else "xmr", improvement="decrease") for i, s in enumerate(names)}
    partition_dataset(frame, tmp_path / "in", partitions=3)
    analyse_dataset(tmp_path / "in", tmp_path / "out", specs, client=client)
    assert_frame_equal(read_output(tmp_path / "out", "summary"), analyse(frame, specs).summary.sort("series"))


def test_bad_input(tmp_path):
    with pytest.raises(SpcError, match="partitions must be at least 1"):
        partition_dataset(_frame(2), tmp_path / "in", partitions=0)
    with pytest.raises(SpcError, match="no partitions"):
        analyse_dataset(tmp_path, tmp_path / "out", SeriesSpec(chart="xmr"), client=object())
