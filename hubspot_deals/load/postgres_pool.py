"""PostgreSQL read connections of the load layer's result reads (`postgres_pages`): a pool
that keeps what it opens, and downloads through a server-side cursor on a connection of their
own. Errors are the load layer's `DestinationError`, with the driver's detail on one line."""

import threading
from collections.abc import Iterator

import psycopg2
import psycopg2.extensions
import psycopg2.pool

from hubspot_deals.load.reads import EXPORT_BATCH_ROWS, DestinationError
from hubspot_deals.load.values import json_value


class CursorExport:
    """A table read through a server-side cursor on a connection of its own (not the pool's:
    a long download must not hold a slot the pages need): PostgreSQL keeps the result and
    sends `EXPORT_BATCH_ROWS` rows per fetch. The transaction's snapshot makes the download
    consistent even while the scan's rows change."""

    def __init__(self, conn: psycopg2.extensions.connection, sql: str, args: tuple,
                 name: str, columns: list[str], row_count: int) -> None:  # fmt: skip
        self.name = name
        self.columns = columns
        self.row_count = row_count
        self._conn: psycopg2.extensions.connection | None = conn
        self._sql = sql
        self._args = args
        self._lock = threading.Lock()

    def batches(self) -> Iterator[list[tuple]]:
        with self._lock:
            if self._conn is None:
                return
            cursor = self._conn.cursor(name="hubspot_deals_download")
            cursor.itersize = EXPORT_BATCH_ROWS
            cursor.execute(self._sql, self._args)
        while True:
            with self._lock:
                if self._conn is None:
                    return
                try:
                    rows = cursor.fetchmany(EXPORT_BATCH_ROWS)
                except psycopg2.Error as exc:
                    raise DestinationError(connection_failed(exc)) from None
            if not rows:
                return
            yield [tuple(json_value(v) for v in row) for row in rows]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()  # ends the transaction and its cursor
                self._conn = None


class KeptPool(psycopg2.pool.ThreadedConnectionPool):
    """Opens connections as they are needed and keeps every one that is returned (psycopg2's
    pool closes each connection above `minconn` when it is returned: with 0, a new connection
    per page). After a connection fails, the idle ones go too: they may share its fate (a
    PostgreSQL restart), and the next requests connect afresh instead of failing in turn."""

    def __init__(self, maxconn: int, *args: object, **kwargs: object) -> None:
        super().__init__(0, maxconn, *args, **kwargs)
        self.minconn = maxconn  # keep what is returned; opened lazily all the same

    def discard_idle(self) -> None:
        with self._lock:
            idle, self._pool = self._pool, []
        for conn in idle:
            conn.close()


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def connection_failed(exc: BaseException) -> str:
    return f"Database connection failed: {one_line(exc)}"
