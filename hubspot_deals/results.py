"""Reads of the destination: row counts and rows of a scan's tables."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hubspot_deals.settings import DATASET_NAME, Settings, get_settings


@contextmanager
def destination_connection(settings: Settings | None = None) -> Iterator[Any]:
    """A DB-API connection to the destination (read-only for DuckDB)."""
    settings = settings or get_settings()
    if settings.destination == "postgres":
        import psycopg2

        conn = psycopg2.connect(settings.postgres_dsn.get_secret_value())
        try:
            yield conn
        finally:
            conn.close()
    else:
        import duckdb

        conn = duckdb.connect(str(settings.duckdb_file), read_only=True)
        try:
            yield conn
        finally:
            conn.close()


def count_scan_rows(table: str, scan_id: str, settings: Settings | None = None) -> int:
    """Rows of `table` that belong to the scan."""
    if not table.isidentifier():
        raise ValueError(f"not a table name: {table!r}")
    settings = settings or get_settings()
    marker = "%s" if settings.destination == "postgres" else "?"
    with destination_connection(settings) as conn:
        cur = conn.cursor()
        cur.execute(
            f'SELECT count(*) FROM {DATASET_NAME}."{table}" WHERE _scan_id = {marker}', (scan_id,)
        )
        return int(cur.fetchone()[0])
