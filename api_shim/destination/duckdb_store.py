"""DuckDB results, read from per-scan read copies so that reads never hold the destination's
lock. The copies are the load layer's (`hubspot_deals.load.read_copies`: built, kept, evicted
and deleted there); this store only SELECTs pages, downloads and deal queries from them and
translates the load layer's errors into the API's.
"""

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb

from api_shim.destination import (
    Page,
    ResultsStore,
    TableExport,
    missing_property,
)
from api_shim.errors import DestinationUnavailable, TableNotAvailable
from api_shim.settings import ApiSettings
from hubspot_deals.load import (
    EXPORT_BATCH_ROWS,
    ROW_COLUMN,
    DestinationBusyError,
    DestinationError,
    MissingDealProperty,
    ReadCopies,
    TableRows,
    TableSpec,
    quote,
)
from hubspot_deals.load.deal_queries import DealQuery, DealRows, DealSql
from hubspot_deals.load.values import iso_text, json_value, parse_json_text
from hubspot_deals.settings import Settings

ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


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


def _selects(types: dict[tuple[str, str], str], tables: dict[str, TableRows]) -> dict[str, _Select]:
    """Each table's page select from the copy's column types (`(table, column) -> type`)."""
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
        self.lock_wait_seconds = settings.duckdb_lock_timeout_seconds
        self.copies = ReadCopies(
            main_file=self.main_file,
            cache_dir=settings.results_cache_dir or (destination.home / "api_results"),
            max_copies=settings.results_cache_max_scans,
            lock_wait_seconds=self.lock_wait_seconds,
            read_memory_limit=settings.duckdb_read_memory_limit,
            copy_memory_limit=settings.duckdb_copy_memory_limit,
        )

    def _copy(self, scan_id: str, version: str, declared: list[TableSpec]) -> _Copy:
        """The scan's read copy (`hubspot_deals.load.read_copies`), its errors as the API's."""
        try:
            copy = self.copies.copy(scan_id, version, declared)
        except DestinationBusyError:
            raise DestinationUnavailable(
                f"The DuckDB destination is locked by a loading scan; it could not be opened "
                f"within {self.lock_wait_seconds:g}s. Retry shortly.",
                headers={"Retry-After": "10"},
            ) from None
        except DestinationError as exc:
            raise DestinationUnavailable(str(exc)) from None
        return _Copy(copy.connection, copy.tables, _selects(copy.types, copy.tables))

    def forget_scan(self, scan_id: str) -> None:
        """Closes and deletes the scan's read copies."""
        self.copies.forget_scan(scan_id)

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
        try:
            sql = DealSql.build(query, info.columns, quote("deals"), ("", []), ROW_COLUMN, "?")
        except MissingDealProperty as exc:
            raise missing_property(exc) from None
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
        self.copies.close()
