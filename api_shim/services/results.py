"""Results of completed scans: the tables the scan's run materialized, and pages of rows."""

import threading
from collections import OrderedDict
from dataclasses import dataclass

from api_shim.dagster import DagsterClient, DagsterRun
from api_shim.destination import Page, ResultsStore, TableExport
from api_shim.errors import ScanStateConflict
from api_shim.services.scans import ScanService, ScanState
from api_shim.tenancy import TenantScope, TenantScoped
from hubspot_deals.load import SCAN_TABLES, TableRows, TableSpec
from hubspot_deals.load.deal_queries import DealQuery, DealRows


@dataclass
class ScanTables:
    scan_id: str
    tables: list[TableRows]
    declared: dict[str, TableSpec]

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tables]

    def extracted(self, table: TableRows) -> int:
        spec = self.declared.get(table.name)
        return spec.extracted if spec and spec.extracted is not None else table.row_count


class ResultsService(TenantScoped):
    """Tables, pages, deal queries and exports of completed scans, for the scans its tenant
    scope sees (its `scans` view)."""

    def __init__(self, scans: ScanService, dagster: DagsterClient, store: ResultsStore) -> None:
        self.scans = scans
        self.dagster = dagster
        self.store = store
        self._declared: OrderedDict[str, list[TableSpec]] = OrderedDict()
        self._lock = threading.Lock()

    def _scope_parts(self, scope: TenantScope) -> None:
        self.scans = self.scans.for_scope(scope)

    def completed(self, scan_id: str) -> ScanState:
        """The scan, which must be completed (ScanStateConflict otherwise)."""
        state = self.scans.state(scan_id)
        if state.status != "completed":
            raise ScanStateConflict(
                f"Scan '{scan_id}' is not completed (status: {state.status}); its results "
                "are available once it completes"
            )
        return state

    def _completed_run(self, scan_id: str) -> tuple[str, DagsterRun]:
        """The completed scan's partition (its rows' `_scan_id`) and newest run."""
        runs = self.completed(scan_id).runs
        return runs.partition, runs.latest

    def _declared_tables(self, run: DagsterRun) -> list[TableSpec]:
        """The tables (and each one's columns) the scan's run materialized, from Dagster."""
        with self._lock:
            if run.run_id in self._declared:
                self._declared.move_to_end(run.run_id)
                return self._declared[run.run_id]
        specs = [
            TableSpec(m.asset_path[-1], m.columns, m.rows)
            for m in self.dagster.run_materializations(run.run_id)
        ]
        if not specs:
            specs = [TableSpec(name) for name in SCAN_TABLES]
        with self._lock:
            self._declared[run.run_id] = specs
            while len(self._declared) > 1024:
                self._declared.popitem(last=False)
        return specs

    def deals(self, state: ScanState, query: DealQuery) -> DealRows:
        """Deals of a completed scan, filtered, sorted and paged, with their amount figures."""
        run = state.runs.latest
        return self.store.deals(state.runs.partition, run.run_id, self._declared_tables(run), query)

    def deal_summary(self, state: ScanState) -> dict[str, object] | None:
        """The figures the code location's `deal_summary` asset computed for a completed scan
        (its one row), or None when the scan has none."""
        run = state.runs.latest
        declared = self._declared_tables(run)
        partition = state.runs.partition
        tables = self.store.tables(partition, run.run_id, declared)
        if "deal_summary" not in {t.name for t in tables}:
            return None
        page = self.store.page(partition, run.run_id, declared, "deal_summary", 1, 0)
        return page.records[0] if page.records else None

    def tables(self, scan_id: str) -> ScanTables:
        partition, run = self._completed_run(scan_id)
        declared = self._declared_tables(run)
        rows = self.store.tables(partition, run.run_id, declared)
        return ScanTables(scan_id, rows, {s.name: s for s in declared})

    def page(self, scan_id: str, table: str, limit: int, offset: int) -> tuple[Page, list[str]]:
        """A page of `table` and the scan's table names."""
        partition, run = self._completed_run(scan_id)
        declared = self._declared_tables(run)
        available = [t.name for t in self.store.tables(partition, run.run_id, declared)]
        page = self.store.page(partition, run.run_id, declared, table, limit, offset)
        return page, available

    def export(self, scan_id: str, table: str) -> TableExport:
        """All of `table`'s rows of the completed scan, for a download."""
        partition, run = self._completed_run(scan_id)
        return self.store.export(partition, run.run_id, self._declared_tables(run), table)
