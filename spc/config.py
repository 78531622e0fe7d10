"""Where things live: the database path and the packaged data folder."""

from __future__ import annotations

import os
from pathlib import Path

#: The project's data folder (catalogue, demo data, sources.toml). It sits beside the package.
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFAULT_DB = "indicators.duckdb"


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The database to use: an explicit path, else `$SPC_DB`, else `indicators.duckdb` in the working folder."""
    return Path(explicit or os.environ.get("SPC_DB") or DEFAULT_DB)
