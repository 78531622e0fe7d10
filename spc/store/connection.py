"""Opening the database and running work in one transaction."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from spc.errors import SpcError


def connect(path: str | Path, *, read_only: bool = False, create: bool = False,
            wait_seconds: float = 0.0) -> duckdb.DuckDBPyConnection:
    """Open the store at `path`.

    A missing file is an error unless `create` is set, so a typo never silently makes an empty
    store. DuckDB allows one writing process at a time; `wait_seconds` retries while another
    process holds the lock (the app's reads during a refresh, a second refresh).
    """
    path = Path(path)
    if not create and not path.exists():
        raise SpcError(f"{path}: no such database; build it with `spc db init --db {path}`")
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:  # the lock is held by another process
            if time.monotonic() >= deadline:
                if "lock" in str(exc).lower():
                    raise SpcError(f"{path}: the database is in use by another process ({exc})") from exc
                raise SpcError(f"{path}: cannot open the database ({exc})") from exc
            time.sleep(0.1)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run a block in one transaction: committed whole on success, rolled back whole on any error."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
