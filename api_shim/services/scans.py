"""Scan operations, answered from Dagster (runs, partitions) and the destination (rows).

The shim keeps no scan state: a scan is its dynamic partition plus the runs tagged with it.
The only in-process memory is a cache of failure details of finished runs (immutable once the
run ended) and per-scan locks that serialize concurrent starts of one scan id.
"""

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from api_shim.dagster import DagsterClient, DagsterRun, RunFailure
from api_shim.destination import ResultsStore
from api_shim.errors import (
    ApiError,
    BadRequest,
    DagsterUnavailable,
    ScanAlreadyExists,
    ScanNotFound,
    ScanStateConflict,
    TenantForbidden,
)
from api_shim.models.scans import SCAN_STATUSES, ScanConfigRequest
from api_shim.oauth_grants import OAuthGrantStore
from api_shim.services.scan_runs import ScanRuns, group_scans, needs_mark, silent_for
from api_shim.settings import ApiSettings
from api_shim.tenancy import TenantScoped, tenant_partition
from hubspot_deals.crypto import TokenCipher
from hubspot_deals.marks import mark_description, run_marks
from hubspot_deals.scan import (
    ACTIVE_RUN_STATUSES,
    ACTIVE_STATUSES,
    CANCELLABLE_RUN_STATUSES,
    DEALS_ASSET_PATH,
    FINISHED_STATUSES,
    LIVE_RUN_STATUSES,
    RESUMABLE_STATUSES,
    STOPPED_RUN_STATUSES,
    STOPPING_STATUSES,
    ScanRunConfig,
    Tag,
    has_crashed,
    resume_tags,
)
from hubspot_deals.settings import Settings

log = logging.getLogger(__name__)

# What the run's asset writes into the scan-type tag for the API's scans (it reads every deal).
SCAN_KIND = "full"
MAX_PATH_ID = 255
CANCELING_WAIT_SECONDS = 15.0


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


class ScanService(TenantScoped):
    """Start, inspect, cancel, list and remove scans through Dagster, for the scans of its
    tenant scope (`api_shim.tenancy`: each request's view of the one service)."""

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

    # -- start ----------------------------------------------------------------------------------

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

    def cipher(self) -> TokenCipher:
        with self._lock:
            if "cipher" not in self._made:
                self._made["cipher"] = TokenCipher.from_settings(self.destination)
            return self._made["cipher"]

    def hubspot_credentials(self, config: ScanConfigRequest) -> dict[str, str]:
        """How the scan authenticates to HubSpot, as run config: ciphertext only."""
        if not config.auth.oauth:
            token = config.auth.access_token or ""
            return {"access_token_ciphertext": self.cipher().encrypt(token)}
        grant = OAuthGrantStore(self.destination.home, self.cipher()).get(config.organization_id)
        if grant is None:
            message = (
                f"Organization '{config.organization_id}' has not authorized HubSpot OAuth: "
                "GET /api/hs/auth/login first, or send auth.accessToken"
            )
            raise BadRequest(message, validation_errors={"config": {"auth": {"oauth": [message]}}})
        return {
            "access_token_ciphertext": grant.access_token_ciphertext,
            "oauth_refresh_token_ciphertext": grant.refresh_token_ciphertext,
        }

    def run_config(
        self, config: ScanConfigRequest, scan_type: str = SCAN_KIND, pipeline: str | None = None
    ) -> dict[str, Any]:
        """The scan's run config; the token only as ciphertext. `pipeline` (the ETL surface's
        filter) limits the scan to one pipeline's deals."""
        filters = config.filters
        dates = filters.date_range if filters else None
        return ScanRunConfig(
            organization_id=config.organization_id,
            scan_type=scan_type,
            include_archived=bool(filters and filters.include_archived),
            properties=tuple(filters.properties) if filters and filters.properties else None,
            start_date=dates.start_date if dates else None,
            end_date=dates.end_date if dates else None,
            pipeline=pipeline,
            **self.hubspot_credentials(config),
        ).run_config()

    def start(
        self,
        config: ScanConfigRequest,
        scan_type: str = SCAN_KIND,
        extra_tags: dict[str, str] | None = None,
        pipeline: str | None = None,
    ) -> str:
        """Adds the scan's partition and launches its run; returns the Dagster run id.

        409 when the request's tenants already have a scan of this id. A partition without
        runs (left by a Dagster UI user, or by a start whose clean-up could not reach Dagster)
        is taken over rather than refused. If the launch fails, a partition added here is
        deleted again, so that nothing is left behind to block a retry with the same id.
        `scan_type` is `full` or `incremental`.
        """
        scan_id = config.scan_id
        organization = config.organization_id
        if not self.scope.sees(organization):
            raise TenantForbidden(organization)
        started = time.monotonic()
        run_config = self.run_config(config, scan_type, pipeline)
        with self._start_lock(scan_id):
            partition = self._new_partition(scan_id, organization)
            checked = time.monotonic()
            run_tags = {
                **(extra_tags or {}),
                Tag.PARTITION: partition,
                Tag.ORGANIZATION: organization,
                Tag.SCAN_TYPE: scan_type,
            }
            if config.auth.tennant_url:
                run_tags[Tag.TENANT_URL] = config.auth.tennant_url
            added = self.dagster.add_partition(partition)
            if not added and (existing := self.find_partition(partition, fresh=True)):
                raise self._already_exists(scan_id, existing)
            added_at = time.monotonic()
            try:
                run_id = self.dagster.launch_run(run_config, run_tags)
            except ApiError as exc:
                launched = self._launched_despite(partition, exc)
                if launched is not None:
                    return launched
                if added:
                    self._delete_partition_quietly(partition)
                raise
        done = time.monotonic()
        log.info(
            "scan started scan_id=%s partition=%s run_id=%s in %.0f ms (config and checks %.0f, "
            "partition %.0f, launch %.0f)",
            scan_id,
            partition,
            run_id,
            (done - started) * 1000,
            (checked - started) * 1000,
            (added_at - checked) * 1000,
            (done - added_at) * 1000,
        )
        return run_id

    def _new_partition(self, scan_id: str, organization: str) -> str:
        """The partition a new scan of `organization` takes: its id, or, when that is the
        partition of a tenant the request cannot see, the organization's own partition of the
        id (`api_shim.tenancy`). 409 when the request's tenants already have a scan of the id."""
        plain = self.find_partition(scan_id, fresh=True)
        if plain is not None and self.scope.sees(plain.organization_id):
            raise self._already_exists(scan_id, plain)
        if self.scope.tenants is None:
            return scan_id  # unrestricted: every partition is visible, so `plain` is None
        own = self._in_tenant_partition(scan_id, fresh=True)
        if own is not None:
            raise self._already_exists(scan_id, own)  # one of the key's tenants has it already
        return scan_id if plain is None else tenant_partition(scan_id, organization)

    def _already_exists(self, scan_id: str, scan: ScanRuns) -> ScanAlreadyExists:
        """The 409 of a start, with the existing scan's status and the ways on from it."""
        status = self._state_of(scan).status
        path = f"/api/v1/scan/{scan_id}"
        remove = f"remove it and its data (DELETE {path}/remove)"
        if status in ACTIVE_STATUSES:
            ways = [f"follow it (GET {path}/status)",
                    f"pause or cancel it (POST {path}/pause or {path}/cancel)",
                    remove.replace("remove it", "then remove it")]  # fmt: skip
        elif status in RESUMABLE_STATUSES:
            ways = [f"resume it from its checkpoint (POST {path}/resume)", remove]
        else:
            ways = [remove]
        advice = ", ".join(ways) + ", or start a scan with another ID"
        return ScanAlreadyExists(scan_id, status, advice)

    def _launched_despite(self, partition: str, exc: ApiError) -> str | None:
        """After a launch timed out, the run may exist all the same."""
        if not isinstance(exc, DagsterUnavailable):
            return None
        try:
            scan = self.find_partition(partition, fresh=True)
        except ApiError:
            return None
        return scan.latest.run_id if scan is not None else None

    def _delete_partition_quietly(self, partition: str) -> None:
        try:
            self.dagster.delete_partition(partition)
        except ApiError as exc:
            log.error("partition=%s: launch failed and it stays: %s", partition, exc)

    # -- cancel ---------------------------------------------------------------------------------

    def cancel(self, scan_id: str) -> ScanState:
        """Stops a pending, running or resuming scan for good, whatever its run's Dagster status
        (`request_stop`); makes a paused scan's stop final. 400 when it has already ended."""
        state = self.state(scan_id, fresh=True)
        detail = "cancelled through the REST API"
        if state.status == "paused":
            # A paused scan's run is stopped or stopping: the newer mark makes the stop final.
            self._write_mark(state.runs, "cancelled", detail)
            log.info("paused scan cancelled scan_id=%s", scan_id)
            return ScanState(state.runs, "cancelled", None, self.clock())
        # Dagster terminates QUEUED and STARTED runs; the others stop themselves when their scan
        # starts (see `request_stop`).
        runs = [r for r in state.runs.runs if r.status in CANCELLABLE_RUN_STATUSES]
        if not runs or state.status == "cancelled":
            raise ScanStateConflict(f"Cannot cancel scan '{scan_id}': it is already {state.status}")
        # A run whose worker died cannot stop itself: mark it cancelled instead.
        force = state.status == "crashed"
        stopping = [r.run_id for r in runs if self.request_stop(state.runs, r, "cancelled", force)]
        if not stopping:
            state = self.state(scan_id, fresh=True)
            raise ScanStateConflict(f"Cannot cancel scan '{scan_id}': it is already {state.status}")
        log.info("scan cancelled scan_id=%s runs=%s", scan_id, stopping)
        return ScanState(state.runs, "cancelled", None, self.clock())

    def request_stop(self, scan: ScanRuns, run: DagsterRun, kind: str, force: bool = False) -> bool:
        """Asks one run of the scan to stop for a pause or cancel; True when it will stop.

        The request is recorded first, as a mark naming the run (`hubspot_deals.marks`): durable
        in Dagster whatever becomes of this process. Then Dagster is asked to terminate the run.
        `terminateRun` stops only QUEUED and STARTED runs; a live run it refuses (NOT_STARTED,
        MANAGED, STARTING: its worker is still starting up) stops itself when its scan starts
        and reads the mark, and so does a STARTED run whose termination got lost, at its next
        checkpoint (`hubspot_deals.defs.assets.stop`). A refused run was not STARTED when the mark
        was written, so its scan cannot have passed that first check yet: the request is never lost.
        """
        if kind == "paused":
            detail = (
                f"paused through the REST API; POST /api/v1/scan/{scan.scan_id}/resume continues "
                "it from its last checkpoint"
            )
        else:
            detail = "cancelled through the REST API"
        self._write_mark(scan, kind, detail, run)
        if self.dagster.terminate_run(run.run_id, force):
            return True
        now = self.find_partition(scan.partition, fresh=True)
        current = next((r for r in now.runs if r.run_id == run.run_id), None) if now else None
        if current is None or current.status not in ACTIVE_RUN_STATUSES:
            return False
        log.info(
            "scan_id=%s run_id=%s is %s: Dagster cannot terminate it yet, it stops itself on "
            "reading the %s mark",
            scan.scan_id,
            run.run_id,
            current.status,
            kind,
        )
        return True

    # -- pause, resume, crash detection --------------------------------------------------------

    def pause(self, scan_id: str) -> ScanState:
        """Stops a pending or running scan; its committed checkpoint stays for `resume`.

        The pause mark is written first, then the run is asked to stop (`request_stop`: at once,
        or by the run itself when it is still starting): every chunk commits its rows and
        checkpoint together, so wherever the stop lands the scan stays resumable.
        """
        with self._start_lock(scan_id):
            state = self.state(scan_id, fresh=True)
            if state.status not in ACTIVE_STATUSES:
                raise ScanStateConflict(
                    f"Cannot pause scan '{scan_id}': it is {state.status}; only a pending, "
                    "running or resuming scan can be paused"
                )
            scan = state.runs
            if not self.request_stop(scan, scan.latest, "paused"):
                state = self.state(scan_id, fresh=True)
                raise ScanStateConflict(
                    f"Cannot pause scan '{scan_id}': its run has just ended ({state.status})"
                )
        log.info("scan paused scan_id=%s run_id=%s", scan_id, scan.latest.run_id)
        return ScanState(scan, "paused", None, self.clock())

    def resume(self, scan_id: str) -> tuple[ScanState, str]:
        """Launches a run that continues a paused, failed or crashed scan from its checkpoint,
        with the scan's own run config; returns the state and the new run's id."""
        with self._start_lock(scan_id):
            state = self.state(scan_id, fresh=True)
            if state.status not in RESUMABLE_STATUSES:
                raise ScanStateConflict(
                    f"Cannot resume scan '{scan_id}': it is {state.status}; only a paused, "
                    "failed or crashed scan can be resumed"
                )
            scan = state.runs
            latest = scan.latest
            if latest.status in LIVE_RUN_STATUSES:
                # Crashed by its heartbeat but still STARTED in Dagster: settle it first, so that
                # the dead run can never come back as a second writer.
                self._mark_crashed(scan, state.now)
            run_tags = {
                **resume_tags(latest.tags, latest.run_id, "api_resume"),
                Tag.PARTITION: scan.partition,
                Tag.ORGANIZATION: scan.organization_id,
                Tag.SCAN_TYPE: scan.scan_kind,
            }
            run_id = self.dagster.launch_run(latest.run_config, run_tags)
        log.info("scan resumed scan_id=%s run_id=%s from=%s", scan_id, run_id, latest.run_id)
        return ScanState(scan, "resuming", None, self.clock()), run_id

    def _mark_crashed(self, scan: ScanRuns, now: float) -> None:
        latest = scan.latest
        self._write_mark(
            scan,
            "crashed",
            f"no heartbeat for {int(silent_for(latest, now))} s: its run worker has died; "
            f"POST /api/v1/scan/{scan.scan_id}/resume continues it from its last checkpoint",
        )
        self.dagster.terminate_run(latest.run_id, force=True)

    def detect_crashed(self, timeout_minutes: int) -> list[str]:
        """Marks running scans whose heartbeat is older than the timeout as crashed: the crash
        rule of `hubspot_deals.scan.has_crashed`, with the request's `timeoutMinutes` in place of
        HUBSPOT_DEALS_CRASH_TIMEOUT_SECONDS (the spec's documented override, default 10)."""
        now = self.clock()
        timeout = timeout_minutes * 60
        crashed = []
        for scan in self.all_scans(fresh=True):
            latest = scan.latest
            if latest.status not in LIVE_RUN_STATUSES:
                continue
            if not has_crashed(
                latest.tags, latest.start_time or latest.creation_time, now, timeout
            ):
                continue
            with self._start_lock(scan.scan_id):
                self._mark_crashed(scan, now)
            crashed.append(scan.scan_id)
        log.info("detect-crashed timeout_seconds=%d crashed=%s", timeout, crashed)
        return crashed

    # -- remove and cleanup ---------------------------------------------------------------------

    def remove(self, scan_id: str) -> dict[str, int]:
        """Deletes the scan's rows, runs and partition; returns the rows deleted by table."""
        state = self.state(scan_id, fresh=True)
        scan = state.runs
        if scan.is_active:
            scan = self._wait_for_canceling(scan, state.status)
        return self._remove(scan)

    def _wait_for_canceling(self, scan: ScanRuns, status: str) -> ScanRuns:
        """A scan being cancelled or paused is removable once its runs have stopped (a run that
        was still starting stops itself within seconds); others are not."""
        if status not in STOPPING_STATUSES:
            raise ScanStateConflict(
                f"Cannot remove scan '{scan.scan_id}' while it is {status}; cancel it first"
            )
        deadline = time.monotonic() + CANCELING_WAIT_SECONDS
        while scan.is_active:
            if time.monotonic() > deadline:
                raise ScanStateConflict(
                    f"Cannot remove scan '{scan.scan_id}' yet: it is still being cancelled"
                )
            time.sleep(0.5)
            found = self.find_partition(scan.partition, fresh=True)
            if found is None:
                raise ScanNotFound(scan.scan_id)
            scan = found
        return scan

    def _remove(self, scan: ScanRuns) -> dict[str, int]:
        scan_id, partition = scan.scan_id, scan.partition
        # The destination first (rows, dlt state, working folder): if it is busy, the scan
        # stays whole in Dagster and removal can be retried.
        deleted = self.store.remove_scan(partition)
        for run in scan.runs:
            self.dagster.delete_run(run.run_id)
        self.dagster.delete_partition(partition)
        with self._lock:
            for run in scan.runs:
                self._failures.pop(run.run_id, None)
                self._marks.pop(run.run_id, None)
        log.info(
            "scan removed scan_id=%s rows=%d deals=%d runs=%d",
            scan_id,
            sum(deleted.values()),
            deleted.get("deals", 0),
            len(scan.runs),
        )
        return deleted

    def cleanup(self, days_old: int) -> list[str]:
        """Removes finished scans that finished more than `days_old` days ago."""
        now = self.clock()
        cutoff = now - days_old * 86400
        removed = []
        for scan in self.all_scans(fresh=True):
            state = self._state_of(scan, now)
            finished = scan.finished_at
            if state.status not in FINISHED_STATUSES or finished is None or finished >= cutoff:
                continue
            self._remove(scan)
            removed.append(scan.scan_id)
        log.info("cleanup days_old=%d removed=%d", days_old, len(removed))
        return removed

    # -- list and stats -------------------------------------------------------------------------

    def states(self, organization_id: str | None = None, fresh: bool = False) -> list[ScanState]:
        """Every scan (of one organization) as of now, newest first."""
        now = self.clock()
        return [self._state_of(s, now) for s in self.all_scans(organization_id, fresh)]

    def page(
        self, organization_id: str | None, limit: int, offset: int
    ) -> tuple[list[ScanState], int]:
        scans = self.all_scans(organization_id)
        now = self.clock()
        page = [self._state_of(s, now) for s in scans[offset : offset + limit]]
        return page, len(scans)

    def stats(self, organization_id: str | None) -> ScanStats:
        scans = self.all_scans(organization_id)
        now = self.clock()
        by_status = dict.fromkeys(SCAN_STATUSES, 0)
        records = 0
        durations = []
        for scan in scans:
            status = self._state_of(scan, now).status
            by_status[status] += 1
            records += scan.records_extracted
            if status == "completed" and (duration := scan.duration(now)) is not None:
                durations.append(duration)
        recent = sum(1 for s in scans if s.created_at >= now - 7 * 86400)
        average = sum(durations) / len(durations) if durations else None
        last = scans[0].created_at if scans else None
        return ScanStats(len(scans), by_status, recent, records, average, last)
