"""dlt's DuckDB destination, with the scans' DuckDB file attached in row groups of a chunk's size.

DuckDB appends every load to the table's last row group until it holds 122,880 rows, and the
checkpoint at each connection's close rewrites that whole row group: a scan's loads of 20,000
deals took 0.3 s into a new row group and up to 1.4 s into a nearly full one. A file attached
with `ROW_GROUP_SIZE` near a chunk's size gets a new row group for nearly every load, so every
load costs the same. DuckDB takes that option only on `ATTACH`, so each connection opens an
in-memory database and attaches the file under its usual catalog name (the file's stem, as when
DuckDB opens it by path), and dlt's SQL names that catalog. The file is the same DuckDB file:
anything else opens it by its path as before.
"""

from pathlib import Path
from typing import Any

from dlt.common.configuration import configspec
from dlt.destinations import duckdb
from dlt.destinations.impl.duckdb.configuration import (
    DuckDbClientConfiguration,
    DuckDbCredentials,
)
from dlt.destinations.impl.duckdb.duck import DuckDbClient
from dlt.destinations.impl.duckdb.sql_client import DuckDbSqlClient

# Rows per row group of the scans' tables: a checkpoint chunk's deals (20,000 by default) fill
# about one, so a load rarely rewrites another load's rows.
ROW_GROUP_SIZE = 20_480


def catalog_of(path: str) -> str:
    """The catalog name DuckDB gives a database file it opens by path: the file's stem."""
    return Path(path).stem


@configspec(init=False)
class AttachedDuckDbCredentials(DuckDbCredentials):
    """Credentials whose connections attach the file (`database`) to an in-memory database."""

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


class AttachedDuckDbClient(DuckDbClient):
    def __init__(self, schema: Any, config: Any, capabilities: Any) -> None:
        super().__init__(schema, config, capabilities)
        self.sql_client = AttachedDuckDbSqlClient(
            self.sql_client.dataset_name,
            self.sql_client.staging_dataset_name,
            config.credentials,
            capabilities,
        )


class attached_duckdb(duckdb):  # noqa: N801 (dlt's destination factories are lowercase)
    """Give it `destination_name="duckdb"` to keep dlt's name (asset kinds, config sections)."""

    spec = AttachedDuckDbClientConfiguration

    @property
    def client_class(self) -> type[DuckDbClient]:
        return AttachedDuckDbClient
