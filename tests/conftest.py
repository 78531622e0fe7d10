"""Shared test fixtures.

`demo_db`: the demo database built once per test session with `spc db init` (the README's
first command) into a temporary folder. Treat it as read-only; a test that writes takes
`demo_db_copy`, its own copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path to the demo database, built once per session (do not write to it)."""
    from spc.cli import main

    path = tmp_path_factory.mktemp("demo_db") / "indicators.duckdb"
    code = main(["db", "init", "--db", str(path)])
    assert code == 0, "spc db init failed building the demo database"
    return path


@pytest.fixture
def demo_db_copy(demo_db: Path, tmp_path: Path) -> Path:
    """A private copy of the demo database that a test may change."""
    target = tmp_path / "indicators.duckdb"
    shutil.copy2(demo_db, target)
    wal = Path(str(demo_db) + ".wal")
    if wal.exists():
        shutil.copy2(wal, Path(str(target) + ".wal"))
    return target
