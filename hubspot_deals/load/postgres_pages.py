"""A scan's results on PostgreSQL, read a page at a time: pooled read connections, pages by a
deferred join on a key index, downloads through a server-side cursor, the ETL surface's deal
queries. The REST layer reads through it (`api_shim.destination.postgres_store`), as it reads
DuckDB through `read_copies`; errors are the load layer's (`DestinationError`, `TableMissing`,
`MissingDealProperty`), and their messages may carry driver detail the caller redacts.

PostgreSQL's MVCC lets pages be read while other scans load. Deep pages stay fast with a
"deferred join": the page's keys come from an index-only scan of `(_scan_id, <primary key>)`,
and only those rows are fetched. The scans create that index when they load
(`hubspot_deals.load.indexes`); this module only reads.

Even an index-only scan must step over every entry before a deep offset. So the first page
past `ANCHOR_STEP` rows of a scan's table starts a background pass that keeps the key of every
`ANCHOR_STEP`-th row (100 keys for a million rows). A page at offset N then starts at the anchor
below N with a row comparison on the index, and skips at most `ANCHOR_STEP - 1` entries. A
scan's rows are fixed once it has completed, and anchors are kept per run, so they never go
stale; until they are ready, pages use a plain OFFSET.
"""

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg2
import psycopg2.extensions

from hubspot_deals.load.deal_queries import DealQuery, DealRows, DealSql
from hubspot_deals.load.indexes import primary_keys_from_dlt_schemas, scan_key_columns
from hubspot_deals.load.names import quote, visible_columns
from hubspot_deals.load.postgres_pool import (
    CursorExport,
    KeptPool,
    connection_failed,
    one_line,
)
from hubspot_deals.load.reads import (
    DestinationError,
    TableMissing,
    TableRows,
    TableSpec,
)
from hubspot_deals.load.values import iso_text, json_value
from hubspot_deals.scan import SCAN_ID_COLUMN
from hubspot_deals.settings import DATASET_NAME

log = logging.getLogger(__name__)

CATALOG_TTL_SECONDS = 60.0
CATALOG_MIN_REFRESH_SECONDS = 2.0
ANCHOR_STEP = 10_000
ANCHOR_CACHE = 256  # tables of scans
# `deals` is appended chunk by chunk, so dlt keeps no primary key for it; its id is unique and
# non-null within a scan all the same (a resume deletes an uncommitted chunk's rows first).
UNIQUE_ORDERS = {"deals": ["id"]}
PG_ISO_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


@dataclass
class PageRows:
    """Rows `offset .. offset+limit` of a scan's table as JSON values, its row count and its
    visible columns."""

    records: list[dict[str, Any]]
    total: int
    columns: list[str]


class PostgresPages:
    """A scan's tables, pages, downloads and deal queries on PostgreSQL, with the catalog,
    row counts and deep-page anchors it keeps (per scan and run: a run's rows are fixed)."""

    def __init__(
        self, dsn: str, pool_size: int, connect_timeout: int, statement_timeout_seconds: float
    ) -> None:
        self.dsn = dsn
        self.pool_size = pool_size
        self.connect_timeout = connect_timeout
        self.statement_timeout_ms = int(statement_timeout_seconds * 1000)
        self._pool: KeptPool | None = None
        self._slots = threading.BoundedSemaphore(self.pool_size)
        self._lock = threading.Lock()
        self._catalog: dict[str, list[str]] = {}
        self._types: dict[tuple[str, str], str] = {}
        self._keys: dict[str, list[str]] = {}
        self._catalog_at = 0.0
        self._counts: OrderedDict[tuple[str, str, str], int] = OrderedDict()
        # (scan, run, table) -> key of rows 0, ANCHOR_STEP, 2 * ANCHOR_STEP, ...; None: building
        self._anchors: OrderedDict[tuple[str, str, str], list[tuple] | None] = OrderedDict()

    # -- connections --------------------------------------------------------------------------

    def _get_pool(self) -> KeptPool:
        with self._lock:
            if self._pool is None:
                self._pool = KeptPool(
                    self.pool_size,
                    self.dsn,
                    connect_timeout=self.connect_timeout,
                    application_name="hubspot_deals_api",
                    options=f"-c statement_timeout={self.statement_timeout_ms}",
                )
            return self._pool

    @contextmanager
    def _connection(self) -> Iterator[psycopg2.extensions.connection]:
        if not self._slots.acquire(timeout=self.connect_timeout + 10):
            raise DestinationError("All PostgreSQL connections are busy; retry shortly")
        try:
            try:
                pool = self._get_pool()
                conn = pool.getconn()
                conn.autocommit = True
            except psycopg2.Error as exc:
                raise DestinationError(connection_failed(exc)) from None
            broken = False
            try:
                yield conn
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
                broken = True
                raise DestinationError(connection_failed(exc)) from None
            finally:
                pool.putconn(conn, close=broken or bool(conn.closed))
                if broken:
                    pool.discard_idle()
        finally:
            self._slots.release()

    # -- catalog ------------------------------------------------------------------------------

    def _refresh_catalog(self, force: bool = False) -> None:
        age = time.monotonic() - self._catalog_at
        if age < (CATALOG_MIN_REFRESH_SECONDS if force else CATALOG_TTL_SECONDS):
            return
        with self._connection() as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = %s ORDER BY table_name, ordinal_position",
                (DATASET_NAME,),
            )
            catalog: dict[str, list[str]] = {}
            types: dict[tuple[str, str], str] = {}
            for table, column, data_type in cur.fetchall():
                catalog.setdefault(table, []).append(column)
                types[(table, column)] = data_type
            keys: dict[str, list[str]] = {}
            if "_dlt_version" in catalog:
                cur.execute(
                    f"SELECT DISTINCT ON (schema_name) schema FROM {DATASET_NAME}._dlt_version "
                    "ORDER BY schema_name, inserted_at DESC"
                )
                keys = primary_keys_from_dlt_schemas([row[0] for row in cur.fetchall()])
        with self._lock:
            self._catalog, self._keys, self._types = catalog, keys, types
            self._catalog_at = time.monotonic()

    def _table_columns(self, declared: list[TableSpec]) -> dict[str, list[str]]:
        self._refresh_catalog()
        wanted = {s.name for s in declared}
        stale = not wanted <= set(self._catalog) or any(
            s.columns and not set(s.columns) <= set(self._catalog.get(s.name, [])) for s in declared
        )
        if stale:
            self._refresh_catalog(force=True)
        return {
            s.name: self._catalog[s.name]
            for s in declared
            if SCAN_ID_COLUMN in self._catalog.get(s.name, [])
        }

    def _order(self, table: str, existing: list[str]) -> list[str]:
        return scan_key_columns(self._keys.get(table, []), existing)

    def _count(self, scan_id: str, version: str, table: str) -> int:
        key = (scan_id, version, table)
        with self._lock:
            if key in self._counts:
                self._counts.move_to_end(key)
                return self._counts[key]
        with self._connection() as conn, conn.cursor() as cur:
            cur.execute(
                f"SELECT count(*) FROM {DATASET_NAME}.{quote(table)} WHERE {SCAN_ID_COLUMN} = %s",
                (scan_id,),
            )
            count = int(cur.fetchone()[0])
        with self._lock:
            self._counts[key] = count
            while len(self._counts) > 4096:
                self._counts.popitem(last=False)
        return count

    # -- reads --------------------------------------------------------------------------------

    def tables(self, scan_id: str, version: str, declared: list[TableSpec]) -> list[TableRows]:
        existing = self._table_columns(declared)
        out = []
        for spec in declared:
            if spec.name not in existing:
                continue
            order = self._order(spec.name, existing[spec.name])
            columns = visible_columns(spec.columns, existing[spec.name], order)
            out.append(TableRows(spec.name, self._count(scan_id, version, spec.name), columns))
        return out

    def page(
        self,
        scan_id: str,
        version: str,
        declared: list[TableSpec],
        table: str,
        limit: int,
        offset: int,
    ) -> PageRows:
        """Rows `offset .. offset+limit` of the scan in `table`, in its key order."""
        existing = self._table_columns(declared)
        if table not in existing:
            raise TableMissing(table, list(existing))
        spec = next(s for s in declared if s.name == table)
        order = self._order(table, existing[table])
        columns = visible_columns(spec.columns, existing[table], order)
        total = self._count(scan_id, version, table)
        if offset >= total:
            return PageRows([], total, columns)
        target = f"{DATASET_NAME}.{quote(table)}"
        keys = ", ".join(quote(c) for c in order)
        join = " AND ".join(f"t.{quote(c)} = k.{quote(c)}" for c in order)
        select, converters = self._select(table, columns)
        # Anchors need a unique, non-null order: a dlt primary key, or the deals' id.
        keyed = order == [c for c in self._keys.get(table, []) if c != SCAN_ID_COLUMN] or (
            order == UNIQUE_ORDERS.get(table)
        )
        deep = keyed and total > ANCHOR_STEP
        anchor = self._anchor(scan_id, version, table, order, offset) if deep else None
        if anchor is None:
            inner = f"WHERE {SCAN_ID_COLUMN} = %s ORDER BY {keys} LIMIT %s OFFSET %s"
            args: tuple = (scan_id, limit, offset, scan_id)
        else:
            placeholders = ", ".join(["%s"] * len(order))
            inner = (
                f"WHERE {SCAN_ID_COLUMN} = %s AND ({keys}) >= ({placeholders}) "
                f"ORDER BY {keys} LIMIT %s OFFSET %s"
            )
            args = (scan_id, *anchor, limit, offset % ANCHOR_STEP, scan_id)
        sql = (
            f"SELECT {select} FROM {target} t JOIN (SELECT {keys} FROM {target} {inner}"
            f") k ON t.{SCAN_ID_COLUMN} = %s AND {join} "
            f"ORDER BY {', '.join(f't.{quote(c)}' for c in order)}"
        )
        with self._connection() as conn, conn.cursor() as cur:
            cur.execute(sql, args)
            rows = cur.fetchall()
        records = [
            {c: convert(v) for c, convert, v in zip(columns, converters, row, strict=True)}
            for row in rows
        ]
        return PageRows(records, total, columns)

    def _select(self, table: str, columns: list[str]) -> tuple[str, list[Callable]]:
        """A page's select list: timestamps become ISO text in PostgreSQL (far cheaper than
        Python datetimes with time zones), then each value's converter."""
        expressions, converters = [], []
        for column in columns:
            kind = self._types.get((table, column), "")
            if kind.startswith("timestamp"):
                value = f"t.{quote(column)}"
                if kind == "timestamp with time zone":
                    value += " AT TIME ZONE 'UTC'"
                expressions.append(f"to_char({value}, '{PG_ISO_FORMAT}')")
                converters.append(iso_text)
            else:
                expressions.append(f"t.{quote(column)}")
                converters.append(json_value)
        return ", ".join(expressions), converters

    # -- anchors for deep pages ---------------------------------------------------------------

    def _anchor(
        self, scan_id: str, version: str, table: str, order: list[str], offset: int
    ) -> tuple | None:
        """The key of row `offset // ANCHOR_STEP * ANCHOR_STEP`, or None: a plain OFFSET is as
        cheap (a shallow page), or the anchors are not ready (their pass is started)."""
        if offset < ANCHOR_STEP:
            return None
        key = (scan_id, version, table)
        with self._lock:
            start = key not in self._anchors
            if start:
                self._anchors[key] = None
                while len(self._anchors) > ANCHOR_CACHE:
                    self._anchors.popitem(last=False)
            anchors = self._anchors.get(key)
            if anchors is not None:
                self._anchors.move_to_end(key)
        if start:
            threading.Thread(
                target=self._build_anchors,
                args=(key, order),
                daemon=True,
                name=f"anchors-{table}",
            ).start()
        if not anchors:
            return None
        return anchors[min(offset // ANCHOR_STEP, len(anchors) - 1)]

    def _build_anchors(self, key: tuple[str, str, str], order: list[str]) -> None:
        scan_id, _, table = key
        keys = ", ".join(quote(c) for c in order)
        try:
            started = time.monotonic()
            with self._connection() as conn, conn.cursor() as cur:
                cur.execute(
                    f"SELECT {keys} FROM (SELECT {keys}, row_number() OVER (ORDER BY {keys}) AS n "
                    f"FROM {DATASET_NAME}.{quote(table)} WHERE {SCAN_ID_COLUMN} = %s) s "
                    f"WHERE (n - 1) %% {ANCHOR_STEP} = 0 ORDER BY n",
                    (scan_id,),
                )
                anchors = [tuple(row) for row in cur.fetchall()]
            with self._lock:
                if key in self._anchors:
                    self._anchors[key] = anchors
            log.info(
                "page anchors of %s for scan %s: %d in %.2fs",
                table,
                scan_id,
                len(anchors),
                time.monotonic() - started,
            )
        except (psycopg2.Error, DestinationError) as exc:
            log.warning("page anchors of %s not built: %s", table, one_line(exc))
            with self._lock:  # try again on a later deep page
                self._anchors.pop(key, None)

    def export(
        self, scan_id: str, version: str, declared: list[TableSpec], table: str
    ) -> CursorExport:
        """The scan's rows of `table` for a download, streamed in key order."""
        existing = self._table_columns(declared)
        if table not in existing:
            raise TableMissing(table, list(existing))
        spec = next(s for s in declared if s.name == table)
        order = self._order(table, existing[table])
        columns = visible_columns(spec.columns, existing[table], order)
        total = self._count(scan_id, version, table)
        sql = (
            f"SELECT {', '.join(quote(c) for c in columns)} FROM {DATASET_NAME}.{quote(table)} "
            f"WHERE {SCAN_ID_COLUMN} = %s ORDER BY {', '.join(quote(c) for c in order)}"
        )
        try:
            conn = psycopg2.connect(
                self.dsn,
                connect_timeout=self.connect_timeout,
                application_name="hubspot_deals_api_download",
                options=f"-c statement_timeout={self.statement_timeout_ms}",
            )
        except psycopg2.Error as exc:
            raise DestinationError(connection_failed(exc)) from None
        conn.set_session(readonly=True, isolation_level="REPEATABLE READ")
        return CursorExport(conn, sql, (scan_id,), table, columns, total)

    def deals(
        self, scan_id: str, version: str, declared: list[TableSpec], query: DealQuery
    ) -> DealRows:
        """A page of the scan's deals as `query` filters and sorts them, with the figures of
        every deal matching its filters."""
        existing = self._table_columns(declared)
        spec = next((s for s in declared if s.name == "deals"), None)
        if spec is None or "deals" not in existing:
            raise TableMissing("deals", list(existing))
        order = self._order("deals", existing["deals"])
        columns = visible_columns(spec.columns, existing["deals"], order)
        sql = DealSql.build(
            query,
            columns,
            f"{DATASET_NAME}.{quote('deals')}",
            (f"{SCAN_ID_COLUMN} = %s", [scan_id]),
            ", ".join(quote(c) for c in order),
            "%s",
        )
        with self._connection() as conn, conn.cursor() as cur:
            cur.execute(sql.figures, sql.figures_params)
            figures = cur.fetchone()
            cur.execute(sql.page, sql.page_params)
            rows = cur.fetchall()
        records = [{c: json_value(v) for c, v in zip(columns, row, strict=True)} for row in rows]
        return sql.rows(records, figures)

    def forget_scan(self, scan_id: str) -> None:
        """Drops the scan's counts and anchors (it was removed)."""
        self._catalog_at = 0.0  # its tables may have gone with it
        with self._lock:
            for key in [k for k in self._counts if k[0] == scan_id]:
                del self._counts[key]
            for key in [k for k in self._anchors if k[0] == scan_id]:
                del self._anchors[key]

    def check(self) -> tuple[bool, str]:
        """Whether PostgreSQL answers, and a short reason."""
        try:
            with self._connection() as conn, conn.cursor() as cur:
                cur.execute("SELECT 1")
                cur.fetchone()
        except DestinationError as exc:
            return False, str(exc)
        except psycopg2.Error as exc:
            return False, connection_failed(exc)
        return True, "postgresql answers"

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.closeall()
                self._pool = None
