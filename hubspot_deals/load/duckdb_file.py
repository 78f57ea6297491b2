"""dlt's DuckDB destination, with the scans' DuckDB file attached in row groups of a chunk's size.

DuckDB appends every load to the table's last row group until it holds 122,880 rows, and the
checkpoint at each connection's close rewrites that whole row group: a scan's loads of 20,000
deals took 0.3 s into a new row group and up to 1.4 s into a nearly full one. A file attached
with `ROW_GROUP_SIZE` near a chunk's size gets a new row group for nearly every load, so every
load costs the same. DuckDB takes that option only on `ATTACH`, so each connection opens an
in-memory database and attaches the file under its usual catalog name (the file's stem, as when
DuckDB opens it by path), and dlt's SQL names that catalog. The file is the same DuckDB file:
anything else opens it by its path as before.

Each load also sizes DuckDB's `auto` memory limit by the table it writes, as that table is at
load time: the scans share one `deals` table whose columns are the union of every scan's, so a
scan of 3 properties may write a table of 1,000 columns (DuckDB fills a block per column).
"""

from pathlib import Path
from typing import Any

from dlt.common import logger
from dlt.common.configuration import configspec
from dlt.common.destination.client import LoadJob, PreparedTableSchema
from dlt.common.destination.exceptions import DestinationTerminalException
from dlt.destinations import duckdb
from dlt.destinations.exceptions import DatabaseTransientException
from dlt.destinations.impl.duckdb.configuration import (
    DuckDbClientConfiguration,
    DuckDbCredentials,
)
from dlt.destinations.impl.duckdb.duck import DuckDbClient, DuckDbCopyJob
from dlt.destinations.impl.duckdb.sql_client import DuckDbSqlClient
from duckdb import OutOfMemoryException

from hubspot_deals.settings import DUCKDB_AUTO_COLUMNS, duckdb_auto_memory_mb

# Rows per row group of the scans' tables: a checkpoint chunk's deals (20,000 by default) fill
# about one, so a load rarely rewrites another load's rows.
ROW_GROUP_SIZE = 20_480


def catalog_of(path: str) -> str:
    """The catalog name DuckDB gives a database file it opens by path: the file's stem."""
    return Path(path).stem


@configspec(init=False)
class AttachedDuckDbCredentials(DuckDbCredentials):
    """Credentials whose connections attach the file (`database`) to an in-memory database.

    With `memory_limit_by_width` (the `auto` limit), each load sets the limit for its table's
    width and retries once at twice that if DuckDB still runs out of memory.
    """

    memory_limit_by_width: bool = False

    def _conn_str(self) -> str:
        return ":memory:"

    def on_resolved(self) -> None:
        self.database = str(Path(self.database).resolve())
        path = self.database.replace("'", "''")
        catalog = catalog_of(self.database).replace('"', '""')
        attach = f"ATTACH '{path}' AS \"{catalog}\" (ROW_GROUP_SIZE {ROW_GROUP_SIZE})"
        self.statements = [attach, *(s for s in self.statements or [] if s != attach)]
        super().on_resolved()


@configspec(init=False)
class AttachedDuckDbClientConfiguration(DuckDbClientConfiguration):
    credentials: AttachedDuckDbCredentials = None


class AttachedDuckDbSqlClient(DuckDbSqlClient):
    """dlt's DuckDB SQL client, naming the attached catalog in every qualified name (and so in
    the `search_path` it sets on each connection it hands out)."""

    def catalog_name(self, quote: bool = True, casefold: bool = True) -> str | None:
        catalog = catalog_of(self.credentials.database)
        if casefold:
            catalog = self.capabilities.casefold_identifier(catalog)
        return self.capabilities.escape_identifier(catalog) if quote else catalog


class DuckDbMemoryLimitError(DestinationTerminalException):
    """A load did not fit in DuckDB's memory limit: loading it again as it is fails the same way."""

    def __init__(self, table: str, columns: int, limits: list[str]) -> None:
        tried = " and ".join(limits)
        super().__init__(f"loading {table} ({columns} columns) did not fit in {tried}")
        self.table = table
        self.columns = columns
        self.limits = limits


class SizedDuckDbCopyJob(DuckDbCopyJob):
    """dlt's DuckDB load of one file, within a memory limit sized by the table it writes."""

    def run(self) -> None:
        sql_client = self._job_client.sql_client
        credentials = self._job_client.config.credentials
        columns = self._table_width(sql_client)
        if not getattr(credentials, "memory_limit_by_width", False):
            configured = (credentials.global_config or {}).get("memory_limit", "its limit")
            self._insert(columns, [str(configured)])
            return
        sized = duckdb_auto_memory_mb(columns)
        # Connections open at the limit for DUCKDB_AUTO_COLUMNS; a narrower table's load keeps
        # it (lowering a limit under the memory in use fails).
        if sized > duckdb_auto_memory_mb(DUCKDB_AUTO_COLUMNS):
            sql_client.execute_sql(f"SET memory_limit = '{sized}MB'")
        try:
            self._insert(columns, [f"{sized}MB"])
        except DuckDbMemoryLimitError as exc:
            # The file is in hand: load it once more with room to spare, not read it again.
            logger.warning(f"{exc}: loading it once more at {2 * sized}MB")
            sql_client.execute_sql(f"SET memory_limit = '{2 * sized}MB'")
            self._insert(columns, [f"{sized}MB", f"{2 * sized}MB"])

    def _insert(self, columns: int, limits: list[str]) -> None:
        try:
            super().run()
        except DatabaseTransientException as exc:  # dlt's SQL client wraps DuckDB's errors
            if not isinstance(exc.__cause__, OutOfMemoryException):
                raise
            raise DuckDbMemoryLimitError(self.load_table_name, columns, limits) from exc

    def _table_width(self, sql_client: DuckDbSqlClient) -> int:
        """The columns of the table as it is now (dlt added any new ones before the loads)."""
        rows = sql_client.execute_sql(
            "SELECT count(*) FROM duckdb_columns() WHERE database_name = %s "
            "AND schema_name = %s AND table_name = %s",
            sql_client.catalog_name(quote=False),
            sql_client.dataset_name,
            self.load_table_name,
        )
        return int(rows[0][0]) if rows else 0


class AttachedDuckDbClient(DuckDbClient):
    def __init__(self, schema: Any, config: Any, capabilities: Any) -> None:
        super().__init__(schema, config, capabilities)
        self.sql_client = AttachedDuckDbSqlClient(
            self.sql_client.dataset_name,
            self.sql_client.staging_dataset_name,
            config.credentials,
            capabilities,
        )

    def create_load_job(
        self, table: PreparedTableSchema, file_path: str, load_id: str, restore: bool = False
    ) -> LoadJob:
        job = super().create_load_job(table, file_path, load_id, restore)
        return SizedDuckDbCopyJob(file_path) if type(job) is DuckDbCopyJob else job


class attached_duckdb(duckdb):  # noqa: N801 (dlt's destination factories are lowercase)
    """Give it `destination_name="duckdb"` to keep dlt's name (asset kinds, config sections)."""

    spec = AttachedDuckDbClientConfiguration

    @property
    def client_class(self) -> type[DuckDbClient]:
        return AttachedDuckDbClient
