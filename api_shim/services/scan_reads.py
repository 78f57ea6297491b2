"""Reading scans from Dagster: a scan is its dynamic partition plus the runs tagged with it.

The shim keeps no scan state. The only in-process memory is a cache of failure details and
marks of finished runs (immutable once the run ended) and per-scan locks that serialize
concurrent starts, pauses and resumes of one scan id. `ScanReads` is the base of the scan
service (`api_shim.services.scans.ScanService`); starting, stopping and removing scans build
on it (`scan_starts`, `scan_stops`, `scan_removal`).
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from api_shim.dagster import DagsterClient, DagsterRun, RunFailure
from api_shim.destination import ResultsStore
from api_shim.errors import ScanNotFound
from api_shim.services.scan_runs import ScanRuns, group_scans, needs_mark
from api_shim.settings import ApiSettings
from api_shim.tenancy import TenantScoped, tenant_partition
from hubspot_deals.crypto import TokenCipher
from hubspot_deals.marks import mark_description, run_marks
from hubspot_deals.scan import DEALS_ASSET_PATH, STOPPED_RUN_STATUSES, Tag
from hubspot_deals.settings import Settings

MAX_PATH_ID = 255


@dataclass
class ScanState:
    """A scan as of `now`: its runs, its mapped status and, when it failed, why."""

    runs: ScanRuns
    status: str
    failure: RunFailure | None
    now: float

    @property
    def scan_id(self) -> str:
        return self.runs.scan_id


@dataclass
class ScanStats:
    total: int
    by_status: dict[str, int]
    recent_7_days: int
    records_extracted: int
    average_duration_seconds: float | None = None  # of completed scans
    last_scan_at: float | None = None  # when the newest scan was created


class ScanReads(TenantScoped):
    """The scans of its tenant scope (`api_shim.tenancy`: each request's view of the one
    service), read from Dagster, with their status, failure and marks."""

    def __init__(
        self,
        settings: ApiSettings,
        destination: Settings,
        dagster: DagsterClient,
        store: ResultsStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.destination = destination
        self.dagster = dagster
        self.store = store
        self.clock = clock
        self._made: dict[str, TokenCipher] = {}  # the cipher, made on first use
        self._failures: OrderedDict[str, RunFailure] = OrderedDict()
        self._marks: OrderedDict[str, str | None] = OrderedDict()  # stopped run id -> mark
        self._lock = threading.Lock()
        self._start_locks: dict[str, list] = {}  # scan id -> [lock, holders and waiters]

    # -- reading scans from Dagster -----------------------------------------------------------

    def find(self, scan_id: str, fresh: bool = False) -> ScanRuns | None:
        """The scan the scope's tenants know by this id, or None when there is none: no run
        of its partition, or it belongs to a tenant the request may not see. With API keys,
        also the tenants' own partitions of the id (`api_shim.tenancy`)."""
        if not scan_id or len(scan_id) > MAX_PATH_ID or not scan_id.isprintable():
            return None  # cannot be a scan id; never sent on to Dagster or the database
        scan = self.find_partition(scan_id, fresh)
        if scan is not None and self.scope.sees(scan.organization_id):
            return scan
        return self._in_tenant_partition(scan_id, fresh)

    def _in_tenant_partition(self, scan_id: str, fresh: bool) -> ScanRuns | None:
        """The request's tenants' scan of this id in a tenant's own partition, if any."""
        for tenant in sorted(self.scope.tenants or ()):
            own = self.find_partition(tenant_partition(scan_id, tenant), fresh)
            if own is not None and own.organization_id == tenant:
                return own
        return None

    def find_partition(self, partition: str, fresh: bool = False) -> ScanRuns | None:
        """The runs of one scan partition, whoever's it is."""
        runs = self.dagster.runs({Tag.PARTITION: partition}, limit=1000, fresh=fresh)
        scans = group_scans(
            self._scan_job_runs(runs),
            self.settings.location_name,
            self.destination.default_organization_id,
        )
        return scans.get(partition)

    def state(self, scan_id: str, fresh: bool = False) -> ScanState:
        scan = self.find(scan_id, fresh)
        if scan is None:
            raise ScanNotFound(scan_id)
        return self._state_of(scan)

    def _state_of(self, scan: ScanRuns, now: float | None = None) -> ScanState:
        now = self.clock() if now is None else now
        failure = self.failure(scan.latest) if scan.latest.status == "FAILURE" else None
        mark = self.mark(scan) if needs_mark(scan.latest) else None
        status = scan.status(failure, now, self.destination.crash_timeout_seconds, mark)
        return ScanState(scan, status, failure, now)

    def mark(self, scan: ScanRuns) -> str | None:
        """The pause/crash/cancel mark naming the scan's newest run. Cached once the run is
        stopped (marks are written before a run is stopped, so a stopped run's mark is settled);
        read afresh while the run may still receive a stop request (it is still starting)."""
        run_id = scan.latest.run_id
        with self._lock:
            if run_id in self._marks:
                self._marks.move_to_end(run_id)
                return self._marks[run_id]
        marks = run_marks(self.dagster.observations(DEALS_ASSET_PATH, scan.partition))
        mark = marks.get(run_id)
        if scan.latest.status in STOPPED_RUN_STATUSES:
            self._remember_mark(run_id, mark)
        return mark

    def _remember_mark(self, run_id: str, mark: str | None) -> None:
        with self._lock:
            self._marks[run_id] = mark
            self._marks.move_to_end(run_id)
            while len(self._marks) > 4096:
                self._marks.popitem(last=False)

    def _write_mark(
        self, scan: ScanRuns, kind: str, detail: str, run: DagsterRun | None = None
    ) -> None:
        """Records the mark naming `run` (the scan's newest by default) in Dagster."""
        run_id = (run or scan.latest).run_id
        self.dagster.report_observation(
            DEALS_ASSET_PATH, scan.partition, mark_description(kind, run_id, detail)
        )
        self._remember_mark(run_id, kind)

    def failure(self, run: DagsterRun) -> RunFailure:
        """Why a failed run failed (cached: a finished run's events do not change)."""
        with self._lock:
            cached = self._failures.get(run.run_id)
            if cached is not None:
                self._failures.move_to_end(run.run_id)
                return cached
        failure = self.dagster.run_failure(run.run_id)
        with self._lock:
            self._failures[run.run_id] = failure
            while len(self._failures) > 4096:
                self._failures.popitem(last=False)
        return failure

    def _scan_job_runs(self, runs: list[DagsterRun]) -> list[DagsterRun]:
        """Runs of the scan job: other partitioned jobs (an organization's `deals_current`,
        keyed by organization id) are not scans."""
        return [r for r in runs if r.job_name == self.settings.job_name]

    def all_scans(self, organization_id: str | None = None, fresh: bool = False) -> list[ScanRuns]:
        """Every scan, newest first (by when its first run was created)."""
        scans = group_scans(
            self._scan_job_runs(self.dagster.all_runs(fresh=fresh)),
            self.settings.location_name,
            self.destination.default_organization_id,
        ).values()
        if organization_id is not None:
            scans = [s for s in scans if s.organization_id == organization_id]
        tenants = self.scope.tenants
        if tenants is not None:
            scans = [s for s in scans if s.organization_id in tenants]
        return sorted(scans, key=lambda s: s.created_at, reverse=True)

    @contextmanager
    def _start_lock(self, scan_id: str) -> Iterator[None]:
        """Serializes starts of one scan id in this process (kept while anyone holds or waits)."""
        with self._lock:
            entry = self._start_locks.setdefault(scan_id, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._lock:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._start_locks[scan_id]
