"""Removing scans: the destination first (through the load layer, by the results store),
then the runs and the partition in Dagster; and the clean-up of old finished scans."""

import logging
import time

from api_shim.errors import ScanNotFound, ScanStateConflict
from api_shim.services.scan_reads import ScanReads
from api_shim.services.scan_runs import ScanRuns
from hubspot_deals.scan import FINISHED_STATUSES, STOPPING_STATUSES

log = logging.getLogger(__name__)

CANCELING_WAIT_SECONDS = 15.0


class ScanRemoval(ScanReads):
    """Removes scans (part of `api_shim.services.scans.ScanService`)."""

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
