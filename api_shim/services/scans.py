"""The scan service: start, inspect, pause, cancel, resume, list and remove scans, answered
from Dagster (runs, partitions) and the destination (rows).

One class for the routes (`api_shim.deps`), put together from one module per concern:
reading scans (`scan_reads`), starting them (`scan_starts`), stop requests and crash detection
(`scan_stops`) and removal (`scan_removal`); listing and stats are here.
"""

from api_shim.models.scans import SCAN_STATUSES
from api_shim.services.scan_reads import MAX_PATH_ID, ScanState, ScanStats
from api_shim.services.scan_removal import ScanRemoval
from api_shim.services.scan_starts import SCAN_KIND, ScanStarts
from api_shim.services.scan_stops import ScanStops

__all__ = ["MAX_PATH_ID", "SCAN_KIND", "ScanService", "ScanState", "ScanStats"]


class ScanService(ScanStarts, ScanStops, ScanRemoval):
    """Start, inspect, cancel, list and remove scans through Dagster, for the scans of its
    tenant scope (`api_shim.tenancy`: each request's view of the one service)."""

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
