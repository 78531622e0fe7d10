"""The store: migrations, observation writes with revisions, transactions."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import polars as pl
import pytest

from spc.errors import SpcError
from spc.store import SCHEMA_VERSION, connect, migrate, schema_version, transaction
from spc.store.catalogue import load_catalogue, read_catalogue
from spc.store.observations import WriteCounts, start_batch, write_observations
from spc.store.schema import MIGRATIONS


def _rows(values: dict[str, float], indicator: str = "asb_incidents", area: str = "tamworth") -> pl.DataFrame:
    return pl.DataFrame({
        "indicator_id": [indicator] * len(values),
        "area_code": [area] * len(values),
        "period_start": [dt.date.fromisoformat(p) for p in values],
        "period_grain": ["month"] * len(values),
        "value": list(values.values()),
        "numerator": [None] * len(values),
        "denominator": [None] * len(values),
    })


@pytest.fixture
def store(tmp_path):
    con = connect(tmp_path / "store.duckdb", create=True)
    migrate(con)
    with transaction(con):
        load_catalogue(con, read_catalogue())
    yield con
    con.close()


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def test_migrate_from_empty_creates_every_table(tmp_path):
    con = connect(tmp_path / "new.duckdb", create=True)
    assert schema_version(con) == 0
    assert migrate(con) == SCHEMA_VERSION
    assert {"indicator", "area", "observation", "observation_revision", "annotation", "load_batch",
            "rejected_row", "series_setting", "refresh_run", "result_point", "result_phase",
            "result_summary", "signal"} <= _tables(con)
    assert migrate(con) == SCHEMA_VERSION  # running again is a no-op
    assert con.execute("SELECT count(*) FROM schema_version").fetchone()[0] == SCHEMA_VERSION


def test_migrate_from_previous_version_keeps_data(tmp_path):
    path = tmp_path / "old.duckdb"
    con = connect(path, create=True)
    migrate(con, target=SCHEMA_VERSION - 1)
    cat = read_catalogue()
    with transaction(con):
        # the catalogue as the previous version allowed it (version 3 added the national area type)
        load_catalogue(con, dataclasses.replace(cat, areas=[a for a in cat.areas if a.type != "national"]))
        batch = start_batch(con, "test", "old.csv")
        write_observations(con, _rows({"2024-01-01": 90.0}), batch)
    assert schema_version(con) == SCHEMA_VERSION - 1
    before = _tables(con)
    new_tables = {s.split("(")[0].split()[-1] for s in MIGRATIONS[-1]
                  if s.strip().startswith("CREATE TABLE")} - before
    assert not new_tables & before
    con.close()

    con = connect(path)
    assert migrate(con) == SCHEMA_VERSION
    assert new_tables | before <= _tables(con)
    assert con.execute("SELECT value FROM observation").fetchall() == [(90.0,)]


def test_connect_refuses_a_missing_file_instead_of_creating_it(tmp_path):
    with pytest.raises(SpcError, match="no such database.*spc db init"):
        connect(tmp_path / "typo.duckdb")
    assert not (tmp_path / "typo.duckdb").exists()


def test_write_counts_new_unchanged_and_revised_and_keeps_history(store):
    first = start_batch(store, "test", "a.csv")
    assert write_observations(store, _rows({"2024-01-01": 90, "2024-02-01": 95}), first) == WriteCounts(2, 0, 0)
    again = start_batch(store, "test", "a.csv")
    assert write_observations(store, _rows({"2024-01-01": 90, "2024-02-01": 95}), again) == WriteCounts(0, 2, 0)

    revised = start_batch(store, "test", "b.csv")
    # January revised, February absent from the new file, March new
    counts = write_observations(store, _rows({"2024-01-01": 93, "2024-03-01": 99}), revised)
    assert counts == WriteCounts(loaded=1, unchanged=0, revised=1)

    current = store.execute(
        "SELECT period_start, value, load_batch_id FROM observation ORDER BY period_start").fetchall()
    assert current == [(dt.date(2024, 1, 1), 93.0, revised), (dt.date(2024, 2, 1), 95.0, first),
                       (dt.date(2024, 3, 1), 99.0, revised)]
    history = store.execute(
        "SELECT period_start, value, load_batch_id, superseded_by_batch FROM observation_revision").fetchall()
    assert history == [(dt.date(2024, 1, 1), 90.0, first, revised)]


def test_a_failed_transaction_leaves_the_store_as_it_was(store):
    batch = start_batch(store, "test", "a.csv")
    write_observations(store, _rows({"2024-01-01": 90}), batch)
    before = store.execute("SELECT * FROM observation").fetchall()
    with pytest.raises(RuntimeError), transaction(store):
        write_observations(store, _rows({"2024-01-01": 1, "2024-02-01": 2}), start_batch(store, "t", "b"))
        raise RuntimeError("killed midway")
    assert store.execute("SELECT * FROM observation").fetchall() == before
    assert store.execute("SELECT count(*) FROM observation_revision").fetchone()[0] == 0


def test_observations_must_refer_to_catalogue_entries(store):
    batch = start_batch(store, "test", "a.csv")
    with pytest.raises(duckdb.ConstraintException):
        write_observations(store, _rows({"2024-01-01": 1}, indicator="no_such_indicator"), batch)
