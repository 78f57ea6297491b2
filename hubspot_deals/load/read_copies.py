"""Per-scan read copies of the DuckDB destination, so that readers never hold its lock.

DuckDB locks its file per process: while any other process has the file open, even read-only,
a scan's run cannot open it to load, and dlt fails the run at once ("Could not set lock on
file"). Reading the file on every API request would therefore fail loading scans (and be
refused while a scan loads). Instead, the first read of a completed scan copies that scan's
rows into a small DuckDB file of its own under the cache folder (one short read-only ATTACH of
the destination, retried while a loading scan holds the lock: `while_duckdb_locked`), and every
page is then read from that copy, concurrently and without touching the destination again.

A copy is keyed by the scan's version (its Dagster run id): a re-run makes a new copy;
`forget_scan` (called when the scan is removed) deletes its copies. At most `max_copies` copies
are kept (least recently used go). This module owns the copies' files; readers get a
`ReadCopy` (a read-only connection, its tables and column types) and only SELECT from it.
"""

import hashlib
import logging
import os
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import duckdb
import orjson

from hubspot_deals.load.indexes import primary_keys_from_dlt_schemas, scan_key_columns
from hubspot_deals.load.names import quote, visible_columns
from hubspot_deals.load.reads import (
    DestinationError,
    TableRows,
    TableSpec,
    while_duckdb_locked,
)
from hubspot_deals.scan import SCAN_ID_COLUMN
from hubspot_deals.settings import DATASET_NAME

log = logging.getLogger(__name__)

META_TABLE = "__scan_tables"
# Each copied row's number in the table's key order: a page is a range of it.
ROW_COLUMN = "__row"
# Values a read copy is built with at a time: 25,000 rows of 80 columns fit its 192 MB.
COPY_BATCH_CELLS = 2_000_000


@dataclass
class ReadCopy:
    """One scan's copy, open read-only: its tables (in declared order) and column types."""

    connection: duckdb.DuckDBPyConnection
    tables: dict[str, TableRows]
    types: dict[tuple[str, str], str]


class ReadCopies:
    """The cache of read copies of one DuckDB destination file (thread-safe)."""

    def __init__(
        self,
        main_file: Path,
        cache_dir: Path,
        max_copies: int,
        lock_wait_seconds: float,
        read_memory_limit: str,
        copy_memory_limit: str,
    ) -> None:
        self.main_file = main_file
        self.cache_dir = cache_dir
        self.max_copies = max_copies
        self.lock_wait_seconds = lock_wait_seconds
        self.read_memory_limit = read_memory_limit
        self.copy_memory_limit = copy_memory_limit
        self._copies: OrderedDict[Path, ReadCopy] = OrderedDict()
        self._lock = threading.Lock()
        self._build_locks: dict[Path, threading.Lock] = {}

    def _copy_path(self, scan_id: str, version: str) -> Path:
        return self.cache_dir / f"{_digest(scan_id)}-{_digest(version)}.duckdb"

    def copy(self, scan_id: str, version: str, declared: list[TableSpec]) -> ReadCopy:
        """The scan's copy, built on first use. Raises `DestinationBusyError` when a loading
        scan holds the destination past the wait, `DestinationError` when it cannot be read."""
        path = self._copy_path(scan_id, version)
        with self._lock:
            copy = self._copies.get(path)
            if copy is not None:
                self._copies.move_to_end(path)
                return copy
            build_lock = self._build_locks.setdefault(path, threading.Lock())
        with build_lock:
            with self._lock:
                copy = self._copies.get(path)
                if copy is not None:
                    return copy
            if not path.exists():
                self._build(path, scan_id, declared)
            connection = duckdb.connect(
                str(path), read_only=True, config={"memory_limit": self.read_memory_limit}
            )
            copy = ReadCopy(connection, _read_meta(connection), column_types(connection))
            os.utime(path)
            with self._lock:
                self._copies[path] = copy
                self._build_locks.pop(path, None)
            self._evict()
            return copy

    def _build(self, path: Path, scan_id: str, declared: list[TableSpec]) -> None:
        if not self.main_file.exists():
            raise DestinationError(f"The DuckDB destination {self.main_file} does not exist")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{uuid.uuid4().hex}.tmp")
        started = time.monotonic()
        # The copy's spill folder lives in the cache folder and goes when the copy is built.
        with tempfile.TemporaryDirectory(
            prefix=f"{tmp.name}.", suffix=".spill", dir=self.cache_dir, ignore_cleanup_errors=True
        ) as spill:
            # Bounded: numbering a million rows in key order would otherwise take most of the
            # machine's memory (DuckDB's default is 80% of it); it spills to the cache folder.
            out = duckdb.connect(
                str(tmp),
                config={
                    "memory_limit": self.copy_memory_limit,
                    "temp_directory": spill,
                    "preserve_insertion_order": False,
                },
            )
            try:
                source = str(self.main_file).replace("'", "''")
                try:
                    while_duckdb_locked(
                        lambda: out.execute(f"ATTACH '{source}' AS src (READ_ONLY)"),
                        self.lock_wait_seconds,
                        "opened",
                    )
                except duckdb.Error as exc:
                    raise DestinationError(
                        f"The DuckDB destination could not be opened: {str(exc)[:300]}"
                    ) from None
                try:
                    meta = self._copy_tables(out, scan_id, declared)
                finally:
                    out.execute("DETACH src")  # release the destination's lock first
                out.execute(
                    f"CREATE TABLE {META_TABLE} (position INTEGER, name VARCHAR, "
                    "row_count BIGINT, columns VARCHAR)"
                )
                out.executemany(f"INSERT INTO {META_TABLE} VALUES (?, ?, ?, ?)", meta)
                out.execute("CHECKPOINT")
            except BaseException:
                out.close()
                tmp.unlink(missing_ok=True)
                raise
            out.close()
        os.replace(tmp, path)
        log.info(
            "results copy built scan_id=%s tables=%d seconds=%.3f",
            scan_id,
            len(meta),
            time.monotonic() - started,
        )

    def _copy_tables(
        self, out: duckdb.DuckDBPyConnection, scan_id: str, declared: list[TableSpec]
    ) -> list[tuple[int, str, int, str]]:
        existing: dict[str, list[str]] = {}
        for table, column in out.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE database_name = 'src' AND schema_name = ? ORDER BY table_name, column_index",
            [DATASET_NAME],
        ).fetchall():
            existing.setdefault(table, []).append(column)
        keys: dict[str, list[str]] = {}
        if "_dlt_version" in existing:
            texts = [
                row[0]
                for row in out.execute(
                    f"SELECT schema FROM src.{DATASET_NAME}._dlt_version "
                    "QUALIFY row_number() OVER (PARTITION BY schema_name "
                    "ORDER BY inserted_at DESC) = 1"
                ).fetchall()
            ]
            keys = primary_keys_from_dlt_schemas(texts)
        meta = []
        for position, spec in enumerate(declared):
            columns_here = existing.get(spec.name)
            if not columns_here or SCAN_ID_COLUMN not in columns_here:
                continue
            order = scan_key_columns(keys.get(spec.name, []), columns_here)
            columns = visible_columns(spec.columns, columns_here, order)
            count = _copy_table(out, scan_id, spec.name, columns, order)
            meta.append((position, spec.name, int(count), orjson.dumps(columns).decode()))
        return meta

    def _evict(self) -> None:
        with self._lock:
            while len(self._copies) > self.max_copies:
                path, copy = self._copies.popitem(last=False)
                copy.connection.close()
                path.unlink(missing_ok=True)
        files = sorted(self.cache_dir.glob("*.duckdb"), key=_mtime)
        with self._lock:
            open_paths = set(self._copies)
        for path in files[: max(0, len(files) - self.max_copies)]:
            if path not in open_paths:
                path.unlink(missing_ok=True)

    def forget_scan(self, scan_id: str) -> None:
        """Closes and deletes the scan's read copies (it was removed, or re-run)."""
        prefix = _digest(scan_id) + "-"
        with self._lock:
            for path in [p for p in self._copies if p.name.startswith(prefix)]:
                self._copies.pop(path).connection.close()
        if self.cache_dir.exists():
            for path in self.cache_dir.glob(prefix + "*.duckdb"):
                path.unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            for copy in self._copies.values():
                copy.connection.close()
            self._copies.clear()


def _copy_table(
    out: duckdb.DuckDBPyConnection, scan_id: str, table: str, columns: list[str], order: list[str]
) -> int:
    """Copies the scan's rows of `table` and returns their count: numbered in `order` and
    stored in that order (so a page, a range of numbers, reads a few row groups). The rows are
    numbered first, sorting only their keys and source row ids, then copied in batches of about
    `COPY_BATCH_CELLS` values: sorting all of a million rows' 80 columns at once took 3.9 GB, a
    batch fits the copy's memory limit (`HUBSPOT_DEALS_API_DUCKDB_COPY_MEMORY_LIMIT`)."""
    source = f"src.{DATASET_NAME}.{quote(table)}"
    select = ", ".join(f"s.{quote(c)}" for c in columns)
    order_by = ", ".join(f"s.{quote(c)}" for c in order)
    # A temporary table: the next table's numbering replaces it, the connection's close ends it.
    out.execute(
        f"CREATE OR REPLACE TEMP TABLE copy_keys AS SELECT s.rowid AS source_row, "
        f"row_number() OVER (ORDER BY {order_by}, s.rowid) AS number "
        f"FROM {source} s WHERE s.{SCAN_ID_COLUMN} = ?",
        [scan_id],
    )
    count = out.execute("SELECT count(*) FROM copy_keys").fetchone()[0]
    out.execute(
        f"CREATE TABLE {quote(table)} AS SELECT 0::BIGINT AS {ROW_COLUMN}, {select} "
        f"FROM {source} s WHERE false"
    )
    step = max(1_000, COPY_BATCH_CELLS // max(1, len(columns)))
    for first in range(0, count, step):
        batch = "number > ? AND number <= ?"
        low, high = out.execute(
            f"SELECT min(source_row), max(source_row) FROM copy_keys WHERE {batch}",
            [first, first + step],
        ).fetchone()
        # The row-id range lets the scan skip row groups: a scan's rows are mostly stored in
        # key order already (chunks of deals read in id order).
        out.execute(
            f"INSERT INTO {quote(table)} SELECT k.number, {select} FROM {source} s "
            f"JOIN (SELECT * FROM copy_keys WHERE {batch}) k ON s.rowid = k.source_row "
            "WHERE s.rowid BETWEEN ? AND ? ORDER BY k.number",
            [first, first + step, low, high],
        )
    return int(count)


def _read_meta(connection: duckdb.DuckDBPyConnection) -> dict[str, TableRows]:
    rows = connection.execute(
        f"SELECT name, row_count, columns FROM {META_TABLE} ORDER BY position"
    ).fetchall()
    return {name: TableRows(name, int(count), orjson.loads(cols)) for name, count, cols in rows}


def column_types(connection: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    """`(table, column) -> DuckDB type` of the connection's own tables."""
    return {
        (table, column): kind
        for table, column, kind in connection.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = current_database() AND schema_name = 'main'"
        ).fetchall()
    }


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
