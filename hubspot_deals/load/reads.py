"""Reads of the destination (DuckDB or PostgreSQL): a scan's rows, counts and aggregates."""

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from hubspot_deals.scan import SCAN_ID_COLUMN
from hubspot_deals.settings import DATASET_NAME, Settings, get_settings

# dlt's own bookkeeping columns, never shown as data.
DLT_COLUMNS = frozenset({"_dlt_load_id", "_dlt_id"})


class DestinationError(Exception):
    """The destination could not be reached or could not do what was asked (the driver's error
    is the cause). Its message names no credentials."""


# Rows read from the destination per batch of a download (either destination).
EXPORT_BATCH_ROWS = 2000


class TableMissing(LookupError):
    """A scan's read named a table the destination does not have for it (`available`: the
    tables it has)."""

    def __init__(self, table: str, available: list[str]) -> None:
        super().__init__(f"table {table!r} is not available; available: {available}")
        self.table = table
        self.available = available


class DestinationBusyError(DestinationError):
    """DuckDB stayed locked by a writing process for longer than the reader waits
    (`wait_seconds`)."""

    def __init__(self, message: str, wait_seconds: float = 0.0) -> None:
        super().__init__(message)
        self.wait_seconds = wait_seconds


def is_lock_error(exc: BaseException) -> bool:
    """DuckDB refusing its file because another process holds it (a loading scan)."""
    import duckdb

    text = str(exc).lower()
    return isinstance(exc, duckdb.Error) and "lock" in text and "conflicting" in text


T = TypeVar("T")


def while_duckdb_locked(action: Callable[[], T], wait_seconds: float, what: str) -> T:
    """Runs `action` (opening or attaching the DuckDB file), again and again while another
    process holds the file, for up to `wait_seconds`.

    DuckDB locks its file per process and dlt holds it only while a chunk loads, so a short
    wait (50 ms, doubling to 1 s) usually gets through; past the wait, `DestinationBusyError`
    says what could not be done (`what`: "opened", "opened to remove the scan"). Any other
    error is the caller's to translate."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        try:
            return action()
        except Exception as exc:
            if not is_lock_error(exc):
                raise
            if time.monotonic() + delay > deadline:
                raise DestinationBusyError(
                    f"the DuckDB destination is locked by a loading scan; it could not be "
                    f"{what} within {wait_seconds:g}s",
                    wait_seconds,
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


@dataclass(frozen=True)
class TableSpec:
    """A table as a scan's run declared it in Dagster: its columns and rows loaded."""

    name: str
    columns: list[str] | None = None
    extracted: int | None = None


@dataclass(frozen=True)
class TableRows:
    """A table as read for one scan: the scan's row count and its visible columns."""

    name: str
    row_count: int
    columns: list[str]


class DestinationReader:
    """SQL reads with one placeholder style (`?`) on both destinations.

    DuckDB lets one process write at a time and locks readers of other processes out meanwhile;
    dlt holds the lock only while it loads, so a reader retries for a little while.
    """

    def __init__(self, settings: Settings | None = None, lock_wait_seconds: float = 30.0) -> None:
        self.settings = settings or get_settings()
        self.lock_wait_seconds = lock_wait_seconds

    @property
    def is_postgres(self) -> bool:
        return self.settings.destination == "postgres"

    def table(self, name: str) -> str:
        if not name.replace("_", "").isalnum():
            raise ValueError(f"not a table name: {name!r}")
        return f'{DATASET_NAME}."{name}"'

    @contextmanager
    def connect(self) -> Iterator[Any]:
        if self.is_postgres:
            import psycopg2

            conn = psycopg2.connect(self.settings.postgres_dsn.get_secret_value())
            conn.set_session(readonly=True, autocommit=True)
        else:
            conn = self._duckdb()
        try:
            yield conn
        finally:
            conn.close()

    def _duckdb(self) -> Any:
        import duckdb

        return while_duckdb_locked(
            lambda: duckdb.connect(
                str(self.settings.duckdb_file),
                read_only=True,
                config={"memory_limit": self.settings.duckdb_memory()},
            ),
            self.lock_wait_seconds,
            "opened",
        )

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        if self.is_postgres:  # psycopg2's paramstyle: %s, and a literal % doubled
            sql = sql.replace("%", "%%").replace("?", "%s")
        with self.connect() as conn:
            cur = conn.cursor()
            cur.execute(sql, tuple(params))
            return list(cur.fetchall())

    def columns(self, table: str) -> dict[str, str]:
        """Column name -> data type, in table order; empty when the table does not exist."""
        rows = self.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            (DATASET_NAME, table),
        )
        return {name: dtype for name, dtype in rows}


def count_scan_rows(table: str, scan_id: str, settings: Settings | None = None) -> int:
    """Rows of `table` that belong to the scan."""
    reader = DestinationReader(settings)
    rows = reader.query(
        f"SELECT count(*) FROM {reader.table(table)} WHERE {SCAN_ID_COLUMN} = ?", (scan_id,)
    )
    return int(rows[0][0])


def destination_connection(settings: Settings | None = None):  # noqa: ANN201
    """A DB-API connection to the destination (read-only)."""
    return DestinationReader(settings).connect()
