"""`/api/v1/maintenance`: removing old scans."""

from typing import Annotated

from fastapi import APIRouter, Body

from api_shim.deps import ScanServiceDep
from api_shim.models.common import error_responses
from api_shim.models.system import CleanupData, CleanupRequest, CleanupResponse

router = APIRouter(prefix="/maintenance", tags=["Maintenance"])


@router.post(
    "/cleanup",
    response_model=CleanupResponse,
    summary="Remove old scans",
    description="Removes every finished scan (completed, failed, cancelled, crashed) that "
    "finished more than `daysOld` days ago: its rows, Dagster runs and partition. The body is "
    "optional (daysOld defaults to 7).",
    responses=error_responses(400, 429, 500, 503),
)
def cleanup(
    scans: ScanServiceDep, body: Annotated[CleanupRequest | None, Body()] = None
) -> CleanupResponse:
    days_old = body.days_old if body is not None else CleanupRequest().days_old
    removed = scans.cleanup(days_old)
    return CleanupResponse(
        message=f"Successfully cleaned up {len(removed)} old scan results",
        data=CleanupData(cleaned_count=len(removed), days_old=days_old, cleaned_scan_ids=removed),
    )
