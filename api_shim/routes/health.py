"""`/api/v1/health` and `/api/v1/stats`."""

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api_shim.deps import ScanServiceDep, SystemServiceDep
from api_shim.models.common import error_responses
from api_shim.models.system import (
    HealthCheck,
    HealthPipeline,
    HealthyResponse,
    StatsData,
    StatsResponse,
    UnhealthyResponse,
)
from api_shim.routes.params import OrganizationFilter
from api_shim.services.scan_runs import iso
from hubspot_deals.settings import DATASET_NAME

router = APIRouter(tags=["Health & Stats"])


def _now() -> str:
    return iso(datetime.now(UTC).timestamp()) or ""


@router.get(
    "/health",
    response_model=HealthyResponse,
    summary="Health check",
    description="Healthy when the Dagster webserver answers, the code location loaded, the "
    "Dagster daemon's heartbeat is fresh and the destination is usable; 503 otherwise.",
    responses={
        503: {
            "model": UnhealthyResponse,
            "description": "A dependency is unhealthy (`error` names the first one)",
        },
        **error_responses(429),
    },
)
def health(system: SystemServiceDep) -> HealthyResponse | JSONResponse:
    result = system.health()
    checks = {k: HealthCheck(healthy=c.healthy, detail=c.detail) for k, c in result.checks.items()}
    if not result.healthy:
        body = UnhealthyResponse(timestamp=_now(), error=result.error or "unhealthy", checks=checks)
        return JSONResponse(body.model_dump(mode="json"), status_code=503)
    return HealthyResponse(
        timestamp=_now(),
        pipeline=HealthPipeline(pipeline_name=DATASET_NAME, database_health=True),
        checks=checks,
    )


@router.get(
    "/stats",
    response_model=StatsResponse,
    summary="Service statistics",
    description="Scan counts by status, recent scans and deals extracted, from Dagster's runs "
    "(`data`), and the same figures in the ETL API's shape at the top level, with this "
    "process's uptime, memory and CPU share.",
    responses=error_responses(400, 429, 500, 503),
)
def stats(
    scans: ScanServiceDep, system: SystemServiceDep, organization_id: OrganizationFilter = None
) -> StatsResponse:
    result = scans.stats(organization_id)
    by_status = result.by_status
    completed = by_status.get("completed", 0)
    failed = by_status.get("failed", 0) + by_status.get("crashed", 0)
    process = system.process_figures()
    average = result.average_duration_seconds
    return StatsResponse(
        total_scans=result.total,
        active_scans=sum(by_status.get(s, 0) for s in ("pending", "running", "resuming")),
        completed_scans=completed,
        failed_scans=failed,
        total_deals_extracted=result.records_extracted,
        average_scan_duration_seconds=round(average) if average is not None else None,
        success_rate=round(100 * completed / (completed + failed), 1)
        if completed + failed
        else None,
        uptime=str(timedelta(seconds=int(process.uptime_seconds))),
        memory_usage=f"{process.rss_bytes // 1_000_000}MB" if process.rss_bytes else None,
        cpu_usage=f"{process.cpu_percent:g}%",
        last_scan=iso(result.last_scan_at),
        data=StatsData(
            total_jobs=result.total,
            status_breakdown=result.by_status,
            recent_jobs_7_days=result.recent_7_days,
            total_records_extracted=result.records_extracted,
            organization_filter=organization_id,
            generated_at=_now(),
        ),
    )
