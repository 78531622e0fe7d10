"""The DuckDB store: schema and migrations, connections, reads and writes."""

from spc.store.connection import connect, transaction
from spc.store.schema import SCHEMA_VERSION, migrate, schema_version

__all__ = ["SCHEMA_VERSION", "connect", "migrate", "schema_version", "transaction"]
