"""Reads (and the scan-removal deletes) of the destination the scans load into."""

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from api_shim.settings import ApiSettings
from hubspot_deals.scan import ORGANIZATION_ID_COLUMN, SCAN_ID_COLUMN
from hubspot_deals.settings import Settings

if TYPE_CHECKING:
    from api_shim.destination.deal_queries import DealQuery, DealRows


@dataclass(frozen=True)
class TableSpec:
    """A table as the scan's run declared it in Dagster: its columns and rows loaded."""

    name: str
    columns: list[str] | None = None
    extracted: int | None = None


@dataclass(frozen=True)
class TableRows:
    name: str
    row_count: int
    columns: list[str]


@dataclass
class Page:
    records: list[dict[str, Any]]
    total: int
    columns: list[str] = field(default_factory=list)


class TableExport(ABC):
    """All of a scan's rows in one table, read batch by batch (never all at once), as JSON
    values in `columns` order. `close()` releases the read (a client may stop half-way)."""

    def __init__(self, name: str, columns: list[str], row_count: int) -> None:
        self.name = name
        self.columns = columns
        self.row_count = row_count

    @abstractmethod
    def batches(self) -> Iterator[list[tuple[Any, ...]]]:
        """Rows in primary-key order, a bounded batch at a time."""

    @abstractmethod
    def close(self) -> None:
        """Ends the read; safe to call twice and from another thread."""


# Rows read from the destination per batch of a download.
EXPORT_BATCH_ROWS = 2000


# Tables every scan loads, also for runs that recorded no materializations (failed early).
SCAN_TABLES = ("deals", "users", "pipelines", "pipeline_stages", "deal_properties")
SCAN_COLUMNS = (SCAN_ID_COLUMN, ORGANIZATION_ID_COLUMN)
# Underscore columns are bookkeeping (dlt's `_dlt_*`, the code location's checkpoint chunks),
# except these documented ones.
SHOWN_UNDERSCORE_COLUMNS = frozenset({*SCAN_COLUMNS, "_unparsed"})


def is_data_column(name: str) -> bool:
    return not name.startswith("_") or name in SHOWN_UNDERSCORE_COLUMNS


def visible_columns(
    declared: list[str] | None, existing: list[str], key: list[str] | None = None
) -> list[str]:
    """The scan's columns that exist in the table without dlt internals: the key first, then
    the declared order, the scan's own bookkeeping columns last."""
    present = set(existing)
    names = [c for c in (declared or existing) if c in present and is_data_column(c)]
    first = [c for c in key or [] if c in names]
    last = [c for c in SCAN_COLUMNS if c in names]
    return first + [c for c in names if c not in first and c not in last] + last


def order_columns(primary_key: list[str], existing: list[str]) -> list[str]:
    """Paging order: the dlt primary key without `_scan_id`, else `id`, `name`, or all."""
    key = [c for c in primary_key if c != SCAN_ID_COLUMN and c in existing]
    if key:
        return key
    for candidate in (["pipeline_id", "id"], ["id"], ["name"]):
        if all(c in existing for c in candidate):
            return candidate
    return [c for c in existing if is_data_column(c)][:1] or existing[:1]


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def primary_keys_from_dlt_schemas(schema_json_texts: list[str]) -> dict[str, list[str]]:
    """Primary-key columns by table from dlt's stored schemas (`_dlt_version.schema`)."""
    import orjson

    keys: dict[str, list[str]] = {}
    for text in schema_json_texts:
        try:
            schema = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue
        for table, spec in (schema.get("tables") or {}).items():
            columns = spec.get("columns") or {}
            key = [name for name, col in columns.items() if col.get("primary_key")]
            if key:
                keys[table] = key
    return keys


class ResultsStore(ABC):
    """The destination, read by scan. `version` identifies the scan's data (its run id)."""

    kind: str

    @abstractmethod
    def tables(self, scan_id: str, version: str, declared: list[TableSpec]) -> list[TableRows]:
        """The scan's tables that exist, with the scan's row count and visible columns."""

    @abstractmethod
    def page(
        self,
        scan_id: str,
        version: str,
        declared: list[TableSpec],
        table: str,
        limit: int,
        offset: int,
    ) -> Page:
        """Rows `offset .. offset+limit` of the scan in `table`, in primary-key order."""

    @abstractmethod
    def export(
        self, scan_id: str, version: str, declared: list[TableSpec], table: str
    ) -> TableExport:
        """The scan's rows of `table` for a download, streamed in primary-key order."""

    @abstractmethod
    def deals(
        self, scan_id: str, version: str, declared: list[TableSpec], query: "DealQuery"
    ) -> "DealRows":
        """A page of the scan's deals filtered and sorted as `query` says, with the count and
        amount figures of every deal matching its filters."""

    @abstractmethod
    def delete_scan(self, scan_id: str, pipeline_name: str, tables: list[str]) -> dict[str, int]:
        """Deletes the scan's rows from `tables` (those that exist) and its dlt state; returns
        the data rows deleted by table (the ETL API reports the deals, the scan API them all).
        Tables the code location derives from several scans (e.g. an organization's current
        deals) are not the scan's and are left alone."""

    @abstractmethod
    def check(self) -> tuple[bool, str]:
        """Whether the destination is usable, and a short reason."""

    def close(self) -> None:  # noqa: B027  optional for stores without resources
        """Releases connections."""


def make_store(settings: ApiSettings, destination: Settings) -> ResultsStore:
    if destination.destination == "postgres":
        from api_shim.destination.postgres_store import PostgresResults

        return PostgresResults(settings, destination)
    from api_shim.destination.duckdb_store import DuckDBResults

    return DuckDBResults(settings, destination)
