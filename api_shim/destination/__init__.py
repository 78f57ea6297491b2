"""Reads of the destination the scans load into, for the REST layer. Removing a scan is the
load layer's (`hubspot_deals.load.remove_scan`), and so are DuckDB's read copies
(`hubspot_deals.load.read_copies`); a store reads, translates the load layer's errors into the
API's and forgets what it kept of a removed scan."""

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from api_shim.errors import BadRequest, DestinationUnavailable, redact
from api_shim.settings import ApiSettings
from hubspot_deals.load import (
    DestinationBusyError,
    DestinationError,
    MissingDealProperty,
    TableRows,
    TableSpec,
    remove_scan,
)
from hubspot_deals.settings import Settings

if TYPE_CHECKING:
    from hubspot_deals.load.deal_queries import DealQuery, DealRows


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


def missing_property(exc: MissingDealProperty) -> BadRequest:
    """A deal query on a property the scan did not extract: a 400 naming the field."""
    message = str(exc)
    return BadRequest(message, validation_errors={exc.field: [message]})


class ResultsStore(ABC):
    """The destination, read by scan. `version` identifies the scan's data (its run id)."""

    kind: str
    destination: Settings
    lock_wait_seconds: float = 30.0  # DuckDB: how long a removal waits for a loading scan
    connect_timeout_seconds: int = 10

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

    def remove_scan(self, scan_id: str) -> dict[str, int]:
        """Removes the scan from the destination through the load layer; returns the data
        rows deleted by table (the ETL API reports the deals, the scan API them all)."""
        try:
            return remove_scan(
                scan_id,
                self.destination,
                lock_wait_seconds=self.lock_wait_seconds,
                connect_timeout_seconds=self.connect_timeout_seconds,
            )
        except DestinationBusyError:
            raise DestinationUnavailable(
                f"The DuckDB destination is locked by a loading scan; the scan could not be "
                f"removed within {self.lock_wait_seconds:g}s. Retry shortly.",
                headers={"Retry-After": "10"},
            ) from None
        except DestinationError as exc:
            raise DestinationUnavailable(
                f"Database connection failed: {redact(str(exc))}"
            ) from None
        finally:
            self.forget_scan(scan_id)

    @abstractmethod
    def forget_scan(self, scan_id: str) -> None:
        """Drops what the store kept of the scan (read copies, counts)."""

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
