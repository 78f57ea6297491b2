"""PostgreSQL results, read through the load layer (`hubspot_deals.load.postgres_pages`: pooled
read connections, deferred-join pages, deep-page anchors, downloads, deal queries), as DuckDB's
are read through `hubspot_deals.load.read_copies`. This store only shapes the answers and
translates the load layer's errors into the API's, redacted."""

from collections.abc import Iterator
from contextlib import contextmanager

from api_shim.destination import Page, ResultsStore, TableExport, missing_property
from api_shim.errors import DestinationUnavailable, TableNotAvailable, redact
from api_shim.settings import ApiSettings
from hubspot_deals.load import (
    DealQuery,
    DealRows,
    DestinationError,
    MissingDealProperty,
    PostgresPages,
    TableMissing,
    TableRows,
    TableSpec,
)
from hubspot_deals.load.postgres_pages import CursorExport
from hubspot_deals.settings import Settings


@contextmanager
def api_errors() -> Iterator[None]:
    """The load layer's errors as the API's: 503 for the destination, 400 for a table or deal
    property the scan lacks."""
    try:
        yield
    except DestinationError as exc:
        raise DestinationUnavailable(redact(str(exc))) from None
    except TableMissing as exc:
        raise TableNotAvailable(exc.table, exc.available) from None
    except MissingDealProperty as exc:
        raise missing_property(exc) from None


class _Export(TableExport):
    """A download from the load layer's server-side cursor, its errors as the API's."""

    def __init__(self, export: CursorExport) -> None:
        super().__init__(export.name, export.columns, export.row_count)
        self._export = export

    def batches(self) -> Iterator[list[tuple]]:
        with api_errors():
            yield from self._export.batches()

    def close(self) -> None:
        self._export.close()


class PostgresResults(ResultsStore):
    kind = "postgres"

    def __init__(self, settings: ApiSettings, destination: Settings) -> None:
        self.destination = destination
        self.connect_timeout_seconds = settings.postgres_connect_timeout_seconds
        self.pages = PostgresPages(
            destination.postgres_dsn.get_secret_value(),
            pool_size=settings.postgres_pool_size,
            connect_timeout=settings.postgres_connect_timeout_seconds,
            statement_timeout_seconds=settings.postgres_statement_timeout_seconds,
        )

    def tables(self, scan_id: str, version: str, declared: list[TableSpec]) -> list[TableRows]:
        with api_errors():
            return self.pages.tables(scan_id, version, declared)

    def page(
        self,
        scan_id: str,
        version: str,
        declared: list[TableSpec],
        table: str,
        limit: int,
        offset: int,
    ) -> Page:
        with api_errors():
            rows = self.pages.page(scan_id, version, declared, table, limit, offset)
        return Page(rows.records, rows.total, rows.columns)

    def export(
        self, scan_id: str, version: str, declared: list[TableSpec], table: str
    ) -> TableExport:
        with api_errors():
            return _Export(self.pages.export(scan_id, version, declared, table))

    def deals(
        self, scan_id: str, version: str, declared: list[TableSpec], query: DealQuery
    ) -> DealRows:
        with api_errors():
            return self.pages.deals(scan_id, version, declared, query)

    def forget_scan(self, scan_id: str) -> None:
        self.pages.forget_scan(scan_id)

    def check(self) -> tuple[bool, str]:
        ok, reason = self.pages.check()
        return ok, reason if ok else redact(reason)

    def close(self) -> None:
        self.pages.close()
