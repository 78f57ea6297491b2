"""Stopping and continuing scans: cancel, pause, resume and crash detection. Each stop is
recorded first as a mark naming the run (`hubspot_deals.marks`), then asked of Dagster."""

import logging

from api_shim.dagster import DagsterRun
from api_shim.errors import ScanStateConflict
from api_shim.services.scan_reads import ScanReads, ScanState
from api_shim.services.scan_runs import ScanRuns, silent_for
from hubspot_deals.scan import (
    ACTIVE_RUN_STATUSES,
    ACTIVE_STATUSES,
    CANCELLABLE_RUN_STATUSES,
    LIVE_RUN_STATUSES,
    RESUMABLE_STATUSES,
    Tag,
    has_crashed,
    resume_tags,
)

log = logging.getLogger(__name__)


class ScanStops(ScanReads):
    """Cancels, pauses, resumes and marks crashed scans (part of
    `api_shim.services.scans.ScanService`)."""

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
