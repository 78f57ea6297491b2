"""DuckDB results through per-scan read copies, so reads never hold the destination's lock.

DuckDB locks its file per process: while any other process has the file open, even read-only,
a scan's run cannot open it to load, and dlt fails the run at once ("Could not set lock on
file"). Reading the file on every API request would therefore fail loading scans (and be
refused while a scan loads). Instead, the first read of a completed scan copies that scan's
rows into a small DuckDB file of its own under `results_cache_dir` (one short read-only ATTACH
of the destination, retried with backoff while a loading scan holds the lock), and every page is
then served from that copy, concurrently and without touching the destination again.

A copy is keyed by the scan's Dagster run id: a re-run makes a new copy; removing the scan
deletes its copies. At most `results_cache_max_scans` copies are kept (least recently used go).
"""

import hashlib
import logging
import os
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import duckdb
import orjson

from api_shim.destination import (
    EXPORT_BATCH_ROWS,
    Page,
    ResultsStore,
    TableExport,
    TableRows,
    TableSpec,
    visible_columns,
)
from api_shim.destination.deal_queries import DealQuery, DealRows, DealSql
from api_shim.destination.values import iso_text, json_value, parse_json_text
from api_shim.errors import DestinationUnavailable, TableNotAvailable
from api_shim.settings import ApiSettings
from hubspot_deals.load import (
    is_lock_error,
    primary_keys_from_dlt_schemas,
    quote,
    scan_key_columns,
)
from hubspot_deals.settings import DATASET_NAME, Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
META_TABLE = "__scan_tables"
ROW_COLUMN = "__row"


ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# Values a read copy is built with at a time: 25,000 rows of 80 columns fit its 192 MB.
COPY_BATCH_CELLS = 2_000_000


@dataclass
class _Select:
    """How a page reads one table of a copy: timestamps become ISO text in DuckDB (its C++
    is several times cheaper than Python datetimes with time zones), then each value's
    converter."""

    sql: str
    converters: list[Callable[[object], object]]


@dataclass
class _Copy:
    connection: duckdb.DuckDBPyConnection
    tables: dict[str, TableRows]
    selects: dict[str, _Select]


def _selects(
    connection: duckdb.DuckDBPyConnection, tables: dict[str, TableRows]
) -> dict[str, _Select]:
    types: dict[tuple[str, str], str] = {
        (table, column): kind
        for table, column, kind in connection.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = current_database() AND schema_name = 'main'"
        ).fetchall()
    }
    selects = {}
    for name, info in tables.items():
        expressions, converters = [], []
        for column in info.columns:
            kind = types.get((name, column), "")
            if kind in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMP"):
                value = f"{quote(column)} AT TIME ZONE 'UTC'" if "ZONE" in kind else quote(column)
                expressions.append(f"strftime({value}, '{ISO_FORMAT}')")
                converters.append(iso_text)
            else:
                expressions.append(quote(column))
                converters.append(parse_json_text if kind == "JSON" else json_value)
        selects[name] = _Select(", ".join(expressions), converters)
    return selects


class _CopyExport(TableExport):
    """A table of a scan's read copy, in ranges of its row number: each batch is one small
    indexed query, so nothing but the current batch is ever in memory."""

    def __init__(self, copy: _Copy, info: TableRows) -> None:
        super().__init__(info.name, info.columns, info.row_count)
        self._cursor: duckdb.DuckDBPyConnection | None = copy.connection.cursor()
        self._select = copy.selects[info.name]
        self._lock = threading.Lock()

    def batches(self) -> Iterator[list[tuple]]:
        sql = (
            f"SELECT {self._select.sql} FROM {quote(self.name)} WHERE {ROW_COLUMN} > ? AND "
            f"{ROW_COLUMN} <= ? ORDER BY {ROW_COLUMN}"
        )
        converters = self._select.converters
        for start in range(0, self.row_count, EXPORT_BATCH_ROWS):
            with self._lock:
                if self._cursor is None:
                    return
                self._cursor.execute(sql, [start, start + EXPORT_BATCH_ROWS])
                rows = self._cursor.fetchall()
            yield [
                tuple(convert(v) for convert, v in zip(converters, row, strict=True))
                for row in rows
            ]

    def close(self) -> None:
        with self._lock:
            if self._cursor is not None:
                self._cursor.close()
                self._cursor = None


class DuckDBResults(ResultsStore):
    kind = "duckdb"

    def __init__(self, settings: ApiSettings, destination: Settings) -> None:
        self.destination = destination
        self.main_file = destination.duckdb_file
        self.cache_dir = settings.results_cache_dir or (destination.home / "api_results")
        self.max_copies = settings.results_cache_max_scans
        self.lock_timeout = settings.duckdb_lock_timeout_seconds
        self.lock_wait_seconds = self.lock_timeout
        self.read_memory_limit = settings.duckdb_read_memory_limit
        self.copy_memory_limit = settings.duckdb_copy_memory_limit
        self._copies: OrderedDict[Path, _Copy] = OrderedDict()
        self._lock = threading.Lock()
        self._build_locks: dict[Path, threading.Lock] = {}
        self.lock_waits = 0  # times a destination access waited for a loading scan's lock

    # -- the destination file (short, retried accesses) --------------------------------------

    def _with_lock_retry(self, action: Callable[[], T], what: str) -> T:
        """Runs `action`, retrying while another process (a loading scan) holds the file."""
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.05
        while True:
            try:
                return action()
            except duckdb.Error as exc:
                if not is_lock_error(exc):
                    raise DestinationUnavailable(
                        f"The DuckDB destination could not be {what}: {str(exc)[:300]}"
                    ) from None
                if time.monotonic() + delay > deadline:
                    raise DestinationUnavailable(
                        f"The DuckDB destination is locked by a loading scan; it could not be "
                        f"{what} within {self.lock_timeout:g}s. Retry shortly.",
                        headers={"Retry-After": "10"},
                    ) from None
                self.lock_waits += 1
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    # -- per-scan read copies -----------------------------------------------------------------

    def _copy_path(self, scan_id: str, version: str) -> Path:
        return self.cache_dir / f"{_digest(scan_id)}-{_digest(version)}.duckdb"

    def _copy(self, scan_id: str, version: str, declared: list[TableSpec]) -> _Copy:
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
            tables = _read_meta(connection)
            copy = _Copy(connection, tables, _selects(connection, tables))
            os.utime(path)
            with self._lock:
                self._copies[path] = copy
                self._build_locks.pop(path, None)
            self._evict()
            return copy

    def _build(self, path: Path, scan_id: str, declared: list[TableSpec]) -> None:
        if not self.main_file.exists():
            raise DestinationUnavailable(f"The DuckDB destination {self.main_file} does not exist")
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
                self._with_lock_retry(
                    lambda: out.execute(f"ATTACH '{source}' AS src (READ_ONLY)"), "opened"
                )
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
            if not columns_here or "_scan_id" not in columns_here:
                continue
            order = scan_key_columns(keys.get(spec.name, []), columns_here)
            columns = visible_columns(spec.columns, columns_here, order)
            count = self._copy_table(out, scan_id, spec.name, columns, order)
            meta.append((position, spec.name, int(count), orjson.dumps(columns).decode()))
        return meta

    def _copy_table(
        self,
        out: duckdb.DuckDBPyConnection,
        scan_id: str,
        table: str,
        columns: list[str],
        order: list[str],
    ) -> int:
        """Copies the scan's rows of `table` and returns their count: numbered in `order` and
        stored in that order (so a page, a range of numbers, reads a few row groups). The rows
        are numbered first, sorting only their keys and source row ids, then copied in batches
        of about `COPY_BATCH_CELLS` values: sorting all of a million rows' 80 columns at once
        took 3.9 GB, a batch fits the copy's memory limit
        (`HUBSPOT_DEALS_API_DUCKDB_COPY_MEMORY_LIMIT`)."""
        source = f"src.{DATASET_NAME}.{quote(table)}"
        select = ", ".join(f"s.{quote(c)}" for c in columns)
        order_by = ", ".join(f"s.{quote(c)}" for c in order)
        # A temporary table: the next table's numbering replaces it, the connection's close
        # ends it.
        out.execute(
            f"CREATE OR REPLACE TEMP TABLE copy_keys AS SELECT s.rowid AS source_row, "
            f"row_number() OVER (ORDER BY {order_by}, s.rowid) AS number "
            f"FROM {source} s WHERE s._scan_id = ?",
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
            # The row-id range lets the scan skip row groups: a scan's rows are mostly
            # stored in key order already (chunks of deals read in id order).
            out.execute(
                f"INSERT INTO {quote(table)} SELECT k.number, {select} FROM {source} s "
                f"JOIN (SELECT * FROM copy_keys WHERE {batch}) k ON s.rowid = k.source_row "
                "WHERE s.rowid BETWEEN ? AND ? ORDER BY k.number",
                [first, first + step, low, high],
            )
        return int(count)

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
        """Closes and deletes the scan's read copies."""
        prefix = _digest(scan_id) + "-"
        with self._lock:
            for path in [p for p in self._copies if p.name.startswith(prefix)]:
                self._copies.pop(path).connection.close()
        if self.cache_dir.exists():
            for path in self.cache_dir.glob(prefix + "*.duckdb"):
                path.unlink(missing_ok=True)

    @contextmanager
    def _cursor(self, copy: _Copy) -> Iterator[duckdb.DuckDBPyConnection]:
        cursor = copy.connection.cursor()  # its own connection to the copy: thread-safe
        try:
            yield cursor
        finally:
            cursor.close()

    # -- ResultsStore -------------------------------------------------------------------------

    def tables(self, scan_id: str, version: str, declared: list[TableSpec]) -> list[TableRows]:
        return list(self._copy(scan_id, version, declared).tables.values())

    def page(
        self,
        scan_id: str,
        version: str,
        declared: list[TableSpec],
        table: str,
        limit: int,
        offset: int,
    ) -> Page:
        copy = self._copy(scan_id, version, declared)
        info = copy.tables.get(table)
        if info is None:
            raise TableNotAvailable(table, list(copy.tables))
        if offset >= info.row_count:
            return Page([], info.row_count, info.columns)
        select = copy.selects[table]
        with self._cursor(copy) as cursor:
            cursor.execute(
                f"SELECT {select.sql} FROM {quote(table)} WHERE {ROW_COLUMN} > ? AND "
                f"{ROW_COLUMN} <= ? ORDER BY {ROW_COLUMN}",
                [offset, offset + limit],
            )
            rows = cursor.fetchall()
        converters = select.converters
        records = [
            {
                name: convert(value)
                for name, convert, value in zip(info.columns, converters, row, strict=True)
            }
            for row in rows
        ]
        return Page(records, info.row_count, info.columns)

    def export(
        self, scan_id: str, version: str, declared: list[TableSpec], table: str
    ) -> TableExport:
        copy = self._copy(scan_id, version, declared)
        info = copy.tables.get(table)
        if info is None:
            raise TableNotAvailable(table, list(copy.tables))
        return _CopyExport(copy, info)

    def deals(
        self, scan_id: str, version: str, declared: list[TableSpec], query: DealQuery
    ) -> DealRows:
        copy = self._copy(scan_id, version, declared)
        info = copy.tables.get("deals")
        if info is None:
            raise TableNotAvailable("deals", list(copy.tables))
        sql = DealSql.build(query, info.columns, quote("deals"), ("", []), ROW_COLUMN, "?")
        with self._cursor(copy) as cursor:
            figures = cursor.execute(sql.figures, sql.figures_params).fetchone()
            cursor.execute(sql.page, sql.page_params)
            converters = [
                parse_json_text if str(d[1]) == "JSON" else json_value for d in cursor.description
            ]
            rows = cursor.fetchall()
        records = [
            {c: convert(v) for c, convert, v in zip(info.columns, converters, row, strict=True)}
            for row in rows
        ]
        return sql.rows(records, figures)

    def check(self) -> tuple[bool, str]:
        # Never opened here: a health probe holding the file would fail a starting scan.
        if self.main_file.exists():
            if os.access(self.main_file, os.R_OK | os.W_OK):
                return True, f"duckdb file {self.main_file} is readable and writable"
            return False, f"Database connection failed: {self.main_file} is not readable/writable"
        folder = self.main_file.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if os.access(folder, os.W_OK):
            return True, f"duckdb file {self.main_file} will be created by the first scan"
        return False, f"Database connection failed: cannot create {self.main_file}"

    def close(self) -> None:
        with self._lock:
            for copy in self._copies.values():
                copy.connection.close()
            self._copies.clear()


def _read_meta(connection: duckdb.DuckDBPyConnection) -> dict[str, TableRows]:
    rows = connection.execute(
        f"SELECT name, row_count, columns FROM {META_TABLE} ORDER BY position"
    ).fetchall()
    return {name: TableRows(name, int(count), orjson.loads(cols)) for name, count, cols in rows}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
