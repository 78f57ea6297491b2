"""The ETL surface (deals-etl-api.md) over the shared scan, results and system services.

Nothing here starts, reads, cancels or removes a scan itself: it maps the ETL document's
requests onto `ScanService` and `ResultsService` and their answers back into its shapes.
"""

import logging
import math
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from api_shim.errors import ApiError, ScanStateConflict, TenantForbidden
from api_shim.models.etl import EtlStartRequest
from api_shim.models.scans import ScanConfigRequest
from api_shim.services.results import ResultsService
from api_shim.services.scan_runs import iso
from api_shim.services.scans import ScanService, ScanState
from api_shim.services.system import SystemService
from api_shim.tenancy import TenantScope, TenantScoped
from hubspot_deals.load.deal_queries import DealQuery, DealRows
from hubspot_deals.scan import ACTIVE_STATUSES, Tag, etl_scan_id

log = logging.getLogger(__name__)

ETL_PREFIX = "/api/v1/scans"
# The existing API's statuses -> the ETL document's five.
ETL_STATUS = {
    "pending": "pending",
    "running": "running",
    "resuming": "running",
    "completed": "completed",
    "failed": "failed",
    "crashed": "failed",
    "cancelled": "cancelled",
    "paused": "cancelled",
}
ERROR_DETAILS = {
    "authentication_error": "HubSpot rejected the access token: it is unknown, revoked or expired",
    "authorization_error": "The HubSpot token lacks a scope the scan needs "
    "(crm.objects.deals.read)",
    "rate_limit_error": "HubSpot's rate limit could not be waited out within the scan",
}


class EtlConflict(ApiError):
    """409 in the ETL document's sense (scan already in progress, not completed, finished)."""

    status_code = 409

    def __init__(self, message: str, active_scan_id: str | None = None) -> None:
        super().__init__(message)
        self.extra = {"active_scan_id": active_scan_id} if active_scan_id else None


def links(scan_id: str, *names: str) -> dict[str, str]:
    base = f"{ETL_PREFIX}/{scan_id}"
    paths = {"self": base, "status": base, "scan": base, "results": base + "/results"}
    paths["cancel"] = base + "/cancel"
    return {name: paths[name] for name in names}


def whole_seconds(seconds: float | None) -> int | None:
    return None if seconds is None else int(round(seconds))


@dataclass
class StartedScan:
    scan_id: str
    run_id: str
    created_at: str
    estimated_minutes: int | None


class EtlScanService(TenantScoped):
    """The ETL surface, for the scans its tenant scope sees (its `scans` and `results` views)."""

    def __init__(self, scans: ScanService, results: ResultsService, system: SystemService) -> None:
        self.scans = scans
        self.results = results
        self.system = system
        self._tenant_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def _scope_parts(self, scope: TenantScope) -> None:
        self.scans = self.scans.for_scope(scope)
        self.results = self.results.for_scope(scope)

    def _tenant_lock(self, tenant: str) -> threading.Lock:
        with self._lock:
            return self._tenant_locks.setdefault(tenant, threading.Lock())

    # -- start ----------------------------------------------------------------------------------

    def start(self, request: EtlStartRequest) -> StartedScan:
        """Launches the scan unless one of the tenant's scans is pending or running (409 with
        its id). Starts for one tenant are serialized in this process; Dagster's queue also
        runs one scan per organization at a time."""
        tenant = request.tenant_id
        if not self.scope.sees(tenant):
            raise TenantForbidden(tenant)
        config = request.config
        with self._tenant_lock(tenant):
            now = self.scans.clock()
            tenant_scans = self.scans.states(tenant, fresh=True)
            active = next((s for s in tenant_scans if s.status in ACTIVE_STATUSES), None)
            if active is not None:
                raise EtlConflict(f"Scan already in progress for tenant: {tenant}", active.scan_id)
            created = datetime.now(UTC)
            scan_id = etl_scan_id(created)
            scan_config = ScanConfigRequest.model_validate(
                {
                    "scanId": scan_id,
                    "organizationId": tenant,
                    "type": ["user"],
                    "auth": {"accessToken": config.hubspot_access_token},
                    "filters": {
                        "properties": config.properties,
                        "includeArchived": config.filters.archived,
                    },
                }
            )
            run_id = self.scans.start(
                scan_config,
                scan_type=request.scan_type,
                extra_tags={Tag.BATCH_SIZE: str(config.batch_size)},
                pipeline=config.filters.pipeline,
            )
        previous = next(
            (
                s
                for s in tenant_scans
                if s.status == "completed" and s.runs.scan_kind == request.scan_type
            ),
            None,
        )
        duration = previous.runs.duration(now) if previous else None
        estimate = max(1, math.ceil(duration / 60)) if duration is not None else None
        log.info("etl scan started scan_id=%s tenant=%s", scan_id, tenant)
        return StartedScan(scan_id, run_id, iso(created.timestamp()) or "", estimate)

    # -- status ---------------------------------------------------------------------------------

    def status(self, scan_id: str) -> dict[str, Any]:
        state = self.scans.state(scan_id)
        scan = state.runs
        status = ETL_STATUS[state.status]
        body: dict[str, Any] = {
            "scan_id": scan_id,
            "scan_job_id": scan.latest.run_id,
            "tenant_id": scan.organization_id,
            "status": status,
            "status_detail": state.status,
            "scan_type": scan.scan_kind if scan.scan_kind in ("full", "incremental") else "full",
            "progress": self._progress(state),
            "timing": self._timing(state, status),
            "config": self._config(state),
        }
        if status == "failed":
            body["error"] = self._error(state)
        if status == "completed":
            body["results_summary"] = self._results_summary(state)
        names = ["self", "results"] + (["cancel"] if status in ("pending", "running") else [])
        body["links"] = links(scan_id, *names)
        return body

    def _progress(self, state: ScanState) -> dict[str, Any]:
        scan = state.runs
        processed = scan.records_extracted
        total = scan.expected_records
        if state.status == "completed" and total is None:
            total = processed
        progress: dict[str, Any] = {
            "total_items": total,
            "processed_items": processed,
            "failed_items": 0,
            "percentage": scan.progress(state.status),
        }
        if processed:
            progress["success_rate"] = "100.00%"
        return progress

    def _timing(self, state: ScanState, status: str) -> dict[str, Any]:
        scan = state.runs
        start, end = scan.start_time, scan.end_time
        timing: dict[str, Any] = {"started_at": iso(start)}
        if status in ("pending", "running"):
            if start is not None:
                elapsed = max(0.0, state.now - start)
                timing["elapsed_seconds"] = whole_seconds(elapsed)
                timing["estimated_completion"] = self._estimate(state, elapsed)
        elif status == "completed":
            timing["completed_at"] = iso(end)
            timing["duration_seconds"] = whole_seconds(scan.duration(state.now))
        elif status == "failed":
            timing["failed_at"] = iso(end or scan.heartbeat)
        else:
            timing["cancelled_at"] = iso(end or scan.latest.update_time)
        return timing

    @staticmethod
    def _estimate(state: ScanState, elapsed: float) -> str | None:
        """Linear: the deals still to load at the rate loaded so far."""
        scan = state.runs
        done, total = scan.records_extracted, scan.expected_records
        if not done or not total or scan.start_time is None:
            return None
        remaining = max(0, total - done) * elapsed / done
        return iso(state.now + remaining)

    @staticmethod
    def _config(state: ScanState) -> dict[str, Any]:
        scan = state.runs
        config = scan.scan_config
        batch = scan.latest.tags.get(Tag.BATCH_SIZE)
        return {
            "batch_size": int(batch) if batch and batch.isdigit() else 100,
            "properties_count": len(config.properties) if config.properties else None,
            "archived": config.include_archived,
            "pipeline": config.pipeline,
        }

    def _error(self, state: ScanState) -> dict[str, Any]:
        failure = state.failure
        if state.status == "crashed" and (failure is None or not failure.message):
            return {
                "code": "crashed",
                "message": "The scan's run worker stopped sending heartbeats and is presumed dead",
                "details": f"Dagster run {state.runs.latest.run_id}",
            }
        category = failure.category if failure is not None else None
        message = (failure.message if failure is not None else None) or (
            f"The scan's Dagster run {state.runs.latest.run_id} failed; its logs in the "
            "Dagster UI have the details"
        )
        return {
            "code": category or "extraction_error",
            "message": message,
            "details": ERROR_DETAILS.get(category or "", f"Dagster run {state.runs.latest.run_id}"),
        }

    def _results_summary(self, state: ScanState) -> dict[str, Any] | None:
        try:
            row = self.results.deal_summary(state)
        except ApiError as exc:
            log.warning("scan_id=%s: no results summary: %s", state.scan_id, exc.message)
            return None
        if row is None:
            return None
        return {
            "total_deals": row.get("total_deals"),
            "total_value": row.get("total_value"),
            "avg_deal_value": row.get("avg_deal_value"),
            "pipelines": row.get("pipelines") or {},
            "stages": row.get("stages") or {},
        }

    # -- results --------------------------------------------------------------------------------

    def completed(self, scan_id: str) -> ScanState:
        try:
            return self.results.completed(scan_id)
        except ScanStateConflict as exc:
            raise EtlConflict(exc.message) from None

    def deals(self, state: ScanState, query: DealQuery) -> DealRows:
        return self.results.deals(state, query)

    # -- cancel and remove ----------------------------------------------------------------------

    def cancel(self, scan_id: str, reason: str | None) -> tuple[ScanState, str]:
        """Cancels a pending or running scan; returns its state before and the ETL status it
        had. 409 when it had already finished."""
        before = self.scans.state(scan_id, fresh=True)
        previous = ETL_STATUS[before.status]
        try:
            self.scans.cancel(scan_id)
        except ScanStateConflict as exc:
            raise EtlConflict(exc.message) from None
        log.info("etl scan cancelled scan_id=%s reason=%r", scan_id, (reason or "")[:200])
        return before, previous

    def remove(self, scan_id: str) -> int:
        """Removes the scan with all of its rows; returns the deal rows deleted (the document's
        `deleted_deals`: the other tables' rows go too, but are not deals)."""
        try:
            deleted = self.scans.remove(scan_id)
        except ScanStateConflict as exc:
            raise EtlConflict(exc.message) from None
        return deleted.get("deals", 0)

    # -- health ---------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        health = self.system.health()
        destination = health.checks.get("destination")
        db_ok = bool(destination and destination.healthy)
        dagster_ok = health.dagster_active
        daemon = health.checks.get("dagster_daemon")
        extraction = (
            "healthy"
            if dagster_ok and (daemon is None or daemon.healthy)
            else ("degraded" if dagster_ok else "unhealthy")
        )
        healthy = db_ok and extraction == "healthy"
        body: dict[str, Any] = {
            "status": "healthy" if healthy else "unhealthy",
            "database": {
                "status": "connected" if db_ok else "disconnected",
                "latency_ms": destination.latency_ms if destination and db_ok else None,
            },
            "components": {
                "api": "healthy",
                "database": "healthy" if db_ok else "unhealthy",
                "extraction_service": extraction,
            },
        }
        if not healthy:
            body["error"] = health.error or "unhealthy"
        return body
